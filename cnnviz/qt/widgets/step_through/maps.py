"""A feature map (or the input) as an image one can click: frames mark a patch, a window
or a pixel; `clicked(row, col)` and `hovered(row, col)` name the pixel under the mouse."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QRectF, pyqtSignal
from PyQt6.QtGui import QColor, QPen
from PyQt6.QtWidgets import QGraphicsRectItem, QVBoxLayout, QWidget

from cnnviz.core.mosaic import GAP, to_uint8
from cnnviz.qt.widgets.live_label import live_label
from cnnviz.qt.widgets.mosaic_view import ACTIVATION_LUT, image_view_box

PATCH, PIXEL = QColor(255, 80, 40), QColor(255, 220, 0)


class MapView(QWidget):
    clicked = pyqtSignal(int, int)
    hovered = pyqtSignal(int, int)

    def __init__(self, title: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.title = live_label(title)
        self.view = pg.GraphicsLayoutWidget()
        self.view.setMinimumSize(120, 120)
        self.box = image_view_box(self.view.ci, 0, 0)
        self.item = pg.ImageItem()
        self.box.addItem(self.item)
        self.frames = [self._frame(PATCH), self._frame(PIXEL)]
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.view, 1)
        self.shape: tuple[int, int] | None = None
        self.view.scene().sigMouseClicked.connect(self._on_click)
        self.view.scene().sigMouseMoved.connect(self._on_move)

    def _frame(self, colour: QColor) -> QGraphicsRectItem:
        frame = QGraphicsRectItem()
        pen = QPen(colour, 2)
        pen.setCosmetic(True)
        frame.setPen(pen)
        frame.setZValue(10)
        frame.hide()
        self.box.addItem(frame)
        return frame

    def set_map(self, values: np.ndarray, lo: float, hi: float, lut: np.ndarray = ACTIVATION_LUT,
                shown: np.ndarray | None = None, title: str | None = None) -> None:
        """values (H, W) coloured on [lo, hi]; where `shown` is False, blank."""
        image = to_uint8(values, lo, hi)
        if shown is not None:
            image = np.where(shown, image, np.uint8(GAP))
        self.item.setImage(image, autoLevels=False, levels=(0, 255), lut=lut)
        if title is not None:
            self.title.setText(title)
        if self.shape != values.shape:
            self.shape = values.shape
            self.box.autoRange(padding=0.02)

    def set_picture(self, picture: np.ndarray, title: str | None = None) -> None:
        """An image as it is: (H, W) grey or (H, W, 3) RGB bytes."""
        self.item.setImage(picture, autoLevels=False, levels=(0, 255), lut=None)
        if title is not None:
            self.title.setText(title)
        if self.shape != picture.shape[:2]:
            self.shape = picture.shape[:2]
            self.box.autoRange(padding=0.02)

    def frame(self, which: int, top: float, left: float, height: float, width: float) -> None:
        """Frame 0 (a patch) or 1 (a pixel) around rows top..top+height, cols left..+width."""
        self.frames[which].setRect(QRectF(left, top, width, height))
        self.frames[which].show()

    def unframe(self, which: int) -> None:
        self.frames[which].hide()

    def _pixel(self, scene_pos) -> tuple[int, int] | None:
        if self.shape is None or not self.box.sceneBoundingRect().contains(scene_pos):
            return None
        p = self.item.mapFromScene(scene_pos)
        r, c = int(np.floor(p.y())), int(np.floor(p.x()))
        return (r, c) if 0 <= r < self.shape[0] and 0 <= c < self.shape[1] else None

    def _on_click(self, event) -> None:
        at = self._pixel(event.scenePos())
        if at is not None:
            self.clicked.emit(*at)

    def _on_move(self, pos) -> None:
        at = self._pixel(pos)
        if at is not None:
            self.hovered.emit(*at)
