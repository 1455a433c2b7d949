"""The training panel: data, hyper-parameters, the run's controls and its progress.

Controls write to the Session; their values are read back from it on `config_changed`.
Progress comes from the worker's snapshot signal like every other live view.
"""

from __future__ import annotations

from collections.abc import Sequence

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QAction
from PyQt6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QLabel,
    QProgressBar,
    QSizePolicy,
    QSpinBox,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from cnnviz.core.config import AUGMENTATIONS, MAX_BATCH_SIZE, MAX_EPOCHS, MAX_SEED, OPTIMIZERS
from cnnviz.core.i18n import Message, tr
from cnnviz.core.progress import format_duration
from cnnviz.core.snapshot import COMPILING, FINISHED, PAUSED, RUNNING, STOPPED, Snapshot
from cnnviz.qt.session import IDLE, Session
from cnnviz.qt.throttle import Throttle
from cnnviz.qt.widgets.data_picker import DataPicker
from cnnviz.qt.widgets.live_label import live_label
from cnnviz.qt.widgets.rate_box import RateBox
from cnnviz.qt.widgets.training_options import OverfittingBox, ScheduleBox
from cnnviz.qt.widgets.wheel_guard import wheel_only_when_focused

TIPS = {
    "optimizer": Message(
        "How the gradient turns into a weight update.\n"
        "adam: a step size per weight, from running averages of its gradients; a robust "
        "default.\nsgd-momentum: plain gradient descent that keeps part of its last "
        "direction.\nrmsprop: steps scaled by a running average of squared gradients."),
    "learning_rate": Message(
        "How far each update moves the weights along the gradient. Too high and the loss "
        "jumps about or blows up; too low and it creeps down. You can change it while "
        "training runs."),
    "batch_size": Message("Images per update step. Larger batches give smoother but fewer "
                          "updates per epoch."),
    "epochs": Message("Passes over the whole training set."),
    "seed": Message("Fixes everything random (initial weights, the validation split, the "
                    "order of the images), so the same settings give the same curves again."),
}


def augment_choices() -> dict[str, tuple[str, str]]:
    """Each augmentation's check box text and tip, by name."""
    return {"flip": (tr("Flip"), tr("Mirror left to right, at random (half the images)")),
            "shift": (tr("Shift"), tr("Move by up to an eighth of the size in any direction")),
            "rotate": (tr("Rotate"), tr("Turn by up to 15 degrees either way")),
            "noise": (tr("Noise"), tr("Add a little random noise to every pixel"))}
STATE_TEXT = {
    IDLE: Message("Ready"),
    COMPILING: Message("Compiling… (JAX turns the network into machine code before the "
                       "first step)"),
    RUNNING: Message("Training"),
    PAUSED: Message("Paused"),
    FINISHED: Message("Finished"),
    STOPPED: Message("Stopped"),
}


def _spin(minimum: int, maximum: int, tip: str) -> QSpinBox:
    box = QSpinBox()
    box.setRange(minimum, maximum)
    box.setToolTip(tip)
    box.setKeyboardTracking(False)
    return box


class TrainingPanel(QWidget):
    def __init__(self, session: Session, run_actions: Sequence[QAction],
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.data = DataPicker(session)
        self.optimizer = QComboBox()
        self.optimizer.addItems(OPTIMIZERS)
        self.optimizer.setToolTip(str(TIPS["optimizer"]))
        self.learning_rate = RateBox()  # the config's whole range, 1e-06 as such
        self.learning_rate.setToolTip(str(TIPS["learning_rate"]))
        self.learning_rate.setKeyboardTracking(False)
        # the ranges are the config's: a project's values always show as they are
        self.batch_size = _spin(1, MAX_BATCH_SIZE, str(TIPS["batch_size"]))
        self.epochs = _spin(1, MAX_EPOCHS, str(TIPS["epochs"]))
        self.seed = _spin(0, MAX_SEED, str(TIPS["seed"]))
        self.overfitting = OverfittingBox(session)
        self.schedule = ScheduleBox(session)
        self.augment: dict[str, QCheckBox] = {}
        choices = augment_choices()
        for name in AUGMENTATIONS:
            text, tip = choices[name]
            box = self.augment[name] = QCheckBox(text)
            box.setToolTip(tip)
        wheel_only_when_focused(self.optimizer, self.learning_rate, self.batch_size,
                                self.epochs, self.seed)
        self.progress = QProgressBar()
        self.state = live_label(wrap=True)
        self.pruned = live_label(wrap=True)  # a pruned model: its zeros are held
        self.metrics = live_label(lines=2, wrap=True)  # loss, accuracy, validation, speed
        self.device = live_label()
        self.device.setToolTip(tr("Where JAX runs the training: the CPU, or a GPU if JAX "
                                  "finds one (install cnnviz[cuda] for NVIDIA GPUs)."))
        self._metrics: dict[str, str] = {}  # the latest loss, validation and speed texts
        self._latest: Snapshot | None = None
        self._redraw = Throttle(self._show_snapshot, parent=self)
        self._layout(run_actions)
        self._connect()
        self._show_config()
        self._show_run()
        self._show_device(session.worker.device)

    def _layout(self, run_actions: Sequence[QAction]) -> None:
        data = QGroupBox(tr("Data"))
        QVBoxLayout(data).addWidget(self.data)
        params = QWidget()
        form = QFormLayout(params)
        # tight, as the layer editor's: the panel fits 720 pixels in Chinese too, whose
        # lines are taller than Latin ones
        form.setVerticalSpacing(3)
        form.setContentsMargins(6, 6, 6, 6)
        for label, widget in ((tr("Optimizer"), self.optimizer),
                              (tr("Learning rate"), self.learning_rate),
                              (tr("Batch size"), self.batch_size), (tr("Epochs"), self.epochs),
                              (tr("Seed"), self.seed)):
            form.addRow(label, widget)
        augment = QGridLayout()
        augment.setVerticalSpacing(2)
        for i, box in enumerate(self.augment.values()):
            augment.addWidget(box, i // 2, i % 2)
        augment_label = QLabel(tr("Augment"))
        augment_label.setToolTip(tr(
            "Data augmentation: each training image is changed at random every time it is "
            "used, so the network sees more variety than the data set holds and overfits "
            "less. Validation and test images stay as they are."))
        form.addRow(augment_label, augment)
        run = QGroupBox(tr("Run"))
        grid = QGridLayout(run)
        grid.setVerticalSpacing(3)
        for i, action in enumerate(run_actions):
            button = QToolButton()
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            grid.addWidget(button, i // 2, i % 2)
        rows = (len(run_actions) + 1) // 2
        for row, widget in enumerate((self.progress, self.state, self.pruned, self.metrics,
                                      self.device)):
            grid.addWidget(widget, rows + row, 0, 1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)  # fits a 1024 px window's side column
        # the settings as tabs: all of them at once would not fit a projector's column
        self.settings = QTabWidget()
        self.settings.addTab(params, tr("Hyper-parameters"))
        self.settings.addTab(self.overfitting, tr("Overfitting"))
        self.settings.addTab(self.schedule, tr("Schedule"))
        self.settings.setTabToolTip(1, tr("Weight decay and early stopping"))
        self.settings.setTabToolTip(2, tr("How the learning rate moves over the run"))
        layout.addWidget(data)
        layout.addWidget(self.settings)
        layout.addWidget(run)
        layout.addStretch(1)

    def _connect(self) -> None:
        s = self.session
        self.optimizer.currentTextChanged.connect(lambda v: s.set_config(optimizer=v))
        self.learning_rate.valueChanged.connect(lambda v: s.set_config(learning_rate=v))
        self.batch_size.valueChanged.connect(lambda v: s.set_config(batch_size=v))
        self.epochs.valueChanged.connect(lambda v: s.set_config(epochs=v))
        self.seed.valueChanged.connect(lambda v: s.set_config(seed=v))
        for box in self.augment.values():
            box.toggled.connect(self._set_augment)
        s.config_changed.connect(self._show_config)
        s.run_changed.connect(self._show_run)
        s.data_changed.connect(self._show_run)
        s.history_reset.connect(self._show_run)
        s.history_reset.connect(self._forget_metrics)
        s.worker.snapshot.connect(self._on_snapshot)
        s.worker.device_found.connect(self._show_device)

    def _set_augment(self) -> None:
        self.session.set_config(augment=tuple(name for name, box in self.augment.items()
                                              if box.isChecked()))

    def _show_config(self) -> None:
        c = self.session.config
        for name, box in self.augment.items():
            box.blockSignals(True)
            box.setChecked(name in c.augment)
            box.blockSignals(False)
        for widget, value in ((self.optimizer, c.optimizer), (self.learning_rate, c.learning_rate),
                              (self.batch_size, c.batch_size), (self.epochs, c.epochs),
                              (self.seed, c.seed)):
            widget.blockSignals(True)  # showing the model's value is not an edit
            if isinstance(widget, QComboBox):
                widget.setCurrentText(value)
            else:
                widget.setValue(value)
            widget.blockSignals(False)

    def _show_device(self, device: str | None) -> None:
        self.device.setText(tr("Device: {device}", device=device) if device
                            else tr("Device: loading JAX…"))

    def _show_run(self) -> None:
        """Enable what may change now and show the progress the history records."""
        s = self.session
        for widget in (self.data, self.optimizer, self.batch_size, self.epochs, self.seed,
                       *self.augment.values()):
            widget.setEnabled(not s.active)
        self.overfitting.set_enabled(not s.active)
        self.schedule.set_enabled(not s.active)
        state = (str(STATE_TEXT[s.state]) if s.dataset is not None or s.active
                 else tr("Waiting for the data"))
        self.state.setText(f"{state}\n{s.warning}" if s.warning else state)
        share = s.pruned_share()
        self.pruned.setVisible(share is not None)
        if share is not None:
            self.pruned.setText(tr("Pruned {percent:.1f} %: pruned weights stay zero while it "
                                   "trains. Reset weights to train a dense network.",
                                   percent=100 * share))
        spe = s.steps_per_epoch()
        if spe and not s.active:
            self._show_progress(s.history.steps, spe, s.config.epochs, None)

    def _forget_metrics(self) -> None:
        """A new history (weights reset, a file opened): the last run's figures go. (Not
        on every change of the run: the session's history only follows a run at its
        checkpoints, so mid-run it still looks empty.)"""
        if not self.session.history.steps:
            self._metrics.clear()
            self.metrics.setText("")

    def _show_progress(self, step: int, steps_per_epoch: int, epochs: int,
                       eta: float | None) -> None:
        total = steps_per_epoch * epochs
        epoch = min(step // steps_per_epoch + 1, epochs)
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(min(step, total))
        if eta:
            text = tr("Epoch {epoch}/{epochs} · step {step:,}/{total:,} · ETA {eta}",
                      epoch=epoch, epochs=epochs, step=step, total=total,
                      eta=format_duration(eta))
        else:
            text = tr("Epoch {epoch}/{epochs} · step {step:,}/{total:,}", epoch=epoch,
                      epochs=epochs, step=step, total=total)
        self.progress.setFormat(text)

    def _on_snapshot(self, snap: Snapshot) -> None:
        """Note what the snapshot says; the widgets repaint at the throttle's pace."""
        self._latest = snap
        if snap.loss is not None:  # a snapshot at rest may have no new steps
            self._metrics["loss"] = tr("loss {loss:.3f} · accuracy {accuracy:.1%}",
                                       loss=snap.loss, accuracy=snap.accuracy)
            if snap.weight_decay_loss is not None:  # L2: its part of what is minimised
                self._metrics["loss"] += tr(" · + weight decay {part:.3f} (L2)",
                                            part=snap.weight_decay_loss)
        if snap.val_accuracy is not None:
            self._metrics["val"] = tr("validation {accuracy:.1%}", accuracy=snap.val_accuracy)
        if snap.images_per_second:
            self._metrics["speed"] = tr("{speed:,.0f} images/s", speed=snap.images_per_second)
        self._redraw.request()

    def _show_snapshot(self) -> None:
        snap = self._latest
        self._show_progress(snap.step, snap.steps_per_epoch, snap.epochs,
                            snap.eta_seconds if snap.state == RUNNING else None)
        self.metrics.setText(" · ".join(self._metrics[k] for k in ("loss", "val", "speed")
                                        if k in self._metrics))


if __name__ == "__main__":  # the panel on its own: data loads, JAX loads, no run controls
    from PyQt6.QtWidgets import QApplication

    from cnnviz.core.config import TrainConfig
    from cnnviz.core.presets import get_preset
    from cnnviz.data.registry import DEFAULT_DATASET
    from cnnviz.qt.dataset_loader import DatasetLoader
    from cnnviz.qt.network_model import NetworkModel
    from cnnviz.qt.worker import TrainingWorker

    app = QApplication([])
    worker, loader = TrainingWorker(), DatasetLoader()
    session = Session(NetworkModel(get_preset("tiny").spec), worker, loader, TrainConfig(),
                      DEFAULT_DATASET)
    panel = TrainingPanel(session, [])
    panel.show()
    session.load_data()
    worker.load_engine()
    app.exec()
    worker.shutdown(30)
    loader.shutdown(30)
