"""Confusion matrix on the validation set, refreshed at the end of every epoch.

Row t, column p counts the validation images of class t the network predicted as p, so
the diagonal holds the right answers and everything off it shows which classes it mixes
up. Click a cell to see its images; click one of those to make it the probe image.
"""

from __future__ import annotations

import pyqtgraph as pg
from PyQt6.QtCore import QRectF, Qt
from PyQt6.QtGui import QColor, QPen
from PyQt6.QtWidgets import QGraphicsRectItem, QLabel, QSplitter, QVBoxLayout, QWidget

from cnnviz.core.i18n import tr
from cnnviz.core.mosaic import image_mosaic
from cnnviz.core.snapshot import Confusion
from cnnviz.data.class_names import shown_class_names
from cnnviz.qt.live_model import LiveModel
from cnnviz.qt.widgets.class_axis import ClassAxis
from cnnviz.qt.widgets.live_label import live_label
from cnnviz.qt.widgets.live_view import LiveView
from cnnviz.qt.widgets.mosaic_view import GREY_LUT, MosaicPanel, make_lut

MATRIX_LUT = make_lut("CET-L12")  # white = none of the row's images, blue = all of them
MAX_SHOWN = 240  # images listed for one cell
MAX_LABELLED = 20  # classes up to which every cell shows its count


class MatrixPlot(pg.PlotWidget):
    """The counts as one ImageItem with class names on both axes and a count in each cell."""

    def __init__(self, parent=None):
        super().__init__(parent, axisItems={"left": ClassAxis("left"),
                                            "bottom": ClassAxis("bottom")})
        self.setMenuEnabled(False)
        self.setMouseEnabled(False, False)
        self.setAspectLocked(True)
        self.getPlotItem().invertY(True)
        self.setLabel("left", tr("true class"))
        self.setLabel("bottom", tr("predicted class"))
        self.image = pg.ImageItem()
        self.addItem(self.image)
        self.texts: list[pg.TextItem] = []
        pen = QPen(QColor(240, 120, 20), 3)
        pen.setCosmetic(True)
        self.marker = QGraphicsRectItem()
        self.marker.setPen(pen)
        self.marker.hide()
        self.addItem(self.marker)
        self.names: tuple[str, ...] = ()

    def show_confusion(self, confusion: Confusion, names: tuple[str, ...]) -> None:
        n = len(names)
        if names != self.names:
            self.names = names
            for axis in ("left", "bottom"):
                self.getAxis(axis).set_names(names)
            for text in self.texts:
                self.removeItem(text)
            self.texts = []
            if n <= MAX_LABELLED:
                for i in range(n * n):
                    text = pg.TextItem(anchor=(0.5, 0.5))
                    text.setPos(i % n, i // n)
                    self.addItem(text)
                    self.texts.append(text)
            self.setRange(xRange=(-0.5, n - 0.5), yRange=(-0.5, n - 0.5), padding=0.02)
        self.image.setImage(confusion.picture, autoLevels=False, levels=(0, 255), lut=MATRIX_LUT)
        self.image.setRect(QRectF(-0.5, -0.5, n, n))  # cell (t, p) centred on (p, t)
        for text, count, shade in zip(self.texts, confusion.counts.ravel(),
                                      confusion.picture.ravel(), strict=True):
            text.setText(str(count), color="w" if shade > 170 else "k")

    def cell_at(self, scene_pos) -> tuple[int, int] | None:
        p = self.getPlotItem().vb.mapSceneToView(scene_pos)
        t, c = round(p.y()), round(p.x())
        n = len(self.names)
        return (t, c) if 0 <= t < n and 0 <= c < n else None

    def mark(self, cell: tuple[int, int] | None) -> None:
        if cell is None:
            self.marker.hide()
            return
        self.marker.setRect(QRectF(cell[1] - 0.5, cell[0] - 0.5, 1, 1))
        self.marker.show()


class ConfusionView(LiveView):
    def __init__(self, model: LiveModel, parent: QWidget | None = None):
        super().__init__(model, parent)
        self.title = live_label(tr("The confusion matrix appears at the end of the first epoch."),
                                lines=2, wrap=True)
        intro = QLabel(tr(
            "Rows: the true class. Columns: the class the network predicted. The diagonal is "
            "right, the rest are mix-ups; colour = the share of the row's images. Click a "
            "cell."))
        intro.setWordWrap(True)
        self.matrix = MatrixPlot()
        self.matrix.scene().sigMouseClicked.connect(self._on_matrix_click)
        self.cell_title = live_label(tr("Click a cell to list its images."), wrap=True)
        self.members = MosaicPanel()
        self.members.add("members", 0, 0, GREY_LUT)
        self.members.clicked.connect(self._on_member_click)
        lower = QWidget()
        column = QVBoxLayout(lower)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.cell_title)
        column.addWidget(self.members, 1)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.matrix)
        split.addWidget(lower)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(intro)
        layout.addWidget(split, 1)
        self.confusion: Confusion | None = None
        self.cell: tuple[int, int] | None = None
        self._indices = None  # validation indices of the images listed

    def refresh(self) -> None:
        views = self.model.views
        if views is None or views.confusion is None or views.confusion is self.confusion:
            return
        confusion = self.confusion = views.confusion
        if confusion.epoch is None:
            title = tr("Validation set now: {accuracy:.1%} right ({n:,} images)",
                       accuracy=confusion.accuracy, n=len(confusion.true))
        else:
            title = tr("Validation set after epoch {epoch}: {accuracy:.1%} right ({n:,} images)",
                       epoch=confusion.epoch + 1, accuracy=confusion.accuracy,
                       n=len(confusion.true))
        self.title.setText(title)
        self.matrix.show_confusion(confusion, shown_class_names(views.class_names))
        if self.cell is not None:
            self.show_cell(*self.cell)

    def _on_matrix_click(self, event) -> None:
        cell = self.matrix.cell_at(event.scenePos())
        if cell is not None and self.confusion is not None:
            self.show_cell(*cell)

    def show_cell(self, true: int, predicted: int) -> None:
        """List the validation images of cell (true, predicted)."""
        self.cell = (true, predicted)
        self.matrix.mark(self.cell)
        names = shown_class_names(self.model.views.class_names)
        members = self.confusion.members(true, predicted)
        self._indices = members[:MAX_SHOWN]
        if len(members) <= MAX_SHOWN:
            title = tr("{n} images of {truth} predicted as {guess}. Click one to probe with it.",
                       n=len(members), truth=names[true], guess=names[predicted])
        else:
            title = tr("{n} images of {truth} predicted as {guess}, the first {shown} shown. "
                       "Click one to probe with it.", n=len(members), truth=names[true],
                       guess=names[predicted], shown=MAX_SHOWN)
        self.cell_title.setText(title)
        cell = self.members.cells["members"]
        if len(self._indices):
            cell.set(image_mosaic(self.confusion.images[self._indices], cols=12))
        else:
            cell.clear()

    def _on_member_click(self, key, tile: int, row: int, col: int) -> None:
        self.model.choose_validation(int(self._indices[tile]))


if __name__ == "__main__":
    from cnnviz.qt.widgets.preview import preview

    preview(ConfusionView)
