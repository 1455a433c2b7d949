"""The confusion matrix's class names in a narrow dock (its width in the default layout
at 1280x720 and 1024x768): the names drawn under the columns keep apart and inside the
plot, measured from the text the axis really draws where it draws it."""

import numpy as np
import pytest
from PyQt6.QtCore import QRectF
from PyQt6.QtGui import QImage, QPainter, QPolygonF

from cnnviz.core.snapshot import Confusion
from cnnviz.data.shapes import CLASS_NAMES, OUTLINE_CLASSES
from cnnviz.qt.widgets.class_axis import MAX_EMS, angle_for
from cnnviz.qt.widgets.confusion import MatrixPlot

# the matrix's size in the Confusion matrix dock of the default layout (measured)
NARROW = [(241, 320), (189, 350)]


class RecordingPainter:
    """A painter that paints and notes where each text it draws lies (a polygon in the
    coordinates of what it paints)."""

    def __init__(self, painter: QPainter):
        self.painter = painter
        self.texts: list[tuple[str, QPolygonF]] = []

    def drawText(self, rect, flags, text):
        box = self.painter.boundingRect(QRectF(rect), flags, text)
        self.texts.append((text, self.painter.transform().map(QPolygonF(box))))
        self.painter.drawText(rect, flags, text)

    def __getattr__(self, name):
        return getattr(self.painter, name)


def drawn_names(axis) -> list[tuple[str, QPolygonF]]:
    """The tick names the axis draws, as AxisItem.paint draws them, in its coordinates."""
    image = QImage(10, 10, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        if axis.style["tickFont"]:
            painter.setFont(axis.style["tickFont"])
        specs = axis.generateDrawSpecs(painter)
        recorder = RecordingPainter(painter)
        axis.drawPicture(recorder, *specs)
    finally:
        painter.end()
    return recorder.texts


def confusion(n: int) -> Confusion:
    counts = np.arange(n * n).reshape(n, n)
    return Confusion(np.zeros(0, int), np.zeros(0, int), counts,
                     np.zeros((n, n), np.uint8), np.zeros((0, 28, 28, 1), np.uint8))


def shown_matrix(qtbot, size: tuple[int, int], names: tuple[str, ...]) -> MatrixPlot:
    """A matrix plot of `size` showing a confusion of `names`, laid out: its axes as
    tall as their names need."""
    plot = MatrixPlot()
    qtbot.addWidget(plot)
    plot.resize(*size)
    plot.show()
    qtbot.waitExposed(plot)
    plot.show_confusion(confusion(len(names)), names)
    qtbot.wait(50)
    return plot


def apart(polygons: list[QPolygonF]) -> bool:
    return all(not a.intersects(b) for i, a in enumerate(polygons) for b in polygons[i + 1:])


@pytest.mark.parametrize("size", NARROW, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("names", [CLASS_NAMES, OUTLINE_CLASSES, tuple("0123456789")],
                         ids=["shapes", "outlines", "digits"])
def test_the_column_names_keep_apart_in_a_narrow_dock(qtbot, size, names):
    plot = shown_matrix(qtbot, size, names)
    axis = plot.getAxis("bottom")
    drawn = drawn_names(axis)
    assert drawn, "no names drawn"
    assert apart([polygon for _, polygon in drawn])
    # inside the plot, clear of the axis title under them
    whole = QRectF(plot.rect())
    title = axis.mapRectFromScene(axis.label.sceneBoundingRect())
    for text, polygon in drawn:
        shown = plot.mapFromScene(axis.mapToScene(polygon)).boundingRect()
        assert whole.contains(QRectF(shown)), text
        assert not polygon.boundingRect().intersects(title), text
    # every name whole, unless one is too long for a projector (its start, then "…")
    for text, _ in drawn:
        assert text in names or any(n.startswith(text[:-1]) for n in names), text
    if names is CLASS_NAMES:
        assert [text for text, _ in drawn] == list(names)


def test_the_angle_follows_the_room():
    line = 15.0
    assert angle_for([30, 30], line, 40, 0, 20) == 0  # side by side
    assert angle_for([50, 50], line, 40, 50, 20) == 45  # turned, room on the left
    assert angle_for([50, 50], line, 40, 0, 20) == 90  # no room left of the axis
    assert angle_for([50, 50], line, 20, 50, 10) == 90  # too close for 45 degrees
    assert MAX_EMS * line > 100  # "triangle outline" and the like shown whole
    # names drawn taller than the font's line (a fallback font's Chinese): turned lines
    # 26 px apart hold 14 px lines with their gap, and 17.4 px ones, but not 20 px ones
    assert angle_for([50, 50], 14.0, 26, 50, 20, drawn=17.4) == 45
    assert angle_for([50, 50], 14.0, 26, 50, 20, drawn=20.0) == 90


def test_a_name_is_boxed_as_tall_as_it_is_drawn(qtbot):
    """Chinese characters come from a fallback font whose line is taller than the tick
    font's: the name's box (drawn into, hovered) is as tall as the text drawn."""
    from PyQt6.QtCore import QPointF, QRectF
    from PyQt6.QtGui import QFont, QFontMetricsF

    from cnnviz.qt.widgets.class_axis import Label

    metrics = QFontMetricsF(QFont())
    for text in ("square", "三角形轮廓"):
        drawn = metrics.boundingRect(QRectF(), 0, text)
        for angle in (0, 45, 90):
            box = Label(0, text, QPointF(), angle).box(metrics)
            assert box.height() >= max(drawn.height(), metrics.height()), (text, angle)
            assert box.width() == pytest.approx(metrics.horizontalAdvance(text))
