"""Kept runs drawn over the live curves: for each run shown, its smoothed training curve
and its validation points, in a colour of its own, on the same axes as the run in
progress (which keeps its blue and orange). The Runs panel uses the same colours.

A model compressed without training after has no curves of its own (its history is its
source's): it is drawn as one star, its validation figure once compressed, at the step
its source's weights had reached, and the legend says it was not trained."""

from __future__ import annotations

from html import escape

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt
from PyQt6.QtGui import QColor

from cnnviz.core.i18n import tr
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
            draw = self._draw_training if run.own_history else self._draw_compressed
            highest = max(highest, draw(run, run_color(position), smoothing))
        return highest

    def _add(self, item: pg.PlotDataItem, z: float = -0.5) -> None:
        """Keep `item` to remove at the next show; by default above the previous run's
        grey, beneath the live run."""
        item.setZValue(z)
        self._items.append(item)

    def _val_key(self) -> str:
        return "val_loss" if self.metric == "loss" else "val_accuracy"

    def _draw_training(self, run: Run, color: QColor, smoothing: float) -> float:
        """The run's smoothed training curve and its validation points, dashed."""
        history = run.history
        values = np.asarray(history.step_loss if self.metric == "loss"
                            else history.step_accuracy, np.float64)
        if len(values):
            curve = self.plot.plot(np.arange(1, len(values) + 1, dtype=np.float64),
                                   Ema(smoothing)(values),
                                   pen=pg.mkPen(color, width=2 * self._line_scale))
            curve.setDownsampling(auto=True, method="mean")
            curve.setClipToView(True)
            self._add(curve)
        key = self._val_key()
        points = [(x, e[key]) for x, e in zip(epoch_ends(run), history.epochs, strict=True)
                  if e.get(key) is not None]
        if points:
            x, y = np.array(points, np.float64).T
            self._add(self.plot.plot(
                x, y, pen=pg.mkPen(color, width=1.5 * self._line_scale,
                                   style=Qt.PenStyle.DashLine),
                symbol="d", symbolSize=7 * self._line_scale, symbolBrush=color,
                symbolPen=None))
        finite = values[np.isfinite(values)]
        return max(float(finite.max(initial=0.0)), max((p[1] for p in points), default=0.0))

    def _draw_compressed(self, run: Run, color: QColor, smoothing: float) -> float:
        """A run whose history is its source's: none of those curves (they are not its
        own), only its validation figure once compressed, a star where its source's
        training ended (if it has that figure)."""
        value = run.final()[self._val_key()]
        if value is None:
            return 0.0
        # above the live run: it often sits on its source's last validation point
        self._add(self.plot.plot(
            [float(run.history.steps)], [value], pen=None, symbol="star",
            symbolSize=16 * self._line_scale, symbolBrush=color,
            symbolPen=pg.mkPen("w", width=self._line_scale)), z=3)
        return value

    def set_line_scale(self, scale: float) -> None:
        self._line_scale = scale


def runs_legend(runs: list[Run]) -> str:
    """The shown runs in the curves' legend, as rich text: each run's colour and name
    (a solid line for its training curve, a dashed one for validation; a star and a
    note for a compressed run that was not trained)."""
    return " &nbsp; ".join(_legend_entry(run, run_color(i).name())
                           for i, run in enumerate(runs))


def _legend_entry(run: Run, color: str) -> str:
    name = escape(run.name)
    if run.own_history:
        return f'<span style="color:{color}"><b>━</b> ┅◆</span> {name}'
    source = escape(run.source)
    final = run.final()
    if final["val_loss"] is None and final["val_accuracy"] is None:
        return tr("{name} (compressed from {source}, not trained): no curves of its own",
                  name=name, source=source)
    return tr("{name} (compressed from {source}, not trained): {star} its validation",
              name=name, source=source, star=f'<span style="color:{color}">★</span>')
