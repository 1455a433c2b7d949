"""Kept runs drawn over the live curves: for each run shown, its smoothed training curve
and its validation points, in a colour of its own, on the same axes as the run in
progress (which keeps its blue and orange). The Runs panel uses the same colours."""

from __future__ import annotations

from html import escape

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt
from PyQt6.QtGui import QColor

from cnnviz.core.runs import Run, epoch_ends
from cnnviz.qt.widgets.series import Ema

# Categorical colours (Tableau's) that none of the curves' other lines has: not the live
# run's blue and orange, the red of a divergence, the green of the learning rate and the
# best epoch, or the purple of an early stop.
RUN_COLORS = tuple(QColor(*rgb) for rgb in (
    (140, 86, 75), (227, 119, 194), (23, 190, 207), (188, 189, 34), (31, 60, 110),
    (127, 127, 127)))


def run_color(position: int) -> QColor:
    """The colour of the run drawn at `position` (0: the first chosen)."""
    return RUN_COLORS[position % len(RUN_COLORS)]


def run_colors(shown: list[Run], current: int | None, live: QColor) -> dict[int, QColor]:
    """Each shown run's colour by number: the run in progress has the live curve's
    (`live`), the others are drawn in turn."""
    drawn = [run.number for run in shown if run.number != current]
    return {run.number: live if run.number == current else run_color(drawn.index(run.number))
            for run in shown}


class RunCurves:
    """The shown runs' curves of one metric ("loss" or "accuracy") in one PlotItem."""

    def __init__(self, plot: pg.PlotItem, metric: str):
        self.plot, self.metric = plot, metric
        self._items: list[pg.PlotDataItem] = []
        self._line_scale = 1.0

    def show(self, runs: list[Run], smoothing: float) -> float:
        """Draw `runs` (in the order shown), smoothed as the live curve is; returns the
        largest finite value drawn (0 if none), for the axis."""
        for item in self._items:
            self.plot.removeItem(item)
        self._items.clear()
        highest = 0.0
        for position, run in enumerate(runs):
            color, history = run_color(position), run.history
            values = np.asarray(history.step_loss if self.metric == "loss"
                                else history.step_accuracy, np.float64)
            if len(values):
                curve = self.plot.plot(np.arange(1, len(values) + 1, dtype=np.float64),
                                       Ema(smoothing)(values),
                                       pen=pg.mkPen(color, width=2 * self._line_scale))
                curve.setDownsampling(auto=True, method="mean")
                curve.setClipToView(True)
                self._items.append(curve)
            key = "val_loss" if self.metric == "loss" else "val_accuracy"
            points = [(x, e[key]) for x, e in zip(epoch_ends(run), history.epochs, strict=True)
                      if e.get(key) is not None]
            if points:
                x, y = np.array(points, np.float64).T
                self._items.append(self.plot.plot(
                    x, y, pen=pg.mkPen(color, width=1.5 * self._line_scale,
                                       style=Qt.PenStyle.DashLine),
                    symbol="d", symbolSize=7 * self._line_scale, symbolBrush=color,
                    symbolPen=None))
            finite = values[np.isfinite(values)]
            highest = max(highest, float(finite.max(initial=0.0)),
                          max((p[1] for p in points), default=0.0))
        for item in self._items:
            item.setZValue(-0.5)  # above the previous run's grey, beneath the live run
        return highest

    def set_line_scale(self, scale: float) -> None:
        self._line_scale = scale


def runs_legend(runs: list[Run]) -> str:
    """The shown runs in the curves' legend, as rich text: each run's colour and name
    (a solid line for its training curve, a dashed one for validation)."""
    return " &nbsp; ".join(
        f'<span style="color:{run_color(i).name()}"><b>━</b> ┅◆</span> {escape(run.name)}'
        for i, run in enumerate(runs))
