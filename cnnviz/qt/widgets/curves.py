"""Live training curves: loss and accuracy per step (raw and smoothed) and per epoch on
the validation set.

The plot items are built once; snapshots only append to preallocated buffers, and the
plots redraw at most VIEW_HZ times a second, because repainting, not appending, is
what would stall the GUI. For the same reason the axes do not auto-range
(which re-lays out and repaints them on every new point): x spans the whole run, y
grows only when a loss exceeds it. Hovering shows the values under the cursor.
"""

from __future__ import annotations

from html import escape

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QEvent, QPointF, Qt, QTimer
from PyQt6.QtGui import QColor, QPalette
from PyQt6.QtWidgets import (
    QDoubleSpinBox,
    QGraphicsScene,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from cnnviz.core.divergence import explain_divergence
from cnnviz.core.history import BEST_RESTORED, DIVERGED, EARLY_STOPPED, Halt
from cnnviz.core.i18n import Message, tr
from cnnviz.core.runs import Run
from cnnviz.core.snapshot import Snapshot
from cnnviz.qt.session import Session
from cnnviz.qt.throttle import VIEW_HZ, Throttle
from cnnviz.qt.widgets.growing_curve import GrowingCurve
from cnnviz.qt.widgets.live_label import live_label
from cnnviz.qt.widgets.rate_curve import RateCurve, stop_marks
from cnnviz.qt.widgets.run_curves import RunCurves, runs_legend
from cnnviz.qt.widgets.series import Ema, Series
from cnnviz.qt.widgets.wheel_guard import wheel_only_when_focused

SMOOTH_PIXELS = 4  # the smoothed curve gets a point every this many pixel columns
PRESENTING_LINES = 2.0  # how much thicker the lines are in presentation mode
TRAIN_COLOR, VAL_COLOR = QColor(31, 119, 180), QColor(230, 110, 20)
PREVIOUS_COLOR = QColor(150, 150, 150)
DIVERGED_COLOR = QColor(214, 39, 40)
HOVER_HINT = Message("Hover over a curve to read its values.")
EMPTY_HINT = Message("Press Start (Space) to train: loss and accuracy appear here, step by "
                     "step, as the network learns.")
SMOOTHING_TIP = Message("How much the bold curve averages over past steps (an exponential "
                        "moving average, as in TensorBoard): 0 shows every step as it is, "
                        "0.99 is very smooth. The thin curve is always the raw per-batch "
                        "value.")


def _finite_max(values: np.ndarray) -> float:
    """The largest finite value (0 if none): a diverged run's infinite loss has no place
    on an axis."""
    return float(values[np.isfinite(values)].max(initial=0.0))


class MetricPlot:
    """One metric's three curves (raw, smoothed, validation) in one PlotItem."""

    def __init__(self, plot: pg.PlotItem, name: str, smoothing: float,
                 top: float | None = None, fmt: str = ".4g"):
        """`top`: a fixed upper limit of the y axis (1 for accuracy), else it grows;
        `name`: the metric as the plot shows it; `fmt`: how the hover readout writes a
        value."""
        self.plot, self.name, self.fmt = plot, name, fmt
        self.raw, self.smooth, self.val = Series(), Series(), Series()
        self.ema = Ema(smoothing)
        self._fixed_top, self._top = top is not None, top or 1.0
        self._top_checked = 0  # raw points already looked at for the y axis's top
        self._val_shown = -1  # validation points drawn; they change once an epoch
        self._line_scale, self._background = 1.0, QColor("white")
        plot.setLabel("left", name)
        plot.setLabel("bottom", tr("step"))
        plot.disableAutoRange()
        plot.setYRange(0, self._top, padding=0.02)
        plot.setClipToView(True)  # draw only the visible points
        # The raw curve gets a point per pixel column (its min and max there); the
        # smoothed one, which changes slowly, one every few columns: it looks the same,
        # and its bold pen (drawn by Qt's slow stroker) costs per segment.
        self.raw_curve = GrowingCurve(plot, pg.mkPen(TRAIN_COLOR), tr("training {name}",
                                                                      name=name))
        self.smooth_curve = GrowingCurve(plot, pg.mkPen(TRAIN_COLOR, width=2), tr("smoothed"),
                                         method="mean", pixels=SMOOTH_PIXELS, z=1)
        self.val_item = plot.plot(pen=pg.mkPen(VAL_COLOR, width=2), symbol="o", symbolSize=7,
                                  symbolBrush=VAL_COLOR, symbolPen=None)
        self.val_item.setZValue(2)  # above the training curves
        # the run before this one, smoothed, in grey beneath: what a change did
        self.previous = plot.plot(pen=pg.mkPen(PREVIOUS_COLOR, width=2))
        self.previous.setZValue(-1)
        self.previous.setDownsampling(auto=True, method="mean")
        self.cursor = pg.InfiniteLine(angle=90, movable=False,
                                      pen=pg.mkPen((128, 128, 128), style=Qt.PenStyle.DashLine))
        self.cursor.hide()
        plot.addItem(self.cursor, ignoreBounds=True)

    def clear(self) -> None:
        for series in (self.raw, self.smooth, self.val):
            series.clear()
        self.ema.reset()
        self.raw_curve.reset()
        self.smooth_curve.reset()
        self._top_checked = 0
        if not self._fixed_top:
            self._top = 1.0
            self.plot.setYRange(0, self._top, padding=0.02)

    def add_steps(self, first_step: int, values: np.ndarray) -> None:
        steps = np.arange(first_step, first_step + len(values), dtype=np.float64)
        self.raw.extend(steps, values)
        self.smooth.extend(steps, self.ema(values))

    def fit_top(self, others: float) -> None:
        """The y axis's top fitted again to this run's values and `others` (the largest
        of other runs' curves drawn with it), when those change."""
        if self._fixed_top:
            return
        highest = max(others, _finite_max(self.raw.y), _finite_max(self.val.y))
        self._top = max(1.0, 1.1 * highest)
        self._top_checked = len(self.raw)
        self.plot.setYRange(0, self._top, padding=0.02)

    def show_previous(self, values: np.ndarray | None) -> None:
        """The previous run's values per step (None: there was none), smoothed as the
        current run's are."""
        if values is None or not len(values):
            self.previous.setData([], [])
            return
        smoothed = Ema(self.ema.weight)(np.asarray(values, np.float64))
        self.previous.setData(np.arange(1, len(values) + 1, dtype=np.float64), smoothed)

    def resmooth(self, weight: float) -> None:
        self.ema.reset(weight)
        x = self.raw.x.copy()
        self.smooth.clear()
        self.smooth.extend(x, self.ema(self.raw.y))
        self.smooth_curve.reset()

    def set_background(self, background: QColor) -> None:
        """The raw curve in a pale, opaque tint of the training colour (more colour on a
        dark background): opaque because blending a translucent line costs much more."""
        self._background = background
        t = 0.35 if background.lightness() > 128 else 0.55
        self.raw_curve.set_pen(pg.mkPen(QColor(
            *(round(t * a + (1 - t) * b) for a, b in zip(
                TRAIN_COLOR.getRgb()[:3], background.getRgb()[:3], strict=True))),
            width=self._line_scale))

    def set_line_scale(self, scale: float) -> None:
        """Every line `scale` times as thick (1: as built), e.g. for a projector."""
        self._line_scale = scale
        self.smooth_curve.set_pen(pg.mkPen(TRAIN_COLOR, width=2 * scale))
        self.val_item.setPen(pg.mkPen(VAL_COLOR, width=2 * scale))
        self.val_item.setSymbolSize(7 * scale)
        self.set_background(self._background)

    def redraw(self) -> None:
        (left, right), _ = self.plot.vb.viewRange()
        steps_per_pixel = (right - left) / max(self.plot.vb.width(), 1.0)
        self.raw_curve.draw(self.raw, steps_per_pixel)
        self.smooth_curve.draw(self.smooth, steps_per_pixel)
        if len(self.val) != self._val_shown:
            self.val_item.setData(self.val.x, self.val.y)
            self._val_shown = len(self.val)
        if not self._fixed_top and len(self.raw):
            # only the points added since the last redraw can raise the top
            highest = max(_finite_max(self.raw.y[self._top_checked:]),
                          _finite_max(self.val.y))
            self._top_checked = len(self.raw)
            if highest > self._top:
                self._top = 1.1 * highest
                self.plot.setYRange(0, self._top, padding=0.02)

    def readout(self, step: float) -> str:
        """'loss 0.412 (smoothed 0.398), validation 0.35 at step 840' near `step`."""
        parts, f = [], self.fmt
        if len(self.raw):
            i = int(np.clip(np.searchsorted(self.raw.x, step), 0, len(self.raw) - 1))
            parts.append(tr("{name} {value} (smoothed {smoothed})", name=self.name,
                            value=format(self.raw.y[i], f), smoothed=format(self.smooth.y[i], f)))
        if len(self.val):
            j = int(np.argmin(np.abs(self.val.x - step)))
            parts.append(tr("validation {value} at step {step:,}", value=format(self.val.y[j], f),
                            step=int(self.val.x[j])))
        return tr(", ").join(parts)


def legend_text(previous: bool = False) -> str:
    """The legend of both plots, as rich text: each curve's look and what it shows
    (with `previous`, the previous run's curve too)."""
    text = tr('<span style="color:{raw}">━</span> each batch &nbsp; '
              '<span style="color:{train}"><b>━</b></span> smoothed &nbsp; '
              '<span style="color:{val}">━●━</span> validation, each epoch',
              raw=TRAIN_COLOR.lighter(160).name(), train=TRAIN_COLOR.name(),
              val=VAL_COLOR.name())
    if previous:
        text += tr(' &nbsp; <span style="color:{grey}"><b>━</b></span> the run before',
                   grey=PREVIOUS_COLOR.name())
    return text


class CurvesPanel(QWidget):
    """Live points come from the worker's snapshots; a reset history (a file opened,
    weights reset) is redrawn from the session's record."""

    def __init__(self, session: Session, smoothing: float = 0.9, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.view = pg.GraphicsLayoutWidget()
        # The curves change bounds with every redraw; keeping a spatial index of a
        # handful of items up to date costs more than it saves.
        self.view.scene().setItemIndexMethod(QGraphicsScene.ItemIndexMethod.NoIndex)
        loss_plot = self.view.addPlot(row=0, col=0)
        acc_plot = self.view.addPlot(row=1, col=0)
        acc_plot.setXLink(loss_plot)
        self.metrics = (MetricPlot(loss_plot, tr("loss"), smoothing),
                        MetricPlot(acc_plot, tr("accuracy"), smoothing, top=1.0, fmt=".1%"))
        # the rate each step trained with, in a small plot shown when it moves
        self.rate = RateCurve(self.view.addPlot(row=2, col=0))
        self.rate.plot.setXLink(loss_plot)
        self._rate_shown = True
        self._show_rate(False)
        # the kept runs shown with this one (the Runs panel chooses them)
        self.run_curves = (RunCurves(loss_plot, "loss"), RunCurves(acc_plot, "accuracy"))
        self._steps_shown = 0  # the x axis spans steps 0..this
        # divergence steps, early stops and best epochs, and the halts they mark
        self._marks: list[tuple[pg.PlotItem, pg.InfiniteLine]] = []
        self._marked: set[Halt] = set()
        self.smoothing = QDoubleSpinBox()
        self.smoothing.setRange(0.0, 0.99)
        self.smoothing.setSingleStep(0.05)
        self.smoothing.setValue(smoothing)
        self.smoothing.setToolTip(str(SMOOTHING_TIP))
        self.smoothing.valueChanged.connect(self._resmooth)
        wheel_only_when_focused(self.smoothing)
        self.readout = live_label(lines=2, wrap=True)  # a line per metric
        # one legend for both plots, above them: inside, it would cover the curves
        self.legend = QLabel(legend_text())
        self.legend.setWordWrap(True)
        bar = QHBoxLayout()
        bar.addWidget(self.legend, 1)
        bar.addWidget(QLabel(tr("Smoothing")))
        bar.addWidget(self.smoothing)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.readout)
        layout.addWidget(self.view, 1)
        # one plot per redraw, alternating (see _draw): each plot redraws at half the
        # views' rate, which is plenty for a curve that grows a few pixels a second
        self._redraw = Throttle(self._draw, VIEW_HZ, parent=self)
        self._stale: set[int] = set()  # indices of the metrics whose plots need a redraw
        self._turn = 0
        self._hover = pg.SignalProxy(self.view.scene().sigMouseMoved, rateLimit=30,
                                     slot=self._on_mouse)
        self._apply_palette()
        session.worker.snapshot.connect(self.add_snapshot)
        session.history_reset.connect(self.show_history)
        session.diverged.connect(self.mark_divergence)
        session.run_changed.connect(self._mark_new_halts)
        session.data_changed.connect(self._on_settings)
        session.config_changed.connect(self._on_settings)
        session.runs.changed.connect(self.show_runs)
        self.show_history()

    # -- data in ------------------------------------------------------------------------
    def _span(self, steps: int) -> None:
        """Show steps 0..`steps` (the whole run), so points fill in without re-ranging."""
        if steps != self._steps_shown:
            self._steps_shown = steps
            self.metrics[0].plot.setXRange(0, max(steps, 1), padding=0.02)

    def add_snapshot(self, snap: Snapshot) -> None:
        self._span(max(snap.total_steps, snap.step))
        first = snap.step - len(snap.step_losses) + 1
        if len(snap.step_losses):
            loss, acc = self.metrics
            loss.add_steps(first, snap.step_losses)
            acc.add_steps(first, snap.step_accuracies)
        if snap.val_loss is not None:
            self._add_val(snap.step, snap.val_loss, snap.val_accuracy)
        if snap.step:
            self.rate.add(snap.step, snap.learning_rate)
        self._changed()

    def _add_val(self, step: int, loss: float, accuracy: float | None) -> None:
        for metric, value in zip(self.metrics, (loss, accuracy), strict=True):
            metric.val.extend(np.array([step], np.float64), np.array([value], np.float64))

    def show_history(self) -> None:
        """Redraw everything from the session's record; validation points sit at epoch ends."""
        history, steps_per_epoch = self.session.history, self.session.steps_per_epoch()
        for metric in self.metrics:
            metric.clear()
        if history.steps:
            self.metrics[0].add_steps(1, np.asarray(history.step_loss, np.float64))
            self.metrics[1].add_steps(1, np.asarray(history.step_accuracy, np.float64))
        self._show_previous()
        spe = steps_per_epoch or history.steps // max(len(history.epochs), 1)
        self._span(self._run_length())
        self.rate.clear()
        for i, epoch in enumerate(history.epochs):
            if epoch.get("val_loss") is not None:
                self._add_val((i + 1) * spe, epoch["val_loss"], epoch["val_accuracy"])
            if epoch.get("learning_rate") is not None:
                self.rate.add((i + 1) * spe, epoch["learning_rate"])
        for plot, mark in self._marks:
            plot.removeItem(mark)
        self._marks.clear()
        self._marked.clear()
        for halt in history.halts:
            self.mark_halt(halt)
        self.show_runs()

    def mark_halt(self, halt: Halt) -> None:
        """A line for each halt the history records: a divergence, an early stop and its
        best epoch (see rate_curve.stop_marks), each once."""
        if halt.reason == DIVERGED:
            self.mark_divergence(halt)
        elif halt.reason in (EARLY_STOPPED, BEST_RESTORED) and halt not in self._marked:
            self._marked.add(halt)
            spe = self.session.steps_per_epoch() or max(halt.best_step or 1, 1)
            for metric in self.metrics:
                for line in stop_marks(halt, spe, self.session.config):
                    metric.plot.addItem(line, ignoreBounds=True)
                    self._marks.append((metric.plot, line))

    def _mark_new_halts(self) -> None:
        """A run that just ended early: its marks (a divergence has its own signal)."""
        for halt in self.session.history.halts:
            if halt.reason != DIVERGED:
                self.mark_halt(halt)

    def mark_divergence(self, halt: Halt) -> None:
        """A red line on both plots at the step where the loss stopped being a number,
        labelled with the learning rate it ran with."""
        if halt in self._marked:
            return
        self._marked.add(halt)
        text = tr("diverged (learning rate {rate:g})", rate=halt.learning_rate or 0.0)
        for metric in self.metrics:
            mark = pg.InfiniteLine(halt.step, angle=90, movable=False, label=text,
                                   pen=pg.mkPen(DIVERGED_COLOR, width=2),
                                   labelOpts={"position": 0.85, "color": DIVERGED_COLOR})
            mark.setToolTip(explain_divergence(halt))
            metric.plot.addItem(mark, ignoreBounds=True)
            self._marks.append((metric.plot, mark))

    def overlaid(self) -> list[Run]:
        """The kept runs drawn with this one: those shown, but the run in progress (it
        is the live curve)."""
        log = self.session.runs
        return [run for run in log.shown_runs() if run.number != log.current]

    def show_runs(self) -> None:
        """The kept runs shown, over the same axes (which grow to hold them)."""
        runs, weight = self.overlaid(), self.smoothing.value()
        for metric, curves in zip(self.metrics, self.run_curves, strict=True):
            metric.fit_top(curves.show(runs, weight))
        self._span(self._run_length())
        self._show_previous()
        self._changed()

    def _show_previous(self) -> None:
        """The session's previous run beneath this one, named in the legend (unless kept
        runs are shown: the previous one is among them)."""
        kept = self.overlaid()
        previous = None if kept else self.session.previous
        runs = ((previous.step_loss, previous.step_accuracy) if previous is not None
                else (None, None))
        for metric, values in zip(self.metrics, runs, strict=True):
            metric.show_previous(values)
        text = legend_text(previous is not None and previous.steps > 0)
        self.legend.setText(text + self._borrowed_note()
                            + (" &nbsp; " + runs_legend(kept) if kept else ""))

    def _borrowed_note(self) -> str:
        """When the run in progress is a model compressed without training after, its
        curves are its source's: the legend says so, not to pass them off as its own."""
        log = self.session.runs
        run = log.get(log.current) if log.current is not None else None
        if run is None or run.own_history or not self.session.history.steps:
            return ""
        return " &nbsp; " + tr("<i>Up to step {step:,} these curves are {source}'s: this "
                               "model was compressed from it, not trained.</i>",
                               step=run.history.steps, source=escape(run.source))

    def _run_length(self) -> int:
        s = self.session
        return max(s.history.steps, (s.steps_per_epoch() or 0) * s.config.epochs,
                   *(run.history.steps for run in self.overlaid()))

    def _on_settings(self) -> None:
        # the run's length and where its epochs end depend on the data, batch and epochs
        if self.session.active:
            return
        if self.session.history.epochs:
            self.show_history()
        else:
            self._span(self._run_length())

    def _resmooth(self, weight: float) -> None:
        for metric in self.metrics:
            metric.resmooth(weight)
        self.show_runs()

    # -- drawing ----------------------------------------------------------------------------
    def _changed(self) -> None:
        self._stale = {0, 1}
        self._redraw.request()

    def _draw(self) -> None:
        """Redraw one plot, taking turns: each repaint then does half the work, so it
        holds the event loop half as long; the other plot follows at the next tick."""
        if self._stale:
            i = self._turn if self._turn in self._stale else min(self._stale)
            self._stale.discard(i)
            self._turn = 1 - i
            self.metrics[i].redraw()
            if i == 0:  # with the loss: a few points, and it follows the same steps
                self._show_rate(self.rate.moves)
                self.rate.redraw()
        if self._stale:
            self._redraw.request()
        if not self.metrics[0].cursor.isVisible():
            self._show_hint()

    def _on_mouse(self, event: tuple[QPointF]) -> None:
        pos = event[0]
        for metric in self.metrics:
            if metric.plot.sceneBoundingRect().contains(pos):
                step = metric.plot.vb.mapSceneToView(pos).x()
                break
        else:
            for metric in self.metrics:
                metric.cursor.hide()
            self._show_hint()
            return
        texts = [m.readout(step) for m in self.metrics]
        if self._rate_shown:
            texts.append(self.rate.readout(step))
        for metric in self.metrics:
            metric.cursor.setPos(step)
            metric.cursor.show()
        if any(texts):
            self.readout.setText(tr("step {step:,.0f}:  {values}", step=max(step, 0),
                                    values="\n".join(t for t in texts if t)))
        else:
            self._show_hint()

    def _show_rate(self, shown: bool) -> None:
        """The learning-rate plot takes room under the others only while it has
        something to show."""
        if shown != self._rate_shown:
            self._rate_shown = shown
            layout = self.view.ci
            if shown:
                layout.addItem(self.rate.plot, row=2, col=0)
            else:
                layout.removeItem(self.rate.plot)

    def _show_hint(self) -> None:
        self.readout.setText(str(HOVER_HINT if len(self.metrics[0].raw) else EMPTY_HINT))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._changed()  # the points per pixel column changed

    def set_presenting(self, on: bool) -> None:
        """Thicker lines for presentation mode (see qt/presentation.py)."""
        for metric, curves in zip(self.metrics, self.run_curves, strict=True):
            metric.set_line_scale(PRESENTING_LINES if on else 1.0)
            curves.set_line_scale(PRESENTING_LINES if on else 1.0)
        self.show_runs()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            self._apply_palette()
        super().changeEvent(event)

    def _apply_palette(self) -> None:
        """Follow the window's light or dark theme."""
        palette = self.palette()
        background = palette.color(QPalette.ColorRole.Base)
        self.view.setBackground(background)
        text = palette.color(QPalette.ColorRole.Text)
        for metric in self.metrics:
            metric.set_background(background)
        for plot in (*(metric.plot for metric in self.metrics), self.rate.plot):
            for side in ("left", "bottom"):
                axis = plot.getAxis(side)
                axis.setPen(text)
                axis.setTextPen(text)


if __name__ == "__main__":  # synthetic snapshots at the trainer's pace, no training
    from PyQt6.QtWidgets import QApplication

    from cnnviz.core.config import TrainConfig
    from cnnviz.core.presets import get_preset
    from cnnviz.qt.dataset_loader import DatasetLoader
    from cnnviz.qt.network_model import NetworkModel
    from cnnviz.qt.worker import TrainingWorker

    app = QApplication([])
    worker = TrainingWorker()
    session = Session(NetworkModel(get_preset("tiny").spec), worker, DatasetLoader(),
                      TrainConfig(), "shapes")
    panel = CurvesPanel(session)
    rng = np.random.default_rng(0)
    step = 0

    def tick() -> None:
        global step
        steps = np.arange(step + 1, step + 9)
        loss = 1.6 * np.exp(-steps / 150) + 0.1 + rng.normal(0, 0.08, 8)
        done = (step + 8) % 100 < 8
        worker.snapshot.emit(Snapshot(
            "running", step + 8, step // 100, 10, 100, 1e-3, step / 160,
            step_losses=loss.astype(np.float32),
            step_accuracies=np.clip(1 - loss / 1.8, 0, 1).astype(np.float32),
            epoch_done=done, val_loss=float(loss[-1]) if done else None,
            val_accuracy=float(1 - loss[-1] / 1.8) if done else None))
        step += 8

    timer = QTimer(interval=50, timeout=tick)
    timer.start()
    panel.resize(900, 600)
    panel.show()
    app.exec()
