"""File > Export...: the trained network as files other tools read, in a dialog.

The learner picks the formats, a folder or a zip archive, and where; the export (io's)
runs in a thread of its own, so the window stays responsive, and is written whole or
not at all. The dialog reads the network and the weights when Export is pressed.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

from PyQt6.QtCore import QObject, QSettings, pyqtSignal
from PyQt6.QtGui import QAction, QCloseEvent, QKeySequence
from PyQt6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from cnnviz.core.compression_record import QuantizeStep
from cnnviz.core.i18n import tr
from cnnviz.core.snapshot import PAUSED
from cnnviz.io.export import FORMATS, ExportError, Trained, export_model
from cnnviz.io.export.bundle import INT8_ONNX, files_for, is_zip_path
from cnnviz.io.export.manifest import default_class_names
from cnnviz.qt import dialogs
from cnnviz.qt.network_model import NetworkModel
from cnnviz.qt.session import Session
from cnnviz.qt.worker import GeneratorThread

FORMATS_KEY, ZIP_KEY, DIR_KEY = "export/formats", "export/zip", "export/dir"


def format_labels() -> dict[str, tuple[str, str]]:
    """{format: (check box text, what it is)}."""
    return {
        "npz": (tr("NumPy arrays (.npz)"),
                tr("The weights, named by layer (conv1.kernel, ...), channels-last")),
        "safetensors": (tr("safetensors"),
                        tr("The same weights as a safetensors file, the manifest in its "
                           "metadata")),
        "onnx": (tr("ONNX graph"), tr("The whole network for onnxruntime, Netron and other "
                                      "tools; nodes named after the layers")),
        INT8_ONNX: (tr("ONNX graph, int8"),
                    tr("The network as quantized to int8 in the Compress workspace: int8 "
                       "weights and QuantizeLinear / DequantizeLinear, for onnxruntime")),
        "pytorch": (tr("PyTorch script"), tr("A standalone script that builds the network in "
                                             "PyTorch and loads the weights")),
        "keras": (tr("Keras 3 script"), tr("A standalone script that builds the network in "
                                           "Keras 3 and loads the weights")),
        "jax": (tr("JAX script"), tr("A standalone script that runs the network as plain "
                                     "JAX functions")),
    }


def ask_destination(parent: QWidget, suggested: str, as_zip: bool) -> str | None:
    """Where to write the export (a new folder's name, or a .zip file)."""
    title = tr("Export to a zip archive") if as_zip else tr("Export to a new folder")
    filters = tr("Zip archives (*.zip)") if as_zip else tr("A new folder (*)")
    path, _ = QFileDialog.getSaveFileName(parent, title, suggested, filters)
    return path or None


class ExportDialog(QDialog):
    exported = pyqtSignal(str)  # the path written

    def __init__(self, network: NetworkModel, session: Session, settings: QSettings,
                 name: str, parent: QWidget | None = None,
                 quantization: Callable[[], QuantizeStep | None] = lambda: None):
        """`quantization()`: the int8 quantization the weights are on, or None (then the
        int8 ONNX graph cannot be chosen)."""
        super().__init__(parent)
        self.network, self.session, self.settings = network, session, settings
        self.quantization = quantization
        self._thread: GeneratorThread | None = None
        self.setWindowTitle(tr("Export the trained network"))
        intro = QLabel(tr("Every export holds manifest.json (classes, input, normalisation, "
                          "layers), a few sample inputs with this app's logits for them, "
                          "and a README on loading it."))
        intro.setWordWrap(True)
        self.checks = self._format_boxes()
        self.folder = QRadioButton(tr("A folder"))
        self.zip = QRadioButton(tr("A zip archive of the folder"))
        kinds = QButtonGroup(self)
        for button in (self.folder, self.zip):
            kinds.addButton(button)
        as_zip = settings.value(ZIP_KEY, False, type=bool)
        (self.zip if as_zip else self.folder).setChecked(True)
        base = Path(str(settings.value(DIR_KEY, str(Path.home())))) / tr(
            "{name}-export", name=Path(name).stem)  # a folder's name, in the user's words
        self.path = QLineEdit(str(base.with_suffix(".zip") if as_zip else base))
        self.path.setMinimumWidth(420)
        browse = QPushButton(tr("Browse…"))
        browse.clicked.connect(self._browse)
        self.files = QLabel()
        self.files.setWordWrap(True)
        self.reason = QLabel()
        self.reason.setWordWrap(True)
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)  # no measure of progress: a busy indicator
        self.busy.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.export_button = self.buttons.addButton(tr("Export"),
                                                    QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self._export)
        self.buttons.rejected.connect(self.reject)
        self._lay_out(intro, browse)
        for box in self.checks.values():
            box.toggled.connect(self._update)
        self.zip.toggled.connect(self._kind_changed)
        self.path.textChanged.connect(self._update)
        session.run_changed.connect(self._update)
        self._update()

    def _format_boxes(self) -> dict[str, QCheckBox]:
        chosen = self.settings.value(FORMATS_KEY, list(FORMATS))
        chosen = [chosen] if isinstance(chosen, str) else list(chosen or [])
        boxes = {}
        for fmt, (text, tip) in format_labels().items():
            box = QCheckBox(text)
            box.setToolTip(tip)
            box.setChecked(fmt in chosen)
            boxes[fmt] = box
        return boxes

    def _lay_out(self, intro: QLabel, browse: QPushButton) -> None:
        formats = QGroupBox(tr("Formats"))
        grid = QGridLayout(formats)
        for i, box in enumerate(self.checks.values()):
            grid.addWidget(box, i % 3, i // 3)
        where = QGroupBox(tr("Save as"))
        column = QVBoxLayout(where)
        kinds = QHBoxLayout()
        kinds.addWidget(self.folder)
        kinds.addWidget(self.zip)
        kinds.addStretch()
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        column.addLayout(kinds)
        column.addLayout(row)
        column.addWidget(self.files)
        layout = QVBoxLayout(self)
        for widget in (intro, formats, where, self.reason, self.busy, self.buttons):
            layout.addWidget(widget)

    # -- state -------------------------------------------------------------------------
    def formats(self) -> list[str]:
        return [fmt for fmt, box in self.checks.items() if box.isChecked() and box.isEnabled()]

    def destination(self) -> Path:
        return Path(self.path.text().strip()).expanduser()

    def blocker(self) -> str | None:
        """Why Export cannot run now, or None."""
        s = self.session
        if s.weights is None:
            return tr("Train the network first: an export holds trained weights.")
        if s.active and s.state != PAUSED:
            return tr("Pause or stop training first.")
        if not self.formats():
            return tr("Choose at least one format.")
        if not self.path.text().strip():
            return tr("Choose where to write the export.")
        return None

    def _update(self) -> None:
        running = self._thread is not None
        int8 = self.checks[INT8_ONNX]
        int8.setEnabled(not running and self.quantization() is not None)
        int8.setToolTip(format_labels()[INT8_ONNX][1] if int8.isEnabled() else tr(
            "Only for a model quantized to int8: quantize it in the Compress workspace"))
        blocker = self.blocker()
        self.export_button.setEnabled(blocker is None and not running)
        self.reason.setText(blocker or "")
        self.reason.setVisible(blocker is not None)
        if self.formats():
            where = self.destination().name or "…"
            self.files.setText(tr("{where} will hold: {files}", where=where,
                                  files=", ".join(files_for(self.formats()))))
        else:
            self.files.setText("")

    def _kind_changed(self, as_zip: bool) -> None:
        """Keep the name, change what it is: `name` <-> `name.zip`."""
        path = self.destination()
        if self.path.text().strip():
            is_zip = is_zip_path(path)
            if as_zip and not is_zip:
                self.path.setText(str(path.with_name(path.name + ".zip")))
            elif not as_zip and is_zip:
                self.path.setText(str(path.with_suffix("")))
        self._update()

    def _browse(self) -> None:
        path = ask_destination(self, self.path.text(), self.zip.isChecked())
        if path:
            self.path.setText(path)

    # -- exporting -----------------------------------------------------------------------
    def _trained(self) -> tuple[Trained, object]:
        """The network and weights as they are now, the data's class names and test
        images if they fit it."""
        s, spec = self.session, self.network.spec
        classes = spec.analyze().output_shape[0]
        data = s.dataset
        fits = data is not None and data.num_classes == classes and (
            data.input_shape == tuple(spec.input_shape))
        names = data.class_names if fits else default_class_names(classes)
        return (Trained.from_history(spec, s.weights, tuple(names), s.dataset_name, s.history,
                                     self.quantization()), data.x_test if fits else None)

    def _export(self) -> None:
        if self.blocker() is not None or self._thread is not None:
            return
        trained, images = self._trained()
        out, formats = self.destination(), self.formats()
        self.settings.setValue(FORMATS_KEY, formats)
        self.settings.setValue(ZIP_KEY, self.zip.isChecked())
        self.settings.setValue(DIR_KEY, str(out.parent))
        thread = GeneratorThread(partial(export_model, trained, formats, out,
                                         Path(out.name).stem, images), "export")
        thread.returned.connect(self._done)
        thread.errored.connect(self._failed)
        thread.finished.connect(self._finished)
        self._thread = thread
        self._set_running(True)
        thread.start()

    def _set_running(self, running: bool) -> None:
        self.busy.setVisible(running)
        for widget in (*self.checks.values(), self.folder, self.zip, self.path):
            widget.setEnabled(not running)  # (_update then enables the int8 graph or not)
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setEnabled(not running)
        self._update()

    def _done(self, path: Path) -> None:
        self.exported.emit(str(path))
        self.accept()

    def _failed(self, exc: Exception) -> None:
        message = str(exc) if isinstance(exc, ExportError | ValueError | OSError) else (
            f"{type(exc).__name__}: {exc}")
        dialogs.show_error(self, tr("Could not export"), message)

    def _finished(self) -> None:
        self._thread = None
        self._set_running(False)

    def wait(self, timeout_s: float) -> bool:
        """Wait for a running export to end; True if none runs any more."""
        return self._thread is None or self._thread.wait(timeout_s)

    def reject(self) -> None:
        if self._thread is None:  # an export is short and cannot be stopped halfway
            super().reject()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._thread is not None:
            event.ignore()
        else:
            super().closeEvent(event)


class ExportCommand(QObject):
    """The File menu's Export… action: enabled when there are trained weights."""

    def __init__(self, window: QMainWindow, network: NetworkModel, session: Session,
                 settings: QSettings, name: Callable[[], str]):
        super().__init__(window)
        self.window, self.network, self.session, self.settings = (window, network, session,
                                                                  settings)
        self._name = name
        # the int8 quantization the weights are on, or None (the Compress workspace says)
        self.quantization: Callable[[], QuantizeStep | None] = lambda: None
        self.dialog: ExportDialog | None = None
        self.action = QAction(tr("&Export…"), window)
        self.action.setShortcut(QKeySequence("Ctrl+E"))
        self.action.setStatusTip(tr("Save the trained network for PyTorch, Keras, JAX, ONNX "
                                    "or NumPy"))
        self.action.triggered.connect(self.open)
        session.run_changed.connect(self._update)
        self._update()

    def _update(self) -> None:
        s = self.session
        ready = s.weights is not None and (not s.active or s.state == PAUSED)
        self.action.setEnabled(ready)
        self.action.setToolTip(tr("Export the trained network (Ctrl+E)") if ready else
                               tr("Export: train the network first (or pause training)"))

    def wait(self, timeout_s: float) -> bool:
        """Wait for an export in progress to end; True if none runs any more."""
        return self.dialog is None or self.dialog.wait(timeout_s)

    def open(self) -> None:
        self.dialog = ExportDialog(self.network, self.session, self.settings, self._name(),
                                   self.window, self.quantization)
        self.dialog.exported.connect(
            lambda path: self.window.statusBar().showMessage(tr("Exported to {path}",
                                                                path=path), 8000))
        self.dialog.finished.connect(self._closed)
        self.dialog.open()

    def _closed(self) -> None:
        self.dialog.deleteLater()
        self.dialog = None


if __name__ == "__main__":
    import sys

    from PyQt6.QtWidgets import QApplication

    from cnnviz.core.config import TrainConfig
    from cnnviz.core.presets import get_preset
    from cnnviz.qt.dataset_loader import DatasetLoader
    from cnnviz.qt.worker import TrainingWorker

    app = QApplication(sys.argv)
    preview_network = NetworkModel(get_preset("tiny").spec)
    preview_session = Session(preview_network, TrainingWorker(), DatasetLoader(), TrainConfig(),
                              "shapes")  # untrained: the dialog says why Export waits
    ExportDialog(preview_network, preview_session, QSettings(), "preview").show()
    sys.exit(app.exec())
