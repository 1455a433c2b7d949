"""File > Import...: a network made elsewhere (Keras, ONNX, or this app's own export)
opened as a new, unsaved project, its layers in the builder, ready to step through,
evaluate or fine-tune.

The unsaved work is offered for saving first; the file is read (io's) in a thread of its
own; only a complete and valid import replaces the open project. What does not fit is
shown as a table in a dialog, and nothing changes.
"""

from __future__ import annotations

from functools import partial
from html import escape
from pathlib import Path

from PyQt6.QtCore import QObject, QSettings, Qt
from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtWidgets import QFileDialog, QMainWindow, QMenu, QMessageBox, QWidget

from cnnviz.core.i18n import tr
from cnnviz.data.registry import list_datasets
from cnnviz.io.imports import Imported, MismatchError, import_model
from cnnviz.io.imports.dataset_choice import pick_dataset
from cnnviz.io.project import Project
from cnnviz.qt import dialogs
from cnnviz.qt.export_dialog import ExportCommand
from cnnviz.qt.file_commands import FileCommands
from cnnviz.qt.project_file import ProjectFile
from cnnviz.qt.worker import GeneratorThread

DIR_KEY = "import/dir"


def ask_path(parent: QWidget, directory: str) -> str | None:
    """The file to import; an export folder is chosen by its manifest.json."""
    models = tr("Networks (*.keras *.h5 *.onnx *.zip *.safetensors *.npz manifest.json)")
    path, _ = QFileDialog.getOpenFileName(parent, tr("Import a network"), directory,
                                          f"{models};;{tr('All files (*)')}")
    return path or None


def show_problems(parent: QWidget, error: MismatchError) -> QMessageBox:
    """What does not fit, as a table, in a non-modal box."""
    first, _, rest = str(error).partition("\n")
    box = QMessageBox(QMessageBox.Icon.Warning, tr("Could not import"), escape(first),
                      parent=parent)
    box.setTextFormat(Qt.TextFormat.RichText)
    box.setInformativeText(f"<pre>{escape(rest)}</pre>"
                           + tr("Nothing was changed."))
    box.setWindowModality(Qt.WindowModality.NonModal)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.show()
    return box


def show_notes(parent: QWidget, imported: Imported, dataset: str,
               notes: tuple[str, ...]) -> QMessageBox:
    """What the learner should know about the imported network (`notes`), in a
    non-modal box."""
    params = imported.spec.analyze().total_params
    box = QMessageBox(QMessageBox.Icon.Information, tr("Imported"),
                      tr("{source}: {layers} layers, {params} parameters, on {dataset}.",
                         source=imported.source, layers=len(imported.spec.layers),
                         params=f"{params:,}", dataset=dataset), parent=parent)
    box.setInformativeText("\n".join(f"• {note}" for note in notes))
    box.setWindowModality(Qt.WindowModality.NonModal)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.show()
    return box


class ImportCommand(QObject):
    """The File menu's Import… action. A weights-only file (.weights.h5, an .npz without
    its manifest) goes onto the network in the builder."""

    def __init__(self, window: QMainWindow, files: FileCommands, file: ProjectFile,
                 settings: QSettings):
        super().__init__(window)
        self.window, self.files, self.file, self.settings = window, files, file, settings
        self._thread: GeneratorThread | None = None
        self.action = QAction(tr("&Import…"), window)
        self.action.setShortcut(QKeySequence("Ctrl+I"))
        tip = tr("Open a network made in Keras (.keras, .h5), exported to ONNX, or exported "
                 "by this app")
        self.action.setStatusTip(tip)
        self.action.setToolTip(tr("{action} ({shortcut})", action=tip, shortcut="Ctrl+I"))
        self.action.triggered.connect(self.run)

    def run(self) -> None:
        if self._thread is not None or not self.files.settle():
            return
        path = ask_path(self.window, str(self.settings.value(DIR_KEY, str(Path.home()))))
        if path:
            self.start(path)

    def start(self, path: str) -> None:
        """Read `path` in the background; the project changes only if it imports."""
        self.settings.setValue(DIR_KEY, str(Path(path).parent))
        self.action.setEnabled(False)
        self.window.statusBar().showMessage(tr("Importing {path}…", path=path))
        thread = GeneratorThread(partial(import_model, path, self.file.network.spec),
                                 "import")
        thread.returned.connect(self._open)
        thread.errored.connect(self._failed)
        thread.finished.connect(self._finished)
        self._thread = thread
        thread.start()

    def _open(self, imported: Imported) -> None:
        session, notes = self.file.session, imported.notes
        dataset = pick_dataset(imported, list_datasets())
        if dataset is None:
            dataset = session.dataset_name
            analysis = imported.spec.analyze()
            notes += (tr("no dataset has {shape} images in {count} classes; choose data that "
                         "fits before training (a folder of your own images, resized)",
                         shape="x".join(map(str, imported.spec.input_shape)),
                         count=analysis.output_shape[0]),)
        self.file.open_new(Project(imported.spec, session.config, dataset, imported.weights))
        self.window.statusBar().showMessage(tr("Imported {source}", source=imported.source),
                                            8000)
        show_notes(self.window, imported, dataset, notes)

    def _failed(self, exc: Exception) -> None:
        self.window.statusBar().clearMessage()
        if isinstance(exc, MismatchError):
            show_problems(self.window, exc)
        else:
            dialogs.show_error(self.window, tr("Could not import"),
                               str(exc) if isinstance(exc, ValueError | OSError)
                               else f"{type(exc).__name__}: {exc}")

    def _finished(self) -> None:
        self._thread = None
        self.action.setEnabled(True)

    def wait(self, timeout_s: float) -> bool:
        """Wait for a running import to end; True if none runs any more."""
        return self._thread is None or self._thread.wait(timeout_s)


def add_import_export(window, menu: QMenu) -> tuple[ImportCommand, ExportCommand]:
    """File > Import… and Export… in `menu`, for the main window `window`; their
    background work ends with the window's."""
    importer = ImportCommand(window, window.files, window.file, window.settings)
    exporter = ExportCommand(window, window.network, window.session, window.settings,
                             lambda: window.file.name)
    menu.addActions([importer.action, exporter.action])
    window.add_shutdown(importer.wait)
    window.add_shutdown(exporter.wait)
    return importer, exporter
