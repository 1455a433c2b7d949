"""Train > Fine-tune...: reuse a trained network on other data.

The learner picks the trained network (this project's, or a project or model file, e.g.
an imported Keras model), the new data set (all of it or a few images per class), how
many layers stay frozen from the input (all but the head by default) and the learning
rate (a tenth of it is suggested when trained layers train again). The plan is
core.fine_tune's, worked out again at each change: what does not fit says so at once,
and Fine-tune stays off until it does. Nothing changes before Fine-tune is pressed.
"""

from __future__ import annotations

from dataclasses import replace
from html import escape
from pathlib import Path

from PyQt6.QtCore import QSettings
from PyQt6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from cnnviz.core.config import MAX_EPOCHS, TrainConfig
from cnnviz.core.fine_tune import (
    FineTuneError,
    FineTunePlan,
    head_index,
    needs_new_head,
    plan_fine_tune,
    suggested_learning_rate,
    weighted_layers,
)
from cnnviz.core.i18n import tr
from cnnviz.core.shapes import fmt_shape
from cnnviz.data.registry import FOLDER_PREFIX, known_classes, list_datasets
from cnnviz.io.imports import ModelImportError
from cnnviz.io.project import Project, ProjectFileError
from cnnviz.io.trained import Trained, UntrainedError, read_trained, trained_project
from cnnviz.qt import dialogs
from cnnviz.qt.session import Session

DIR_KEY = "fine-tune/dir"
ERROR_STYLE = "color: #c0392b"


class FineTuneDialog(QDialog):
    """On accept, `fine_tune()` hands the plan to the session."""

    def __init__(self, session: Session, settings: QSettings, parent: QWidget | None = None):
        super().__init__(parent)
        self.session, self.settings = session, settings
        self.setWindowTitle(tr("Fine-tune a trained network"))
        self.trained: Trained | None = self._this_project()
        self.source = QComboBox()
        self.source.addItem(self.trained.name if self.trained else tr("(this project is not "
                                                                      "trained yet)"))
        self.browse = QPushButton(tr("Choose a file…"))
        self.browse.setToolTip(tr("A trained .cnnviz project, or a model file File > Import "
                                  "reads (Keras .keras / .h5, ONNX, an export)"))
        self.data = QComboBox()
        for info in list_datasets():
            self.data.addItem(tr("{name} ({shape}, {classes} classes)", name=info.name,
                                 shape=fmt_shape(info.input_shape), classes=info.num_classes),
                              (info.name, info.input_shape, info.class_names))
        self._add_folder()
        self.per_class = QSpinBox()
        self.per_class.setRange(0, 100_000)
        self.per_class.setSpecialValueText(tr("all"))
        self.per_class.setToolTip(tr("Train on this many images of each class (a seeded "
                                     "slice; validation and test stay whole)"))
        self.per_class.setValue(session.per_class or 0)
        self.new_head = QCheckBox(tr("New head: the last Dense layer replaced, initialised "
                                     "fresh"))
        self.frozen = QSpinBox()
        self.frozen.setToolTip(tr("How many layers with weights, from the input, keep their "
                                  "trained weights"))
        self.layers = QLabel()
        self.layers.setWordWrap(True)
        self.learning_rate = QDoubleSpinBox()
        self.learning_rate.setDecimals(6)
        self.learning_rate.setRange(1e-6, 10.0)
        self.learning_rate.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
        self.rate_note = QLabel()
        self.rate_note.setWordWrap(True)
        self.epochs = QSpinBox()
        self.epochs.setRange(1, MAX_EPOCHS)
        self.epochs.setValue(session.config.epochs)
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet(ERROR_STYLE)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.go = self.buttons.addButton(tr("Fine-tune"), QDialogButtonBox.ButtonRole.AcceptRole)
        source = QHBoxLayout()
        source.addWidget(self.source, 1)
        source.addWidget(self.browse)
        form = QFormLayout()
        form.addRow(tr("Trained network"), source)
        form.addRow(tr("New data"), self.data)
        form.addRow(tr("Images per class"), self.per_class)
        form.addRow("", self.new_head)
        form.addRow(tr("Frozen layers"), self.frozen)
        form.addRow("", self.layers)
        form.addRow(tr("Learning rate"), self.learning_rate)
        form.addRow("", self.rate_note)
        form.addRow(tr("Epochs"), self.epochs)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        self._rate_edited = False
        self.browse.clicked.connect(self._choose_file)
        self.data.currentIndexChanged.connect(lambda _: self._source_changed())
        self.new_head.toggled.connect(lambda _: self._update())
        self.frozen.valueChanged.connect(lambda _: self._update())
        self.learning_rate.valueChanged.connect(self._rate_changed)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self._select_current_data()
        self._source_changed()

    # -- what to fine-tune ---------------------------------------------------------------
    def _this_project(self) -> Trained | None:
        s = self.session
        if s.weights is None:
            return None
        current = s.runs.get(s.runs.current) if s.runs.current is not None else None
        name = current.name if current is not None else tr("this project")
        trained = trained_project(Project(s.network.spec, s.config, s.dataset_name, s.weights,
                                          s.history), name)
        classes = s.dataset.class_names if s.dataset is not None else None
        return replace(trained, class_names=classes)

    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, tr("A trained network to fine-tune"), str(self.settings.value(DIR_KEY, "")),
            tr("Trained networks (*.cnnviz *.keras *.h5 *.onnx *.zip *.safetensors *.npz);;"
               "All files (*)"))
        if path:
            self.use_file(path)

    def use_file(self, path: str) -> None:
        """Fine-tune the network in `path`; a file that holds none says why, here."""
        try:
            trained = read_trained(path)
        except (ProjectFileError, ModelImportError, UntrainedError) as exc:
            self.problem.setText(escape(str(exc)))
            return
        self.settings.setValue(DIR_KEY, str(Path(path).parent))
        self.trained = trained
        self.source.clear()
        self.source.addItem(trained.name)
        self._source_changed()

    def _add_folder(self) -> None:
        s = self.session
        if s.dataset_name.startswith(FOLDER_PREFIX) and s.dataset is not None:
            self.data.addItem(s.dataset_name.removeprefix(FOLDER_PREFIX),
                              (s.dataset_name, s.dataset.input_shape, s.dataset.class_names))

    def _select_current_data(self) -> None:
        for i in range(self.data.count()):
            if self.data.itemData(i)[0] == self.session.dataset_name:
                self.data.setCurrentIndex(i)

    # -- the plan ---------------------------------------------------------------------------
    def target(self) -> tuple[str, tuple[int, int, int], tuple[str, ...]]:
        """(name, input shape, class names) of the data chosen."""
        return self.data.currentData()

    def _source_changed(self) -> None:
        """A new network or data: the head, the frozen layers and the rate as suggested."""
        trained = self.trained
        self.frozen.blockSignals(True)
        self.new_head.blockSignals(True)
        if trained is not None:
            count = len(weighted_layers(trained.spec))
            self.frozen.setRange(0, count)
            self.frozen.setValue(max(count - 1, 0))
            _, _, classes = self.target()
            self.new_head.setChecked(needs_new_head(
                trained.class_names or known_classes(trained.dataset), classes))
        self.frozen.blockSignals(False)
        self.new_head.blockSignals(False)
        self._rate_edited = False
        self._update()

    def plan(self) -> FineTunePlan | None:
        """The fine-tuning as chosen; None (and the reason shown) if it cannot be."""
        if self.trained is None:
            self.problem.setText(tr("This project has no trained weights yet: train it "
                                    "first, or choose a file."))
            return None
        _, shape, classes = self.target()
        try:
            plan = plan_fine_tune(self.trained.spec, self.trained.weights, shape, len(classes),
                                  new_head=self.new_head.isChecked(),
                                  frozen=self.frozen.value(), seed=self.session.config.seed)
        except FineTuneError as exc:
            self.problem.setText(escape(str(exc)))
            return None
        self.problem.setText("")
        return plan

    def _update(self) -> None:
        trained = self.trained
        forced = trained is not None and self._head_units() != len(self.target()[2])
        self.new_head.setEnabled(not forced)
        if forced:  # a head sized for the old classes cannot score the new ones
            self.new_head.blockSignals(True)
            self.new_head.setChecked(True)
            self.new_head.blockSignals(False)
        plan = self.plan()
        self.go.setEnabled(plan is not None)
        if plan is None:
            self.layers.setText("")
            return
        trained_names = [n for n in plan.weighted if n not in plan.frozen_names]
        self.layers.setText(tr("Frozen: {frozen}. Trained: {trained}.",
                               frozen=", ".join(plan.frozen_names) or tr("none"),
                               trained=", ".join(trained_names)))
        base = trained.config.learning_rate  # type: ignore[union-attr]
        suggested = suggested_learning_rate(base, plan)
        if not self._rate_edited:
            self.learning_rate.blockSignals(True)
            self.learning_rate.setValue(suggested)
            self.learning_rate.blockSignals(False)
        self.rate_note.setText(
            tr("Suggested {rate:g}: a tenth of the {base:g} it was trained with, since "
               "trained layers train again and large steps would undo them.",
               rate=suggested, base=base) if plan.trains_base else
            tr("Suggested {rate:g}, as it was trained: only the new layers train.",
               rate=suggested))

    def _head_units(self) -> int | None:
        try:
            return self.trained.spec.layers[head_index(self.trained.spec)].units
        except FineTuneError:
            return None

    def _rate_changed(self) -> None:
        self._rate_edited = True

    # -- doing it ------------------------------------------------------------------------------
    def fine_tune(self) -> bool:
        """Hand the plan to the session; False if there is none."""
        plan = self.plan()
        if plan is None or self.trained is None:
            return False
        name, _, _ = self.target()
        per_class = self.per_class.value() or None
        config: TrainConfig = replace(self.session.config,
                                      learning_rate=self.learning_rate.value(),
                                      epochs=self.epochs.value())
        self.session.fine_tune(plan.spec, plan.weights, config, name, per_class,
                               self.trained.name)
        return True


def open_fine_tune(parent: QWidget, session: Session, settings: QSettings) -> bool:
    """Train > Fine-tune...: the dialog, then (once pressed) the network set up to
    fine-tune; True if it was. Trained weights that no kept run holds are not replaced
    without asking."""
    dialog = FineTuneDialog(session, settings, parent)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return False
    if session.untracked_weights() and not dialogs.confirm(
            parent, tr("Replace the trained weights?"),
            tr("Replace the network and its trained weights?"),
            tr("They were not trained in a run this project keeps; save the project first "
               "to keep them."), tr("Replace")):
        return False
    return dialog.fine_tune()
