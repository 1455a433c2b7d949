"""The File menu's commands: new, open (and open recent), save, save as, and the offer to
save unsaved work before it is replaced or the window closes. The questions themselves
come from `dialogs`, the reading and writing from ProjectFile."""

from __future__ import annotations

import logging
from pathlib import Path

from PyQt6.QtCore import QObject, QSettings
from PyQt6.QtWidgets import QMainWindow, QMenu

from cnnviz.core.i18n import tr
from cnnviz.core.presets import DEFAULT_PRESET, get_preset
from cnnviz.io.atomic import WriteTargetError
from cnnviz.io.project import SUFFIX, ProjectFileError
from cnnviz.io.weights import WeightsError
from cnnviz.qt import dialogs
from cnnviz.qt.project_file import ProjectFile
from cnnviz.qt.worker import TrainingWorker

log = logging.getLogger(__name__)

STOP_S = 1.5  # how long to wait for a run to stop before its work is saved or dropped
LAST_DIR = "files/last_dir"


class FileCommands(QObject):
    def __init__(self, window: QMainWindow, file: ProjectFile, worker: TrainingWorker,
                 settings: QSettings, recent_menu: QMenu):
        super().__init__(window)
        self.window, self.file, self.worker, self.settings = window, file, worker, settings
        self.recent_menu = recent_menu
        recent_menu.aboutToShow.connect(self._fill_recent)

    def _status(self, text: str, ms: int = 5000) -> None:
        self.window.statusBar().showMessage(text, ms)

    def settle(self) -> bool:
        """Before unsaved work is replaced: offer to save it (stopping any run first).
        False if the user cancels."""
        active = self.file.session.active
        if not (self.file.modified or active):
            return True
        choice = dialogs.ask_save_changes(self.window, self.file.name, active)
        if choice == dialogs.CANCEL:
            return False
        self.worker.stop_and_wait(STOP_S)  # its final weights are what gets saved
        return choice == dialogs.DISCARD or self.save()

    def new(self) -> None:
        if self.settle():
            self.file.new(get_preset(DEFAULT_PRESET))
            self._status(tr("New project"))

    def open(self) -> None:
        if self.settle():
            path = dialogs.open_path(self.window, self._last_dir())
            if path:
                self.open_path(path)

    def open_path(self, path: str) -> bool:
        """Open the project at `path`; on any failure a dialog says why, and the open
        project stays as it was."""
        try:
            notes = self.file.open(path)
        except ProjectFileError as exc:
            dialogs.show_error(self.window, tr("Could not open the project"), str(exc))
            return False
        except Exception as exc:  # noqa: BLE001 - a failure reading outside data ends in a dialog
            log.exception("opening %s failed", path)
            dialogs.show_error(self.window, tr("Could not open the project"),
                               tr("{path}: {kind}: {reason}", path=path,
                                  kind=type(exc).__name__, reason=exc))
            return False
        self.settings.setValue(LAST_DIR, str(Path(path).parent))
        if notes:  # what was left out, long enough to be read
            self._status(tr("Opened {path}. {notes}", path=path, notes=" ".join(notes)),
                         20_000)
        else:
            self._status(tr("Opened {path}", path=path))
        return True

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for path in self.file.recent():
            action = self.recent_menu.addAction(Path(path).name)
            action.setStatusTip(path)
            action.triggered.connect(lambda _checked, p=path: self._open_recent(p))
        if not self.file.recent():
            self.recent_menu.addAction(tr("No recent projects")).setEnabled(False)

    def _open_recent(self, path: str) -> None:
        if self.settle() and not self.open_path(path):
            self.file.forget_recent(path)

    def save(self) -> bool:
        if self.file.path is None:
            return self.save_as()
        return self._write(self.file.path)

    def save_as(self) -> bool:
        suggested = Path(self._last_dir()) / f"{Path(self.file.name).stem}{SUFFIX}"
        path = dialogs.save_path(self.window, str(suggested))
        return path is not None and self._write(Path(path))

    def _write(self, path: Path) -> bool:
        try:
            self.file.save(path)
        except WriteTargetError as exc:  # names the file itself
            dialogs.show_error(self.window, tr("Could not save the project"), str(exc))
            return False
        except (OSError, WeightsError) as exc:
            dialogs.show_error(self.window, tr("Could not save the project"),
                               tr("{path}: {reason}", path=path,
                                  reason=getattr(exc, "strerror", None) or exc))
            return False
        self.settings.setValue(LAST_DIR, str(path.parent))
        self._status(tr("Saved {path}", path=path))
        return True

    def _last_dir(self) -> str:
        return str(self.settings.value(LAST_DIR, str(Path.home())))
