"""A curve drawn in frozen chunks and a live tail: every point drawn exactly once, the
chunks never touched again, and a fresh start after the points were replaced."""

import numpy as np
import pyqtgraph as pg

from cnnviz.qt.widgets.growing_curve import CHUNK_COLUMNS, GrowingCurve
from cnnviz.qt.widgets.series import Series


def drawn_x(curve: GrowingCurve) -> np.ndarray:
    """The x of every point the curve's items draw, the joints between chunks once."""
    parts = [item.getData()[0] for item in curve.items]
    parts = [np.zeros(0) if p is None else p for p in parts]
    return np.concatenate([parts[0], *(p[1:] for p in parts[1:])])


def grow(curve: GrowingCurve, series: Series, batches: int, size: int = 30,
         steps_per_pixel: float = 1.0) -> None:
    for _ in range(batches):
        x = np.arange(len(series), len(series) + size, dtype=np.float64)
        series.extend(x, np.sin(x / 7))
        curve.draw(series, steps_per_pixel)


def test_points_go_to_the_tail_and_full_tails_freeze(qtbot):
    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    curve, series = GrowingCurve(plot.getPlotItem(), pg.mkPen("b"), "loss"), Series()
    grow(curve, series, 2)
    first = curve.items[0].getData()[0].copy()
    assert len(curve.items) == 2 and len(first) == 60 >= CHUNK_COLUMNS  # frozen at 60
    grow(curve, series, 8)
    assert np.array_equal(drawn_x(curve), series.x)  # every point, once, in order
    assert np.array_equal(curve.items[0].getData()[0], first)  # a chunk never changes
    tail = curve.tail.getData()[0]  # None: frozen by the last draw, nothing new yet
    assert len(curve.items) > 4 and (tail is None or len(tail) < CHUNK_COLUMNS + 30)
    # only the first item is named, so the legend lists the curve once; all share a z
    assert [item.name() for item in curve.items].count("loss") == 1
    assert {item.zValue() for item in curve.items} == {0.0}


def test_reset_and_a_new_scale_start_over_from_the_first_point(qtbot):
    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    curve, series = GrowingCurve(plot.getPlotItem(), pg.mkPen("b"), "loss"), Series()
    grow(curve, series, 6)
    curve.reset()
    assert len(curve.items) == 1 and curve.start == 0
    items_in_plot = [i for i in plot.getPlotItem().items if isinstance(i, pg.PlotDataItem)]
    assert items_in_plot == curve.items  # the frozen chunks left the plot
    curve.draw(series, 1.0)
    assert np.array_equal(drawn_x(curve), series.x)
    grow(curve, series, 1, steps_per_pixel=4.0)  # fewer pixels per step: coarser points
    assert curve.factor == 4 and len(curve.items) <= 2
    x = curve.items[0].getData()[0]
    assert len(x) == 2 * (len(series) // 4)  # peak: a min and a max per 4 steps
