"""The training panel's cures for overfitting (weight decay, early stopping) and the
learning-rate schedule with a small plot of it over the run.

Controls write to the Session; their values are read back from it on `config_changed`.
The plot's numbers are core.schedules.preview's, the ones the trainer uses.
"""

from __future__ import annotations

import pyqtgraph as pg
from PyQt6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from cnnviz.core.config import MAX_EPOCHS, MONITORS, SCHEDULES
from cnnviz.core.i18n import tr
from cnnviz.core.schedules import preview
from cnnviz.qt.session import Session
from cnnviz.qt.widgets.wheel_guard import wheel_only_when_focused

PREVIEW_HEIGHT = 120  # pixels: a glance at the shape, not a chart to read values off


def schedule_names() -> dict[str, str]:
    """Each schedule's name in words, in the config's order."""
    texts = {"constant": tr("constant"), "step": tr("step decay"),
             "exponential": tr("exponential"), "cosine": tr("cosine"),
             "warmup-cosine": tr("warm-up, then cosine"), "plateau": tr("reduce on plateau")}
    return {name: texts[name] for name in SCHEDULES}


def monitor_names() -> dict[str, str]:
    texts = {"val_loss": tr("validation loss"), "val_accuracy": tr("validation accuracy")}
    return {name: texts[name] for name in MONITORS}


def _combo(items: dict[str, str], tip: str) -> QComboBox:
    box = QComboBox()
    for key, text in items.items():
        box.addItem(text, key)
    box.setToolTip(tip)
    # narrower than its longest entry (the list opens wide enough): the column is narrow
    box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    box.setMinimumContentsLength(8)
    return box


def _spin(low: int, high: int, tip: str) -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    box.setToolTip(tip)
    box.setKeyboardTracking(False)
    return box


def _number(decimals: int, low: float, high: float, tip: str) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setDecimals(decimals)
    box.setRange(low, high)
    box.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
    box.setToolTip(tip)
    box.setKeyboardTracking(False)
    return box


class OverfittingBox(QWidget):
    """Weight decay and early stopping."""

    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.weight_decay = _number(5, 0.0, 1.0, tr(
            "Pulls every kernel weight a little towards zero at each step, so the network "
            "prefers small weights and fits the training images less closely. Adam and "
            "RMSprop decay the weights directly (decoupled, as AdamW); SGD adds "
            "weight_decay / 2 * sum(w²) to the loss (L2), and the loss readout shows that "
            "part. Biases and BatchNorm are not decayed. Try 0.0001 to 0.01."))
        self.early = QCheckBox(tr("Stop early"))
        self.early.setToolTip(tr(
            "End the run when the validation metric has not improved for `patience` epochs "
            "in a row (by more than min delta), and keep the weights of its best epoch."))
        self.monitor = _combo(monitor_names(), tr("What early stopping (and the plateau "
                                                  "schedule) watches after each epoch"))
        self.patience = _spin(1, MAX_EPOCHS, tr("Epochs without improvement before the run "
                                                "stops"))
        self.min_delta = _number(4, 0.0, 100.0, tr(
            "How much better than the best so far a value must be to count as an "
            "improvement (0: any improvement counts)"))
        self.restore = QCheckBox(tr("Keep the best epoch"))
        self.restore.setToolTip(tr("At the end, put back the weights of the epoch whose "
                                   "validation metric was best (as Keras' "
                                   "restore_best_weights); unticked, the last epoch's stay"))
        form = QFormLayout(self)
        form.addRow(tr("Weight decay"), self.weight_decay)
        form.addRow(self.early)
        form.addRow(tr("Watch"), self.monitor)
        form.addRow(tr("Patience"), self.patience)
        form.addRow(tr("Min delta"), self.min_delta)
        form.addRow(self.restore)
        wheel_only_when_focused(self.weight_decay, self.monitor, self.patience, self.min_delta)
        s = session
        self.weight_decay.valueChanged.connect(lambda v: s.set_config(weight_decay=v))
        self.early.toggled.connect(lambda v: s.set_config(early_stopping=v))
        self.monitor.currentIndexChanged.connect(
            lambda _: s.set_config(monitor=self.monitor.currentData()))
        self.patience.valueChanged.connect(lambda v: s.set_config(patience=v))
        self.min_delta.valueChanged.connect(lambda v: s.set_config(min_delta=v))
        self.restore.toggled.connect(lambda v: s.set_config(restore_best=v))
        s.config_changed.connect(self.show_config)
        self.show_config()

    def controls(self) -> list[QWidget]:
        return [self.weight_decay, self.early, self.monitor, self.patience, self.min_delta,
                self.restore]

    def show_config(self) -> None:
        c = self.session.config
        for box in self.controls():
            box.blockSignals(True)  # showing the model's value is not an edit
        self.weight_decay.setValue(c.weight_decay)
        self.early.setChecked(c.early_stopping)
        self.monitor.setCurrentIndex(self.monitor.findData(c.monitor))
        self.patience.setValue(c.patience)
        self.min_delta.setValue(c.min_delta)
        self.restore.setChecked(c.restore_best)
        for box in self.controls():
            box.blockSignals(False)
        self.set_enabled(not self.session.active)

    def set_enabled(self, enabled: bool) -> None:
        """None of it changes while a run trains; early stopping's settings only matter
        when it is on."""
        early = self.session.config.early_stopping
        for box in self.controls():
            box.setEnabled(enabled and (early or box in (self.weight_decay, self.early,
                                                         self.monitor)))


class ScheduleBox(QWidget):
    """The schedule, its settings (only those it uses are shown), and its plot."""

    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.schedule = _combo(schedule_names(), tr(
            "How the learning rate moves over the run: constant; step decay (times the "
            "factor every N epochs); exponential (the same, spread smoothly); cosine (from "
            "the rate down to 0 along half a cosine); a linear warm-up, then cosine; or "
            "reduce on plateau (times the factor after N epochs without improvement of "
            "the watched validation metric). A rate changed while training sets the rate "
            "now, and the schedule goes on from there in proportion."))
        self.factor = _number(3, 0.001, 0.999, tr("Each decay multiplies the rate by this"))
        self.factor.setSingleStep(0.05)
        self.every = _spin(1, MAX_EPOCHS, tr("Epochs between two decays (plateau: epochs "
                                             "without improvement before one)"))
        self.warmup = _spin(1, MAX_EPOCHS, tr("Epochs over which the rate rises linearly "
                                              "from near 0 to the learning rate"))
        self.plot = pg.PlotWidget()
        self.plot.setFixedHeight(PREVIEW_HEIGHT)
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(False, False)
        self.plot.hideButtons()
        self.plot.setLabel("bottom", tr("epoch"))
        self.plot.getAxis("left").setWidth(50)
        self.curve = self.plot.plot(pen=pg.mkPen((31, 119, 180), width=2))
        palette = self.palette()  # the window's light or dark theme, not pyqtgraph's black
        self.plot.setBackground(palette.color(palette.ColorRole.Base))
        for side in ("left", "bottom"):
            self.plot.getAxis(side).setTextPen(palette.color(palette.ColorRole.Text))
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.form = QFormLayout()
        self.form.addRow(tr("Schedule"), self.schedule)
        self.form.addRow(tr("Factor"), self.factor)
        self.form.addRow(tr("Every N epochs"), self.every)
        self.form.addRow(tr("Warm-up epochs"), self.warmup)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.plot)
        layout.addWidget(self.note)
        wheel_only_when_focused(self.schedule, self.factor, self.every, self.warmup)
        s = session
        self.schedule.currentIndexChanged.connect(
            lambda _: s.set_config(schedule=self.schedule.currentData()))
        self.factor.valueChanged.connect(lambda v: s.set_config(decay_factor=v))
        self.every.valueChanged.connect(lambda v: s.set_config(decay_epochs=v))
        self.warmup.valueChanged.connect(lambda v: s.set_config(warmup_epochs=v))
        s.config_changed.connect(self.show_config)
        s.data_changed.connect(self.show_config)  # steps per epoch
        self.show_config()

    def controls(self) -> list[QWidget]:
        return [self.schedule, self.factor, self.every, self.warmup]

    def show_config(self) -> None:
        c = self.session.config
        for box in self.controls():
            box.blockSignals(True)
        self.schedule.setCurrentIndex(self.schedule.findData(c.schedule))
        self.factor.setValue(c.decay_factor)
        self.every.setValue(c.decay_epochs)
        self.warmup.setValue(c.warmup_epochs)
        for box in self.controls():
            box.blockSignals(False)
        uses = {self.factor: c.schedule in ("step", "exponential", "plateau"),
                self.every: c.schedule in ("step", "exponential", "plateau"),
                self.warmup: c.schedule == "warmup-cosine"}
        for box, used in uses.items():
            self.form.setRowVisible(box, used)
        epochs, rates = preview(c, self.session.steps_per_epoch() or 1)
        self.curve.setData(epochs, rates)
        self.plot.setXRange(0, c.epochs, padding=0.02)
        self.plot.setYRange(0, c.learning_rate, padding=0.05)
        self.plot.getAxis("left").setTicks([[(0, "0"), (c.learning_rate,
                                                        f"{c.learning_rate:g}")]])
        self.note.setText(
            tr("The rate starts here; each time the {what} has not improved for {n} epochs "
               "it is multiplied by {f:g}.", what=monitor_names()[c.monitor],
               n=c.decay_epochs, f=c.decay_factor) if c.schedule == "plateau" else "")
        self.note.setVisible(c.schedule == "plateau")

    def set_enabled(self, enabled: bool) -> None:
        for box in self.controls():
            box.setEnabled(enabled)

