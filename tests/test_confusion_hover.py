"""Pointing at a class name the confusion matrix cut with an ellipsis shows the whole
name: under the columns (turned in a narrow dock, every other one when crowded) and
beside the rows."""

import numpy as np
import pytest
from PyQt6.QtCore import QPointF
from test_confusion_axis import NARROW, drawn_names, shown_matrix

LONG = "a class whose name is far too long to show whole"
NAMES = ("circle", LONG, "square", "triangle", "cross")


def centre(polygon) -> QPointF:
    points = [polygon.at(i) for i in range(polygon.size())]
    return QPointF(np.mean([p.x() for p in points]), np.mean([p.y() for p in points]))


def hover(qtbot, plot, axis, at: QPointF) -> str:
    """Move the pointer to `at` (in the axis's coordinates); the axis's tooltip there."""
    qtbot.mouseMove(plot.viewport(), plot.mapFromScene(axis.mapToScene(at)))
    qtbot.wait(20)
    return axis.toolTip()


@pytest.mark.parametrize("size", [*NARROW, (600, 420)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_a_cut_class_name_shows_whole_on_hover(qtbot, size):
    plot = shown_matrix(qtbot, size, NAMES)
    bottom = plot.getAxis("bottom")
    drawn = dict(drawn_names(bottom))
    assert LONG not in drawn and all(text in NAMES or LONG.startswith(text[:-1])
                                     for text in drawn)
    for text, polygon in drawn.items():  # pointing at the middle of each drawn name
        whole = text if text in NAMES else LONG
        assert hover(qtbot, plot, bottom, centre(polygon)) == whole
    below = bottom._text_top() + 2  # under each column, its name drawn or left out
    for i, name in enumerate(NAMES):
        column = bottom.mapFromScene(plot.getViewBox().mapViewToScene(QPointF(i, 0)))
        assert hover(qtbot, plot, bottom, QPointF(column.x(), below)) == name
    left = plot.getAxis("left")  # the rows' names: the cut one at row 1
    assert dict(left._tickLevels[0])[1].endswith("…")  # the name it shows there
    row = left.mapFromScene(plot.getViewBox().mapViewToScene(QPointF(0, 1)))
    assert hover(qtbot, plot, left, QPointF(left.width() / 2, row.y())) == LONG
