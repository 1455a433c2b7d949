"""The project file behind the window: where it lives, whether it has unsaved changes,
the recently used files, and the translation between the window's models and an
io.Project. Reading and writing are io's (atomic, checksummed); no dialogs here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from PyQt6.QtCore import QObject, QSettings, pyqtSignal

from cnnviz.core.history import History
from cnnviz.core.presets import Preset
from cnnviz.io.project import Project, load_project, save_project
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
        self._owned: dict[str, tuple[Callable[[], bytes | None],
                                     Callable[[bytes | None], object]]] = {}
        network.undo_stack.indexChanged.connect(self.mark_modified)
        session.edited.connect(self.mark_modified)

    def register_extra(self, name: str, get: Callable[[], bytes | None],
                       put: Callable[[bytes | None], object]) -> None:
        """A further member of the file that another part of the window owns (e.g. the
        live views' replay): `get()` gives its bytes when saving (None: leave it out),
        `put(data)` takes them when a project is opened (None when it has none) or a
        new one is started."""
        self._owned[name] = (get, put)

    def _hand_out_extras(self) -> None:
        for name, (_, put) in self._owned.items():
            put(self._extras.get(name))

    @property
    def name(self) -> str:
        return self.path.name if self.path else "untitled"

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
        self._hand_out_extras()
        self._set(None)

    def open(self, path: str | Path) -> None:
        """Raises ProjectFileError, with nothing changed, if the file cannot be read."""
        project = load_project(path)
        self.network.reset(project.spec)
        self.session.load_state(project.config, project.dataset, project.weights,
                                project.history)
        self._extras = project.extras
        self._hand_out_extras()
        self._set(Path(path))

    def save(self, path: str | Path) -> None:
        """Raises OSError if it cannot be written; the old file is then untouched."""
        s = self.session
        extras = dict(self._extras)
        for name, (get, _) in self._owned.items():
            data = get()
            if data is None:
                extras.pop(name, None)
            else:
                extras[name] = data
        save_project(path, Project(self.network.spec, s.config, s.dataset_name, s.weights,
                                   s.history, extras))
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
