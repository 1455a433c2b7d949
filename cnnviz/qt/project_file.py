"""The project file behind the window: where it lives, whether it has unsaved changes,
the recently used files, and the translation between the window's models and an
io.Project. Reading and writing are io's (atomic, checksummed); no dialogs here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from PyQt6.QtCore import QObject, QSettings, pyqtSignal

from cnnviz.core.history import History
from cnnviz.core.i18n import tr
from cnnviz.core.presets import Preset
from cnnviz.io.project import Project, ProjectFileError, load_project, save_project
from cnnviz.qt.network_model import NetworkModel
from cnnviz.qt.session import Session

MAX_RECENT = 8
RECENT_KEY = "files/recent"


class ProjectFile(QObject):
    changed = pyqtSignal()  # path or modified flag: the window title

    def __init__(self, network: NetworkModel, session: Session, settings: QSettings,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.network, self.session, self.settings = network, session, settings
        self.path: Path | None = None
        self.modified = False
        self._extras: dict[str, bytes] = {}  # members other tools wrote; kept as they are
        # name: (get, put, parse), see register_extra
        self._owned: dict[str, tuple[Callable[[], bytes | None], Callable[[Any], object],
                                     Callable[[bytes], Any] | None]] = {}
        network.undo_stack.indexChanged.connect(self.mark_modified)
        session.edited.connect(self.mark_modified)

    def register_extra(self, name: str, get: Callable[[], bytes | None],
                       put: Callable[[Any], object],
                       parse: Callable[[bytes], Any] | None = None) -> None:
        """A further member of the file that another part of the window owns (e.g. the
        live views' replay): `get()` gives its bytes when saving (None: leave it out),
        `put(value)` takes it when a project is opened (None when it has none) or a new
        one is started. With `parse`, opening reads the bytes with it before anything
        changes (an exception refuses the file) and `put` gets what it returned."""
        self._owned[name] = (get, put, parse)

    def _read_extras(self, path: Path, extras: dict[str, bytes]) -> dict[str, Any]:
        """Each owned member of a project being opened, as its owner takes it."""
        values: dict[str, Any] = {}
        for name, (_, _, parse) in self._owned.items():
            data = extras.get(name)
            try:
                values[name] = data if data is None or parse is None else parse(data)
            except (ValueError, MemoryError) as exc:
                raise ProjectFileError(tr("{path}: extras/{name}: {reason}", path=path,
                                          name=name, reason=str(exc) or type(exc).__name__)
                                       ) from None
        return values

    def _hand_out(self, values: dict[str, Any]) -> None:
        for name, (_, put, _) in self._owned.items():
            put(values.get(name))

    @property
    def name(self) -> str:
        return self.path.name if self.path else tr("untitled")

    def mark_modified(self) -> None:
        if not self.modified:
            self.modified = True
            self.changed.emit()

    def _set(self, path: Path | None) -> None:
        self.path, self.modified = path, False
        if path is not None:
            self._add_recent(path)
        self.changed.emit()

    # -- documents ------------------------------------------------------------------------
    def new(self, preset: Preset) -> None:
        """The preset's network on the current data, untrained, with its settings."""
        s = self.session
        self.network.reset(self.network.fitted(preset.spec))
        config = replace(s.config, learning_rate=preset.learning_rate, epochs=preset.epochs)
        s.load_state(config, s.dataset_name, None, History())
        self._extras = {}
        self._hand_out({})
        self._set(None)

    def open(self, path: str | Path) -> list[str]:
        """All or nothing: everything in the file is read and checked (the members other
        parts of the window own included) before any of it replaces the open project.
        Raises ProjectFileError, with nothing changed, if any of it cannot be read.
        Returns notes on what was left out (a damaged optimizer state)."""
        path = Path(path)
        project = load_project(path)
        values = self._read_extras(path, project.extras)
        self.network.reset(project.spec)
        self.session.load_state(project.config, project.dataset, project.weights,
                                project.history, per_class=project.per_class,
                                runs=project.runs)
        self._extras = project.extras
        self._hand_out(values)
        self.session.keep_optimizer_state(project.optimizer_state)  # after the masks
        self._set(path)
        return project.notes

    def open_new(self, project: Project) -> None:
        """A project that has no file yet (e.g. an imported network): opened as it is,
        unsaved, so that Save asks where to put it."""
        self.network.reset(project.spec)
        self.session.load_state(project.config, project.dataset, project.weights,
                                project.history)
        self._extras = {}
        self._hand_out({})
        self._set(None)
        self.mark_modified()

    def save(self, path: str | Path) -> None:
        """Raises OSError if it cannot be written; the old file is then untouched."""
        s = self.session
        extras = dict(self._extras)
        for name, (get, _, _) in self._owned.items():
            data = get()
            if data is None:
                extras.pop(name, None)
            else:
                extras[name] = data
        save_project(path, Project(self.network.spec, s.config, s.dataset_name, s.weights,
                                   s.history, extras, s.runs.runs, s.per_class,
                                   s.optimizer_state()))
        self._extras = extras
        self._set(Path(path))

    # -- recent files --------------------------------------------------------------------
    def recent(self) -> list[str]:
        value = self.settings.value(RECENT_KEY, [])
        return [value] if isinstance(value, str) else list(value or [])

    def _add_recent(self, path: Path) -> None:
        entry = str(path.resolve())
        self.settings.setValue(RECENT_KEY, [entry, *(p for p in self.recent() if p != entry)
                                            ][:MAX_RECENT])

    def forget_recent(self, path: str) -> None:
        self.settings.setValue(RECENT_KEY, [p for p in self.recent() if p != path])
