"""The dataset picker: every dataset the registry lists, or a folder of the learner's own
images, with what it holds and how far loading (or downloading) has got."""

from __future__ import annotations

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QProgressBar,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from cnnviz.core.i18n import tr
from cnnviz.data.registry import FOLDER_PREFIX, DatasetInfo, list_datasets
from cnnviz.qt import dialogs
from cnnviz.qt.session import Session
from cnnviz.qt.widgets.wheel_guard import wheel_only_when_focused

MAX_PER_CLASS_FIELD = 100_000


def describe(info: DatasetInfo) -> str:
    h, w, c = info.input_shape
    values = dict(description=info.description, h=h, w=w, c=c, classes=info.num_classes,
                  size=info.size)
    if info.builtin:
        return tr("{description}. {h} × {w} × {c}, {classes} classes, {size:,} images; "
                  "built in.", **values)
    if info.cached():
        return tr("{description}. {h} × {w} × {c}, {classes} classes, {size:,} images; "
                  "downloaded.", **values)
    return tr("{description}. {h} × {w} × {c}, {classes} classes, {size:,} images; "
              "downloads once, then works offline.", **values)


class DataPicker(QWidget):
    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self._infos = {info.name: info for info in list_datasets()}
        self.combo = QComboBox()
        self.combo.setToolTip(tr("The images to train on. The network's input shape and its "
                                 "number of outputs follow the dataset you pick."))
        for name, info in self._infos.items():
            self.combo.addItem(name, name)
            self.combo.setItemData(self.combo.count() - 1, describe(info),
                                   Qt.ItemDataRole.ToolTipRole)
        self.combo.addItem(tr("Folder of images…"), None)
        wheel_only_when_focused(self.combo)
        self.combo.setItemData(self.combo.count() - 1, tr(
            "Your own images: one sub-folder per class (e.g. cats/, dogs/), resized to "
            "32 x 32."), Qt.ItemDataRole.ToolTipRole)
        self.about = QLabel()
        self.about.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.per_class = QSpinBox()
        self.per_class.setRange(0, MAX_PER_CLASS_FIELD)
        self.per_class.setSpecialValueText(tr("all"))
        self.per_class.setKeyboardTracking(False)
        self.per_class.setToolTip(tr(
            "Train on only this many images of each class (a slice drawn with the seed; "
            "validation and test stay whole): how fine-tuning meets a new task, and how a "
            "big network overfits. \"all\": every training image."))
        wheel_only_when_focused(self.per_class)
        per_class = QFormLayout()
        per_class.setContentsMargins(0, 0, 0, 0)
        per_class.addRow(tr("Images per class"), self.per_class)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.combo)
        layout.addLayout(per_class)
        layout.addWidget(self.about)
        layout.addWidget(self.progress)
        self.combo.activated.connect(self._on_activated)
        self.per_class.valueChanged.connect(lambda n: session.set_per_class(n or None))
        session.data_changed.connect(self._refresh)
        session.loader.progress.connect(self._on_progress)
        self._refresh()

    def _on_activated(self, index: int) -> None:
        name = self.combo.itemData(index)
        if name is None:
            folder = QFileDialog.getExistingDirectory(self, tr("Folder of images, one "
                                                         "sub-folder per class"))
            if not folder:
                self._refresh()  # back to the dataset in use
                return
            name = FOLDER_PREFIX + folder
        if self.session.switch_discards(name) and not dialogs.confirm(
                self, tr("Switch the data set?"),
                tr("Switch to {name}? The trained weights do not fit its images and classes.",
                   name=name.removeprefix(FOLDER_PREFIX)),
                tr("Training would start again from fresh weights. The curves of the run so "
                   "far stay on view, in grey, for comparison. (Save the project first to "
                   "keep the weights.)"), tr("Switch")):
            self._refresh()  # back to the dataset in use
            return
        self.session.select_dataset(name)

    def _refresh(self) -> None:
        name = self.session.dataset_name
        index = self.combo.findData(name)
        if index < 0:  # a folder: list it so the combo can show it
            self.combo.insertItem(self.combo.count() - 1, name.removeprefix(FOLDER_PREFIX), name)
            index = self.combo.count() - 2
        self.combo.setCurrentIndex(index)
        self.per_class.blockSignals(True)
        self.per_class.setValue(self.session.per_class or 0)
        self.per_class.blockSignals(False)
        dataset, error = self.session.dataset, self.session.data_error
        info = self._infos.get(name)
        if dataset is not None:
            h, w, c = dataset.input_shape
            self.about.setText(tr(
                "{description}. {h} × {w} × {c}, {classes} classes: {train:,} training, "
                "{val:,} validation, {test:,} test images.",
                description=info.description if info else dataset.description, h=h, w=w, c=c,
                classes=dataset.num_classes, train=len(dataset.x_train),
                val=len(dataset.x_val), test=len(dataset.x_test)))
            self.progress.hide()
        elif error:
            self.about.setText(tr("Could not load {name}: {error}", name=name, error=error))
            self.progress.hide()
        else:
            self.about.setText(describe(info) if info else tr("Reading {name}…", name=name))
            self.progress.setRange(0, 0)  # busy until the first progress report
            self.progress.setFormat(tr("Loading {name}…", name=name))
            self.progress.show()

    def _on_progress(self, done: int, total: int | None, message: str) -> None:
        if total:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * done / total))
            self.progress.setFormat(tr("{message}: {percent}", message=message, percent="%p%"))
        else:
            self.progress.setFormat(message)
