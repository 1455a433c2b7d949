"""Predictions: the network's class probabilities for the probe image, and its current
verdict on a fixed set of test images, wrong ones framed in red."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, pyqtSignal
from PyQt6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QPen
from PyQt6.QtWidgets import QFrame, QScrollArea, QSplitter, QToolTip, QVBoxLayout, QWidget

from cnnviz.core.i18n import marked, tr, translate
from cnnviz.core.snapshot import PredictionGrid, ProbeResult
from cnnviz.data.class_names import shown_class_names
from cnnviz.qt.live_model import LiveModel
from cnnviz.qt.widgets.live_label import live_label
from cnnviz.qt.widgets.live_view import LiveView
from cnnviz.qt.widgets.mosaic_view import GREY_LUT, image_view_box, show_mosaic
from cnnviz.qt.widgets.step_through.entry import class_menu

RIGHT, WRONG, TRUTH = QColor(40, 160, 70), QColor(220, 50, 40), QColor(128, 128, 128)
BAR, TOP_BAR = QColor(90, 130, 200), QColor(240, 150, 30)
NARROW = 560  # pixels: below this the grid goes under the probe instead of beside it
GRID_TIP = marked("Test images the network never trained on, with the class it predicts, how "
                  "sure it is, and the true class. Red frame: wrong. Click an image to probe "
                  "with it.")


class ProbabilityBars(pg.PlotWidget):
    """Horizontal bars, one per class, 0..1."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setToolTip(tr(
            "The softmax turns the last layer's scores into probabilities that add up to 1. "
            "Orange: the class the network picks. A green tick marks the true class."))
        self.setMenuEnabled(False)
        self.setMouseEnabled(False, False)
        self.setXRange(0, 1, padding=0.02)
        self.getPlotItem().invertY(True)
        self.setLabel("bottom", tr("probability"))
        self.bars = pg.BarGraphItem(x0=[], y=[], height=0.7, width=[])
        self.addItem(self.bars)
        self._names: tuple[str, ...] = ()
        self._ticks: tuple | None = None

    def show_probe(self, probe: ProbeResult, names: tuple[str, ...]) -> None:
        probs = probe.probabilities
        if names != self._names:
            self._names = names
            self.setYRange(-0.5, len(names) - 0.5, padding=0.02)
            # every class name legible: a text line per bar, plus the axis below
            self.setMinimumHeight(self.fontMetrics().height() * (len(names) + 2))
        top = int(np.argmax(probs))
        true = probe.input.label
        if (names, true) != self._ticks:  # only on change: new ticks redraw the axis
            self._ticks = (names, true)
            self.getAxis("left").setTicks([[(i, f"{name} ✓" if i == true else name)
                                            for i, name in enumerate(names)]])
        self.bars.setOpts(x0=np.zeros(len(probs)), y=np.arange(len(probs)), width=probs,
                          brushes=[TOP_BAR if i == top else BAR for i in range(len(probs))])


def to_qimage(tile: np.ndarray) -> QImage:
    """A mosaic tile (h, w) grey or (h, w, 3) RGB as a QImage (copied: Qt keeps no view)."""
    tile = np.ascontiguousarray(tile)
    h, w = tile.shape[:2]
    fmt = QImage.Format.Format_RGB888 if tile.ndim == 3 else QImage.Format.Format_Grayscale8
    return QImage(tile.data, w, h, tile.strides[0], fmt).copy()


class ImageGrid(QWidget):
    """Thumbnails with a caption under each, drawn in one paint; `clicked(i)`.

    It shows every image in the room it has (see `fit`) when they can all be
    MIN_SIDE pixels or more, choosing the columns so that the captions are whole where
    that is possible; where they cannot, the thumbnails keep MIN_SIDE and the grid
    grows taller than its room (the GridArea around it scrolls)."""

    clicked = pyqtSignal(int)
    MIN_SIDE = 44  # pixels: a smaller thumbnail is not worth showing
    TEXT_SCALE = 0.85  # captions are a little smaller than the panel's text

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setToolTip(translate(GRID_TIP))
        self.setMinimumSize(self.MIN_SIDE, self.MIN_SIDE)
        self.grid: PredictionGrid | None = None
        self.names: tuple[str, ...] = ()
        self._images: list[QImage] = []
        self._room = QSize()  # the space to fill: the viewport of the scroll area around

    def show_grid(self, grid: PredictionGrid, names: tuple[str, ...]) -> None:
        if self.grid is None or self.grid.images is not grid.images:
            self._images = [to_qimage(grid.images.tile_image(i))
                            for i in range(grid.images.count)]
        renamed = names != self.names
        self.grid, self.names = grid, names
        if renamed:  # other captions: maybe other columns
            self.fit(self._room)
        self.update()

    # -- geometry -------------------------------------------------------------------------
    def caption_font(self) -> QFont:
        font = self.font()
        font.setPointSizeF(font.pointSizeF() * self.TEXT_SCALE)
        return font

    def line_height(self) -> int:
        return QFontMetrics(self.caption_font()).lineSpacing()

    def _caption_width(self) -> int:
        """What the widest caption needs, at most a thumbnail's width for 3 columns."""
        metrics = QFontMetrics(self.caption_font())
        widest = max((metrics.horizontalAdvance(f"{name} 100%") for name in self.names),
                     default=0)
        return widest + 4

    def layout_cells(self) -> tuple[int, int, int]:
        """(columns, cell width, cell height); a cell is a square image and its caption."""
        height = min(self.height(), self._room.height()) if self._room.isValid() \
            else self.height()
        columns, side = self._layout(self.width(), height)
        return columns, side, side + 2 * self.line_height()

    def _layout(self, width: int, height: int) -> tuple[int, int]:
        """(columns, thumbnail side) for `width` x `height` pixels: all images at once if
        they can be MIN_SIDE or more, with whole captions if some column count allows
        it; else MIN_SIDE (or more, to use the width), in as many rows as that takes."""
        count, caption = max(1, len(self._images)), 2 * self.line_height()

        def side(columns: int) -> int:
            rows = -(-count // columns)
            return min(width // columns, height // rows - caption)

        fitting = [c for c in range(1, count + 1) if side(c) >= self.MIN_SIDE]
        if fitting:
            readable = [c for c in fitting if side(c) >= self._caption_width()]
            columns = max(readable or fitting, key=side)
            return columns, side(columns)
        columns = max(1, width // max(self.MIN_SIDE, min(self._caption_width(), width // 3)))
        return columns, max(self.MIN_SIDE, width // columns)

    def fit(self, room: QSize) -> None:
        """Lay out for `room`: taller than it only if the images cannot all show."""
        self._room = room
        if not room.isValid():
            return
        columns, side = self._layout(room.width(), room.height())
        rows = -(-max(1, len(self._images)) // columns)
        needed = rows * (side + 2 * self.line_height())
        self.setMinimumHeight(needed if needed > room.height() else self.MIN_SIDE)

    # -- captions -----------------------------------------------------------------------------
    def captions(self, i: int, width: int) -> tuple[str, str]:
        """Image i's two caption lines for `width` pixels: the prediction with its
        probability, and the true class. Shortened only as far as needed: first
        "true: " goes, then the names lose their ends (never the percentage)."""
        g, metrics = self.grid, QFontMetrics(self.caption_font())
        guess, percent = self.names[g.predicted[i]], f"{g.confidence[i]:.0%}"
        first = f"{guess} {percent}"
        if metrics.horizontalAdvance(first) > width:
            room = width - metrics.horizontalAdvance(f" {percent}")
            first = f"{metrics.elidedText(guess, Qt.TextElideMode.ElideRight, room)} {percent}"
        truth = self.names[g.true[i]]
        second = tr("true: {name}", name=truth)
        if metrics.horizontalAdvance(second) > width:
            second = metrics.elidedText(truth, Qt.TextElideMode.ElideRight, width)
        return first, second

    def cell_tip(self, i: int) -> str:
        g = self.grid
        verdict = tr("right") if g.true[i] == g.predicted[i] else tr("wrong")
        return tr("The network says {guess} ({percent}); the true class is {truth}: {verdict}. "
                  "Click to probe with this image.", guess=self.names[g.predicted[i]],
                  percent=f"{g.confidence[i]:.0%}", truth=self.names[g.true[i]],
                  verdict=verdict)

    def cell_at(self, pos: QPointF) -> int | None:
        columns, w, h = self.layout_cells()
        c, r = int(pos.x() // w), int(pos.y() // h)
        i = r * columns + c
        return i if c < columns and 0 <= i < len(self._images) else None

    # -- events -------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        if self.grid is None:
            return
        painter = QPainter(self)
        painter.setFont(self.caption_font())
        columns, w, h = self.layout_cells()
        line = self.line_height()
        g = self.grid
        for i, image in enumerate(self._images):
            r, c = divmod(i, columns)
            x, y = c * w, r * h
            right = g.true[i] == g.predicted[i]
            painter.drawImage(QRectF(x + 3, y + 3, w - 6, w - 6), image)
            if not right:
                painter.setPen(QPen(WRONG, 3))
                painter.drawRect(QRectF(x + 2, y + 2, w - 4, w - 4))
            for k, (text, colour) in enumerate(zip(self.captions(i, w - 2),
                                                   (RIGHT if right else WRONG, TRUTH),
                                                   strict=True)):
                painter.setPen(colour)
                painter.drawText(QRectF(x, y + w - 2 + k * line, w, line),
                                 Qt.AlignmentFlag.AlignCenter, text)
        painter.end()

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and self.grid is not None:
            i = self.cell_at(QPointF(event.pos()))
            tip = translate(GRID_TIP) if i is None else self.cell_tip(i)
            QToolTip.showText(event.globalPos(), tip, self)
            return True
        return super().event(event)

    def mousePressEvent(self, event) -> None:
        i = self.cell_at(event.position())
        if i is not None:
            self.clicked.emit(i)


class GridArea(QScrollArea):
    """Scrolls the grid when its images cannot all show legibly in the room it has."""

    def __init__(self, grid: ImageGrid, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWidget(grid)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setMinimumSize(grid.MIN_SIDE, grid.MIN_SIDE)

    def viewportEvent(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize:
            self.widget().fit(self.viewport().size())
        return super().viewportEvent(event)


class PredictionsView(LiveView):
    def __init__(self, model: LiveModel, parent: QWidget | None = None):
        super().__init__(model, parent)
        self.probe_title = live_label(lines=2, wrap=True)
        self.probe_view = pg.GraphicsLayoutWidget()
        self.probe_view.setFixedHeight(110)
        self.probe_box = image_view_box(self.probe_view.ci, 0, 0)
        self.probe_image = pg.ImageItem()
        self.probe_box.addItem(self.probe_image)
        self.bars = ProbabilityBars()
        self.bars.scene().sigMouseClicked.connect(self._step_through)
        self.grid_title = live_label(lines=2, wrap=True)
        self.grid = ImageGrid()
        self.grid.clicked.connect(self._on_grid_click)
        self.grid_area = GridArea(self.grid)
        left = QWidget()
        column = QVBoxLayout(left)
        column.addWidget(self.probe_title)
        column.addWidget(self.probe_view)
        column.addWidget(self.bars, 1)
        right = QWidget()
        column = QVBoxLayout(right)
        column.addWidget(self.grid_title)
        column.addWidget(self.grid_area, 1)
        self.split = QSplitter(Qt.Orientation.Horizontal)
        self.split.addWidget(left)
        self.split.addWidget(right)
        QVBoxLayout(self).addWidget(self.split)
        # its own minimum, not the side-by-side layout's: a narrow dock then gets the
        # stacked layout (resizeEvent) rather than a horizontal scroll bar
        self.setMinimumSize(200, 380)
        self._picture = None
        self._split_sized = False

    def resizeEvent(self, event) -> None:
        """Side by side where there is room, the grid under the probe in a narrow dock."""
        super().resizeEvent(event)
        narrow = self.width() < NARROW
        orientation = Qt.Orientation.Vertical if narrow else Qt.Orientation.Horizontal
        if orientation != self.split.orientation() or not self._split_sized:
            self.split.setOrientation(orientation)
            extent = self.height() if narrow else self.width()
            share = 0.5 if narrow else 0.4  # of the extent for the probe
            self.split.setSizes([int(extent * share), extent - int(extent * share)])
            self._split_sized = True

    def refresh(self) -> None:
        views = self.model.views
        if views is None:
            return
        probe, names = views.probe, shown_class_names(views.class_names)
        top = int(np.argmax(probe.probabilities))
        self.probe_title.setText(tr("{image}: the network says <b>{name}</b> ({p:.0%})",
                                    image=probe.input.caption, name=names[top],
                                    p=probe.probabilities[top]))
        if probe.picture is not self._picture:
            reshaped = self._picture is None or (
                self._picture.image.shape != probe.picture.image.shape)
            self._picture = probe.picture
            show_mosaic(self.probe_image, probe.picture, GREY_LUT)
            if reshaped:
                self.probe_box.autoRange(padding=0.02)
        self.bars.show_probe(probe, names)
        grid = views.grid
        if grid is not None and grid is not self.grid.grid:
            self.grid.show_grid(grid, names)
            right = int((grid.true == grid.predicted).sum())
            self.grid_title.setText(tr("{right} of {n} test images right after step {step:,} "
                                       "(red frame: wrong)", right=right, n=len(grid.true),
                                       step=views.step))

    def _step_through(self, event) -> None:
        """Right-click on a class's bar: a menu to step through softmax and the loss, or
        to see where the network looks for that class."""
        views = self.model.views
        names = shown_class_names(views.class_names) if views is not None else ()
        cls = round(self.bars.getPlotItem().vb.mapSceneToView(event.scenePos()).y())
        if event.button() == Qt.MouseButton.RightButton and 0 <= cls < len(names):
            self._menu = class_menu(self, self.model, cls, names[cls], event)

    def _on_grid_click(self, i: int) -> None:
        self.model.choose(int(self.grid.grid.indices[i]))


if __name__ == "__main__":
    from cnnviz.qt.widgets.preview import preview

    preview(PredictionsView)
