"""pyqtgraph pieces the mosaic views share: colour lookup tables and a panel of titled
mosaics, each one ImageItem of uint8 data with fixed levels and a lookup table (no
per-update scaling; pyqtgraph's fast path), which reports the tile under the mouse.

The panel keeps its grid inside its own size: a title wider than its column is cut with
an ellipsis (whole on hover), since a grid cell is never narrower than its title, and
a grid wider than the panel would put mosaics out of sight.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QPointF, QRectF, Qt, pyqtSignal
from PyQt6.QtGui import QColor, QFontMetricsF, QPen
from PyQt6.QtWidgets import QGraphicsRectItem

from cnnviz.core.mosaic import LEVELS, Mosaic

pg.setConfigOptions(imageAxisOrder="row-major")  # as the app sets it; previews run alone

GAP_COLOUR = (110, 110, 110)
TITLE_MIN_CHARS = 12  # a column narrower than these cuts a layer's name off its title
TITLE_MARGINS = 8  # pixels: the margins of a title's text, both sides together


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
        self.column = col
        self.title = ""  # whole; the label shows it cut to `title_width`
        self.title_width = math.inf
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
        if title is not None and title != self.title:
            self.title = title
            self._show_title()
        if mosaic is self.mosaic:
            return
        reshaped = self.mosaic is None or self.mosaic.image.shape != mosaic.image.shape
        self.mosaic = mosaic
        show_mosaic(self.item, mosaic, self.lut)
        if reshaped:
            self.box.autoRange(padding=0.02)

    def fit_title(self, width: float) -> None:
        """Show the title in at most `width` pixels."""
        if width != self.title_width:
            self.title_width = width
            self._show_title()

    def _show_title(self) -> None:
        item = self.label.item
        room = self.title_width - 2 * item.document().documentMargin() - 1
        shown = self.title if math.isinf(room) else QFontMetricsF(item.font()).elidedText(
            self.title, Qt.TextElideMode.ElideRight, max(room, 0.0))
        if shown != self.label.text:
            self.label.setText(shown)  # only on change: a new text re-lays out the panel
        self.label.setToolTip(self.title if shown != self.title else "")

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
    resized = pyqtSignal()  # the grid fits the panel's new size

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
        self._fit()
        return cell

    def column_width(self, columns: int) -> float:
        """The width each of `columns` equal columns has in the panel."""
        left, _, right, _ = self.ci.layout.getContentsMargins()
        gaps = (columns - 1) * max(self.ci.layout.horizontalSpacing(), 0.0)
        return (self.viewport().width() - left - right - gaps) / columns

    def best_columns(self, mosaics: Sequence[Mosaic]) -> int:
        """How many columns show `mosaics` (titled, left to right then down) with the
        largest tiles in this panel's width and height (the largest geometric mean of a
        tile's side on screen over the mosaics), each column wide enough for a layer's
        name."""
        layout = self.ci.layout
        _, top, _, bottom = layout.getContentsMargins()
        gap = max(layout.verticalSpacing(), 0.0)
        metrics = QFontMetricsF(self.font())
        title = metrics.height() + TITLE_MARGINS
        narrowest = metrics.averageCharWidth() * TITLE_MIN_CHARS + TITLE_MARGINS
        best, best_score = 1, -math.inf
        for columns in range(1, len(mosaics) + 1):
            rows = math.ceil(len(mosaics) / columns)
            width = self.column_width(columns)
            height = (self.viewport().height() - top - bottom - (2 * rows - 1) * gap) / rows
            height -= title
            if width <= 0 or height <= 0 or (columns > 1 and width < narrowest):
                continue
            score = sum(math.log(min(width / m.image.shape[1], height / m.image.shape[0])
                                 * min(m.tile)) for m in mosaics)
            if score > best_score:
                best, best_score = columns, score
        return best

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if event is not None:  # None: pyqtgraph's own call while the panel is being built
            self._fit()
            self.resized.emit()

    def _fit(self) -> None:
        """Titles cut to their columns, and the grid back to the panel's size (laid out
        while a title was wider, it grew past it)."""
        if self.cells:
            width = self.column_width(1 + max(c.column for c in self.cells.values()))
            for cell in self.cells.values():
                cell.fit_title(width)
        self.ci.setGeometry(self.range)

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
