"""Every question and message box the window shows, in one place.

The window calls these through the module (``dialogs.ask_save_changes(...)``), so tests
can replace them with answers instead of blocking on a modal dialog.
"""

from __future__ import annotations

from pathlib import Path

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QFileDialog, QMessageBox, QWidget

from cnnviz.core.i18n import tr
from cnnviz.io.project import SUFFIX

SAVE, DISCARD, CANCEL = "save", "discard", "cancel"


def project_filter() -> str:
    """The file dialogs' choice of files: projects, or any."""
    return tr("cnnviz projects (*{suffix});;All files (*)", suffix=SUFFIX)


def ask_save_changes(parent: QWidget, name: str, training: bool) -> str:
    """SAVE, DISCARD or CANCEL."""
    box = QMessageBox(QMessageBox.Icon.Warning, tr("Unsaved changes"),
                      tr("Save the changes to {name}?", name=name), parent=parent)
    box.setInformativeText(tr("The training run will be stopped first.") if training else
                           tr("Your changes are lost if you don't save them."))
    box.setStandardButtons(QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                           | QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(QMessageBox.StandardButton.Save)
    answer = box.exec()
    if answer == QMessageBox.StandardButton.Save:
        return SAVE
    return DISCARD if answer == QMessageBox.StandardButton.Discard else CANCEL


def confirm(parent: QWidget, title: str, question: str, detail: str, accept: str) -> bool:
    """Whether the user goes ahead (the `accept` button) rather than cancels."""
    box = QMessageBox(QMessageBox.Icon.Question, title, question, parent=parent)
    box.setInformativeText(detail)
    go = box.addButton(accept, QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(go)
    box.exec()
    return box.clickedButton() is go


def show_error(parent: QWidget, title: str, message: str) -> QMessageBox:
    """A non-modal error box: the window stays usable behind it."""
    box = QMessageBox(QMessageBox.Icon.Critical, title, message, parent=parent)
    box.setWindowModality(Qt.WindowModality.NonModal)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.show()
    return box


def open_path(parent: QWidget, directory: str) -> str | None:
    path, _ = QFileDialog.getOpenFileName(parent, tr("Open project"), directory,
                                          project_filter())
    return path or None


def save_path(parent: QWidget, suggested: str) -> str | None:
    path, _ = QFileDialog.getSaveFileName(parent, tr("Save project"), suggested,
                                          project_filter())
    if not path:
        return None
    return path if Path(path).suffix else path + SUFFIX


def show_about(parent: QWidget) -> None:
    QMessageBox.about(parent, tr("About cnnviz"), tr(
        "<h3>cnnviz</h3><p>Build a convolutional neural network, train it with JAX and "
        "watch it learn.</p><p>Hover over any control for what it does; the Output and "
        "Params columns explain their numbers.</p>"))
