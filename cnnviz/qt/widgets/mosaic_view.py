"""pyqtgraph pieces the mosaic views share: colour lookup tables and a panel of titled
mosaics, each one ImageItem of uint8 data with fixed levels and a lookup table (no
per-update scaling; pyqtgraph's fast path), which reports the tile under the mouse.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QPointF, QRectF, pyqtSignal
from PyQt6.QtGui import QColor, QPen
from PyQt6.QtWidgets import QGraphicsRectItem

from cnnviz.core.mosaic import LEVELS, Mosaic

pg.setConfigOptions(imageAxisOrder="row-major")  # as the app sets it; previews run alone

GAP_COLOUR = (110, 110, 110)


def make_lut(colormap: str) -> np.ndarray:
    """(256, 3) uint8: the colour map over bytes 0..LEVELS, grey for GAP."""
    lut = pg.colormap.get(colormap).getLookupTable(0.0, 1.0, LEVELS + 1, alpha=False)
    return np.vstack([lut, np.array([GAP_COLOUR], np.uint8)])


ACTIVATION_LUT = make_lut("viridis")  # dark purple = lowest, yellow = highest
SIGNED_LUT = make_lut("CET-D1")  # blue = most negative, white = 0, red = most positive
GREY_LUT = np.vstack([np.repeat(np.linspace(0, 255, LEVELS + 1).astype(np.uint8)[:, None], 3,
                                axis=1), np.array([GAP_COLOUR], np.uint8)])


def image_view_box(layout: pg.GraphicsLayout, row: int, col: int) -> pg.ViewBox:
    """A fixed view (no pan or zoom: these are galleries), y down like an image."""
    return layout.addViewBox(row=row, col=col, lockAspect=True, invertY=True,
                             enableMouse=False, enableMenu=False)


def show_mosaic(item: pg.ImageItem, mosaic: Mosaic, lut: np.ndarray) -> None:
    """Bytes as they are: levels 0-255 through `lut` (RGB mosaics without one)."""
    rgb = mosaic.image.ndim == 3
    item.setImage(mosaic.image, autoLevels=False, levels=(0, 255), lut=None if rgb else lut)


class MosaicCell:
    """One titled mosaic in a MosaicPanel."""

    def __init__(self, layout: pg.GraphicsLayout, row: int, col: int, lut: np.ndarray):
        self.label = layout.addLabel("", row=2 * row, col=col)
        self.box = image_view_box(layout, 2 * row + 1, col)
        self.item = pg.ImageItem()
        self.box.addItem(self.item)
        self.lut = lut
        self.mosaic: Mosaic | None = None
        self.marker = QGraphicsRectItem()
        pen = QPen(QColor(255, 80, 40), 2)
        pen.setCosmetic(True)  # 2 screen pixels whatever the zoom
        self.marker.setPen(pen)
        self.marker.setZValue(10)
        self.marker.hide()
        self.box.addItem(self.marker)

    def set(self, mosaic: Mosaic, title: str | None = None) -> None:
        if title is not None and title != self.label.text:
            self.label.setText(title)  # only on change: a new text re-lays out the panel
        if mosaic is self.mosaic:
            return
        reshaped = self.mosaic is None or self.mosaic.image.shape != mosaic.image.shape
        self.mosaic = mosaic
        show_mosaic(self.item, mosaic, self.lut)
        if reshaped:
            self.box.autoRange(padding=0.02)

    def clear(self) -> None:
        self.mosaic = None
        self.item.clear()
        self.marker.hide()

    def tile_at(self, scene_pos: QPointF) -> tuple[int, int, int] | None:
        if self.mosaic is None or not self.box.sceneBoundingRect().contains(scene_pos):
            return None
        p = self.item.mapFromScene(scene_pos)
        return self.mosaic.cell_at(p.y(), p.x())

    def mark(self, tile: int | None) -> None:
        """Outline tile `tile` (None: no outline)."""
        if tile is None or self.mosaic is None or tile >= self.mosaic.count:
            self.marker.hide()
            return
        y, x = self.mosaic.origin(tile)
        h, w = self.mosaic.tile
        self.marker.setRect(QRectF(x - 0.5, y - 0.5, w + 1, h + 1))
        self.marker.show()


class MosaicPanel(pg.GraphicsLayoutWidget):
    """Titled mosaics on a grid; `hovered`/`clicked` name the cell key and tile."""

    hovered = pyqtSignal(object, int, int, int)  # key, tile, row, col in the tile
    left = pyqtSignal()  # the mouse is over no tile
    clicked = pyqtSignal(object, int, int, int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.cells: dict[object, MosaicCell] = {}
        self.scene().sigMouseMoved.connect(self._on_move)
        self.scene().sigMouseClicked.connect(self._on_click)

    def reset(self) -> None:
        self.ci.clear()
        self.cells = {}

    def add(self, key: object, row: int, col: int, lut: np.ndarray) -> MosaicCell:
        self.cells[key] = cell = MosaicCell(self.ci, row, col, lut)
        return cell

    def _hit(self, pos: QPointF):
        for key, cell in self.cells.items():
            hit = cell.tile_at(pos)
            if hit is not None:
                return key, hit
        return None

    def _on_move(self, pos: QPointF) -> None:
        hit = self._hit(pos)
        if hit is None:
            self.left.emit()
        else:
            self.hovered.emit(hit[0], *hit[1])

    def _on_click(self, event) -> None:
        hit = self._hit(event.scenePos())
        if hit is not None:
            self.clicked.emit(hit[0], *hit[1])
