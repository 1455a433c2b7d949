"""Beside the loss and accuracy: the learning rate the run actually trains with (its
schedule, live changes, cuts on a plateau), and where early stopping stopped a run and
which epoch's weights it kept, as lines across the plots."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt
from PyQt6.QtGui import QColor

from cnnviz.core.history import BEST_RESTORED, EARLY_STOPPED, Halt
from cnnviz.core.i18n import tr
from cnnviz.qt.widgets.series import Series

RATE_COLOR = QColor(44, 160, 44)
STOP_COLOR, BEST_COLOR = QColor(148, 103, 189), QColor(44, 160, 44)


class RateCurve:
    """The learning rate per step in a small plot of its own, shown only when the rate
    moves (a schedule, a live change)."""

    def __init__(self, plot: pg.PlotItem):
        self.plot = plot
        self.series = Series()
        plot.setLabel("left", tr("learning rate"))
        plot.setLabel("bottom", tr("step"))
        plot.setMenuEnabled(False)
        plot.setMaximumHeight(130)
        self.curve = plot.plot(pen=pg.mkPen(RATE_COLOR, width=2), stepMode=None)

    def clear(self) -> None:
        self.series.clear()
        self.curve.setData([], [])

    def add(self, step: int, rate: float) -> None:
        """The rate step `step` trained with (points come in step order)."""
        if len(self.series) and self.series.x[-1] >= step:
            return
        self.series.extend(np.array([step], np.float64), np.array([rate], np.float64))

    def redraw(self) -> None:
        self.curve.setData(self.series.x, self.series.y)
        if len(self.series):
            self.plot.setYRange(0, float(self.series.y.max()), padding=0.05)

    @property
    def moves(self) -> bool:
        """Whether the rate changed over the run: only then is the plot worth its room."""
        y = self.series.y
        return len(y) > 1 and bool(y.min() != y.max())

    def readout(self, step: float) -> str:
        if not len(self.series):
            return ""
        i = int(np.clip(np.searchsorted(self.series.x, step), 0, len(self.series) - 1))
        return tr("learning rate {rate:.3g}", rate=self.series.y[i])


def stop_marks(halt: Halt, steps_per_epoch: int, config) -> list[pg.InfiniteLine]:
    """Lines for a run early stopping ended or chose the weights of: where it stopped
    (EARLY_STOPPED), and the best epoch, whose weights it kept if it restored them."""
    lines = []
    best_epoch = (halt.best_step or steps_per_epoch) // steps_per_epoch - 1
    restored = halt.weights_step == halt.best_step
    if halt.reason == EARLY_STOPPED:
        lines.append(_line(halt.step, tr("stopped early"), STOP_COLOR, 0.9, 1.0, tr(
            "Early stopping ended the run here, after epoch {epoch}: the validation metric "
            "had not improved for {patience} epochs.", epoch=halt.step // steps_per_epoch,
            patience=config.patience)))
    if halt.best_step is not None and (halt.reason == BEST_RESTORED or
                                       halt.best_step != halt.step):
        text = (tr("best epoch {epoch}: weights kept", epoch=best_epoch + 1) if restored
                else tr("best epoch {epoch}", epoch=best_epoch + 1))
        lines.append(_line(halt.best_step, text, BEST_COLOR, 0.7, 0.0, tr(
            "Epoch {epoch} had the best validation metric; the run ended with its weights "
            "(they were restored).", epoch=best_epoch + 1) if restored else tr(
            "Epoch {epoch} had the best validation metric; the run kept the last epoch's "
            "weights.", epoch=best_epoch + 1)))
    return lines


def _line(step: int, label: str, color: QColor, height: float, side: float, tip: str
          ) -> pg.InfiniteLine:
    """A dashed line at `step`, its label at `height` (0 bottom, 1 top), to the line's
    left (`side` 1) or right (0): the best epoch's to the right, the stop's to the left,
    so that two marks close together do not overlap."""
    line = pg.InfiniteLine(step, angle=90, movable=False, label=label,
                           pen=pg.mkPen(color, width=2, style=Qt.PenStyle.DashLine),
                           labelOpts={"position": height, "color": color,
                                      "anchors": [(side, 0.5), (side, 0.5)]})
    line.setToolTip(tip)
    return line
