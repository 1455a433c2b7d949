"""The main window: the models, the panels around them, menus, files and shutdown.

Panels are docks (`add_dock`) or tabs of the central area (`add_tab`); a live view
subscribes to `window.worker.snapshot`, the one stream of training data. The window
computes nothing about the model itself: core analyses the network, the engine trains
it in the worker's thread, io reads and writes the files.
"""

from __future__ import annotations

import gc
from collections.abc import Callable

from PyQt6.QtCore import QSettings, QSize, Qt, QTimer
from PyQt6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PyQt6.QtWidgets import QApplication, QDockWidget, QMainWindow, QTabWidget, QWidget

from cnnviz.core.i18n import marked, tr, translate
from cnnviz.core.presets import DEFAULT_PRESET, PRESETS, get_preset
from cnnviz.core.snapshot import COMPILING, PAUSED, RUNNING
from cnnviz.data.dataset import Dataset
from cnnviz.data.registry import load_dataset
from cnnviz.qt import choices, dialogs
from cnnviz.qt.actions import Icon, make_actions
from cnnviz.qt.dataset_loader import DatasetLoader
from cnnviz.qt.examples import add_examples
from cnnviz.qt.file_commands import FileCommands
from cnnviz.qt.fine_tune_dialog import open_fine_tune
from cnnviz.qt.import_command import add_import_export
from cnnviz.qt.network_model import NetworkModel
from cnnviz.qt.presentation import Presentation, set_graphics_font
from cnnviz.qt.project_file import ProjectFile
from cnnviz.qt.scrollable import scrollable
from cnnviz.qt.session import AGAIN, CONTINUE, Session
from cnnviz.qt.theme import THEMES, CompactTabs, apply_font_scale, apply_theme, font_scale_step
from cnnviz.qt.widgets.builder import ArchitectureBuilder
from cnnviz.qt.widgets.curves import CurvesPanel
from cnnviz.qt.widgets.runs import RunsPanel
from cnnviz.qt.widgets.training_panel import TrainingPanel
from cnnviz.qt.worker import TrainingWorker

START_TEXT = {CONTINUE: marked("Continue"), AGAIN: marked("Train again")}
# The version of the saved dock layout: a layout saved by an older version (with other
# columns) is not restored, the current default is used instead.
LAYOUT_VERSION = 1
FONT_SCALE_KEY = "view/font_scale"
# Short tab titles, so that every tab of the central area fits a 1024 px window; the
# whole title is the tab's tooltip. A view's title is its key (in `panels`, in a dock's
# objectName, which the saved layout refers to): English, marked where it is defined and
# shown translated, so that a layout saved in one language is restored in another.
TAB_TITLES = {"Training curves": marked("Curves"), "Weights and gradients": marked("Weights")}
SHUTDOWN_S = 1.5  # closing must end within 2 s; a training dispatch takes far less


def first_size() -> QSize:
    """The window's size before any is remembered: most of the screen, up to 1600x1000."""
    screen = QApplication.primaryScreen()
    room = screen.availableGeometry().size() if screen else QSize(1600, 1000)
    return QSize(min(1600, int(room.width() * 0.92)), min(1000, int(room.height() * 0.92)))


class MainWindow(QMainWindow):
    """The window around one project. `settings` is where layout and last choices live
    (tests pass a throw-away file); `load` loads a dataset by name (the registry's)."""

    def __init__(self, settings: QSettings,
                 load: Callable[..., Dataset] = load_dataset, parent: QWidget | None = None):
        super().__init__(parent)
        self.settings = settings
        self._shutdowns: list[Callable[[float], bool]] = []
        self._blocked_message = ""  # why training cannot start, as the status bar says it
        self.network = NetworkModel(get_preset(DEFAULT_PRESET).spec, parent=self)
        self.worker = TrainingWorker(self)
        self.loader = DatasetLoader(load, self)
        self.session = Session(self.network, self.worker, self.loader,
                               choices.restored_config(settings),
                               choices.restored_dataset(settings), self)
        self.file = ProjectFile(self.network, self.session, settings, self)
        self.actions = make_actions(self)
        self.builder = ArchitectureBuilder(self.network, self.session)
        self.training = TrainingPanel(self.session, self.actions.run)
        self.curves = CurvesPanel(self.session, choices.restored_smoothing(settings))
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self._tab_style = CompactTabs()  # kept: the tab bar does not own its style
        self.tabs.tabBar().setStyle(self._tab_style)
        self.panels: dict[str, QWidget] = {}  # every view's panel (its scroll area) by title
        self.presentation = Presentation(self, self.tabs, self.panels,
                                         (self.actions.start_pause, self.actions.step))
        self._build_menus()
        self.add_tab(self.curves, marked("Training curves"))
        # the network and the training panel share the left column, as tabs: the one is
        # for building, the other for training (the network is locked meanwhile)
        left = Qt.DockWidgetArea.LeftDockWidgetArea
        self.network_dock = self.add_dock(self.builder, marked("Network"), left)
        self.training_dock = self.add_dock(self.training, marked("Training"), left)
        self.tabifyDockWidget(self.network_dock, self.training_dock)
        self.runs_panel = RunsPanel(self.session)  # every run kept, to compare
        self.runs_dock = self.add_dock(self.runs_panel, marked("Runs"), left)
        self.add_shutdown(self.session.runs.shutdown)  # a run's test figures being worked out
        self.tabifyDockWidget(self.training_dock, self.runs_dock)
        self.network_dock.raise_()
        self._build_status_bar()
        self._connect()
        self.resize(first_size())
        self.restore_layout()
        self._update_title()
        self._update_run_actions()
        QTimer.singleShot(0, self._after_show)

    def _after_show(self) -> None:
        """Slow starts that must not delay the first paint: the data and JAX."""
        self.session.load_data()
        self.worker.load_engine()

    def restore_layout(self, docks: bool = True) -> bool:
        """Size, place and (with `docks`) docks as they were left; False if no docks'
        layout was restored. Whoever adds docks later (the live views) calls this again,
        so that theirs come back too: restoring only places the docks that exist."""
        self.restoreGeometry(self.settings.value("window/geometry", b""))
        return docks and self.restoreState(self.settings.value("window/state", b""),
                                           LAYOUT_VERSION)

    # -- extension points ---------------------------------------------------------------
    def add_dock(self, widget: QWidget, title: str, area: Qt.DockWidgetArea) -> QDockWidget:
        """Dock `widget` under `title` (its English key, shown translated); it gets a View
        menu entry and its place is remembered."""
        dock = QDockWidget(translate(title), self)
        dock.setObjectName(f"dock-{title.lower().replace(' ', '-')}")  # key for saveState
        dock.setWidget(scrollable(widget))
        self.panels[title] = dock.widget()
        self.addDockWidget(area, dock)
        self.view_menu.insertAction(self._view_separator, dock.toggleViewAction())
        return dock

    def add_tab(self, widget: QWidget, title: str) -> None:
        self.panels[title] = panel = scrollable(widget)
        self.tab_panel(panel, title)

    def tab_panel(self, panel: QWidget, title: str, index: int = -1) -> None:
        """`panel` a tab of the central area (at `index`; -1: the end), under its short
        title if it has one."""
        index = self.tabs.insertTab(index, panel, translate(TAB_TITLES.get(title, title)))
        self.tabs.setTabToolTip(index, translate(title))

    def show_tab(self, widget: QWidget) -> None:
        """Bring the tab that holds `widget` to the front."""
        for i in range(self.tabs.count()):
            if self.tabs.widget(i).widget() is widget:
                self.tabs.setCurrentIndex(i)
                return
        raise ValueError(f"{widget!r} is not a tab of this window")

    def add_shutdown(self, wait: Callable[[float], bool]) -> None:
        """Have finish_threads also end another panel's background work: `wait(timeout_s)`
        stops it and returns whether its threads ended in time."""
        self._shutdowns.append(wait)

    # -- construction -----------------------------------------------------------------------
    def _build_menus(self) -> None:
        a = self.actions
        bar = self.menuBar()
        file = bar.addMenu(tr("&File"))
        file.addActions([a.new, a.open])
        self.files = FileCommands(self, self.file, self.worker, self.settings,
                                  file.addMenu(tr("Open &Recent")))
        file.addActions([a.save, a.save_as])
        file.addSeparator()
        self.importer, self.exporter = add_import_export(self, file)
        file.addSeparator()
        file.addAction(a.quit)
        edit = bar.addMenu(tr("&Edit"))
        edit.addActions([a.undo, a.redo])
        edit.addSeparator()
        edit.addActions(self.builder.layer_actions)
        network = bar.addMenu(tr("&Network"))
        presets = network.addMenu(tr("&Presets"))
        self.preset_actions = []
        for preset in PRESETS.values():
            action = presets.addAction(preset.name)  # a name the CLI takes too: as it is
            action.setStatusTip(str(preset.description))
            action.setToolTip(str(preset.description))
            action.triggered.connect(lambda _checked, p=preset: self._use_preset(p))
            self.preset_actions.append(action)
        presets.setToolTipsVisible(True)
        train = bar.addMenu(tr("&Train"))
        train.addActions(list(a.run))
        train.addSeparator()
        self.fine_tune_action = train.addAction(tr("&Fine-tune…"), self._fine_tune)
        self.fine_tune_action.setStatusTip(tr("Reuse a trained network on other data: a new "
                                              "head, its first layers frozen"))
        self.examples = add_examples(self, train.addMenu(tr("&Examples")), self.session)
        self.view_menu = bar.addMenu(tr("&View"))
        self._view_separator = self.view_menu.addSeparator()
        self._build_theme_menu()
        self.help_menu = help_menu = bar.addMenu(tr("&Help"))
        help_menu.addAction(tr("&About cnnviz"), lambda: dialogs.show_about(self))
        toolbar = self.addToolBar(tr("Toolbar"))
        toolbar.setObjectName("toolbar-main")
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        toolbar.addActions([a.new, a.open, a.save])
        toolbar.addSeparator()
        toolbar.addActions([a.undo, a.redo])
        toolbar.addSeparator()
        toolbar.addActions(list(a.run))
        self.view_menu.insertAction(self._view_separator, toolbar.toggleViewAction())
        self.view_menu.insertAction(self.view_menu.actions()[0], self.presentation.action)
        self.view_menu.insertSeparator(self.view_menu.actions()[1])
        self._build_text_size_menu()

    def _build_text_size_menu(self) -> None:
        """Larger and smaller text for the whole window (for a projector), remembered."""
        text = self.view_menu.addMenu(tr("Text &Size"))
        for label, keys, steps in ((tr("&Larger"), ["Ctrl+=", "Ctrl++"], +1),
                                   (tr("&Smaller"), ["Ctrl+-"], -1),
                                   (tr("&Normal"), ["Ctrl+0"], 0)):
            action = QAction(label, self)
            action.setShortcuts([QKeySequence(k) for k in keys])
            action.triggered.connect(lambda _checked, n=steps: self.scale_text(n))
            self.addAction(action)  # its keys work with the menu bar hidden, too
            text.addAction(action)

    def text_scale(self) -> float:
        return self.settings.value(FONT_SCALE_KEY, 1.0, type=float)

    def scale_text(self, steps: int) -> None:
        """`steps` sizes larger (negative: smaller; 0: the system's size)."""
        scale = font_scale_step(self.text_scale(), steps) if steps else 1.0
        self.settings.setValue(FONT_SCALE_KEY, scale)
        apply_font_scale(QApplication.instance(), scale)
        set_graphics_font(self, None)  # the plots' text too
        self.presentation.refresh_font()
        self.statusBar().showMessage(tr("Text size {percent} %", percent=round(scale * 100)),
                                     3000)

    def _build_theme_menu(self) -> None:
        themes = self.view_menu.addMenu(tr("&Theme"))
        group = QActionGroup(self)
        current = str(self.settings.value("view/theme", "system"))
        for name in THEMES:  # the name is the setting's value, its label is shown
            action = themes.addAction(translate(THEMES[name]))
            action.setCheckable(True)
            action.setChecked(name == current)
            action.triggered.connect(lambda _checked, n=name: self._set_theme(n))
            group.addAction(action)

    def _build_status_bar(self) -> None:
        self.statusBar().showMessage(tr("Loading JAX in the background; you can build the "
                                        "network meanwhile."), 5000)

    def _connect(self) -> None:
        a, s = self.actions, self.session
        a.new.triggered.connect(self.files.new)
        a.open.triggered.connect(self.files.open)
        a.save.triggered.connect(self.files.save)
        a.save_as.triggered.connect(self.files.save_as)
        a.quit.triggered.connect(self.close)
        a.start_pause.triggered.connect(self._start_pause)
        a.step.triggered.connect(self._step)
        a.stop.triggered.connect(s.stop)
        a.reset_weights.triggered.connect(s.reset_weights)
        s.run_changed.connect(self._update_run_actions)
        s.data_changed.connect(self._update_run_actions)
        s.config_changed.connect(self._update_run_actions)
        self.network.changed.connect(self._update_run_actions)
        a.undo.triggered.connect(self.network.undo_stack.undo)
        a.redo.triggered.connect(self.network.undo_stack.redo)
        self.network.undo_stack.indexChanged.connect(self._update_undo_actions)
        s.error.connect(self._show_error)
        self.file.changed.connect(self._update_title)
        self.worker.device_found.connect(self._on_device)
        self.worker.running_changed.connect(self._on_running)
        self.worker.note.connect(lambda text: self.statusBar().showMessage(text, 20_000))

    # -- training ------------------------------------------------------------------------
    def _start_pause(self) -> None:
        s = self.session
        if not s.active:
            if self._may_start_afresh():
                s.start()
        elif s.state == PAUSED:
            s.resume()
        else:
            s.pause()

    def _step(self) -> None:
        if self.session.active or self._may_start_afresh():
            self.session.step()

    def _may_start_afresh(self) -> bool:
        """Before a run replaces trained weights (the last one ran all its epochs):
        whether the learner wants that."""
        if self.session.start_mode() != AGAIN:
            return True
        return dialogs.confirm(
            self, tr("Train again?"), tr("Train again from fresh weights?"),
            tr("The trained weights are replaced; the curves so far stay on view, in grey, "
               "for comparison. To train these weights further, raise Epochs instead."),
            tr("Train Again"))

    def _fine_tune(self) -> None:
        if open_fine_tune(self, self.session, self.settings):
            self.training_dock.raise_()
            self.statusBar().showMessage(tr("Ready to fine-tune: press Start. The run before "
                                            "is kept in Runs, to compare."), 8000)

    def _on_running(self, running: bool) -> None:
        if running:  # the network is locked now; show the run's progress in its place
            self.training_dock.raise_()

    def _update_run_actions(self) -> None:
        a, s = self.actions, self.session
        blocker = s.blocker()
        if s.active:
            paused = s.state == PAUSED
            a.start_pause.setText(tr("Resume") if paused else tr("Pause"))
            a.start_pause.setIcon(self.style().standardIcon(
                Icon.SP_MediaPlay if paused else Icon.SP_MediaPause))
            a.start_pause.setEnabled(s.state in (RUNNING, PAUSED, COMPILING))
        else:
            a.start_pause.setText(translate(START_TEXT.get(s.start_mode(), "Start")))
            a.start_pause.setIcon(self.style().standardIcon(Icon.SP_MediaPlay))
            a.start_pause.setEnabled(blocker is None)
        why = tr("Cannot train: {reason}", reason=blocker) if blocker and not s.active else ""
        a.start_pause.setToolTip(why or tr("Start, pause or resume training (Space)"))
        a.step.setEnabled(s.state == PAUSED if s.active else blocker is None)
        a.stop.setEnabled(s.active)
        a.reset_weights.setEnabled(not s.active and (s.weights is not None
                                                     or bool(s.history.steps)))
        a.save.setEnabled(not s.active or s.state == PAUSED)
        a.save_as.setEnabled(a.save.isEnabled())
        for action in (*self.preset_actions, self.fine_tune_action):
            action.setEnabled(not s.active)
        self.builder.set_editable(not s.active)
        self._update_undo_actions()
        if blocker and not s.active and s.dataset is not None:
            self._blocked_message = tr("Cannot train: {reason}", reason=blocker)
            self.statusBar().showMessage(self._blocked_message, 8000)
        elif self.statusBar().currentMessage() == self._blocked_message:
            self.statusBar().clearMessage()  # training can start: the reason is gone

    def _update_undo_actions(self) -> None:
        """Undo/redo name what they would do, and rest while a run trains the network."""
        stack, editable = self.network.undo_stack, not self.session.active
        for action, can, text in ((self.actions.undo, stack.canUndo(),
                                   tr("Undo {change}", change=stack.undoText())
                                   if stack.canUndo() else tr("Undo")),
                                  (self.actions.redo, stack.canRedo(),
                                   tr("Redo {change}", change=stack.redoText())
                                   if stack.canRedo() else tr("Redo"))):
            action.setEnabled(editable and can)
            action.setText(text)
            key = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            action.setToolTip(tr("{action} ({shortcut})", action=text, shortcut=key))

    def _use_preset(self, preset) -> None:
        self.network.edit(self.network.fitted(preset.spec).layers,
                          tr("Use preset {name}", name=preset.name))
        self.session.set_config(learning_rate=preset.learning_rate, epochs=preset.epochs)
        self.statusBar().showMessage(tr("{name}: {description}", name=preset.name,
                                        description=preset.description), 8000)

    def _on_device(self, device: str) -> None:
        # Exempt everything loaded so far (JAX brings ~100k objects) from the garbage
        # collector: a full collection walks them all, a 40+ ms stall of the GUI.
        gc.freeze()
        self.statusBar().showMessage(tr("JAX is ready; training runs on {device}.",
                                        device=device), 5000)

    def _show_error(self, title: str, message: str) -> None:
        dialogs.show_error(self, title, message)

    # -- files ------------------------------------------------------------------------------
    def _update_title(self) -> None:
        self.setWindowTitle(f"{self.file.name}[*] — cnnviz")
        self.setWindowModified(self.file.modified)

    # -- view, settings, shutdown ------------------------------------------------------------
    def _set_theme(self, name: str) -> None:
        apply_theme(QApplication.instance(), name)
        self.settings.setValue("view/theme", name)

    def open_file(self, path: str) -> bool:
        """Open a project (e.g. one named on the command line); False if it cannot be read."""
        return self.files.open_path(path)

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.files.settle():
            event.ignore()
            return
        self.presentation.leave()  # the layout saved is the window's own
        self._save_settings()
        self.hide()  # closed as far as the user can tell, while the threads wind down
        self.finish_threads(SHUTDOWN_S)
        event.accept()

    def finish_threads(self, timeout_s: float) -> bool:
        """Stop training and loading and wait for their threads; True if all ended.
        (A JAX compile cannot be interrupted, so a run that is still compiling may
        take longer than a running one, which stops after its current batch.)"""
        results = [wait(timeout_s) for wait in
                   (self.worker.shutdown, self.loader.shutdown, *self._shutdowns)]
        return all(results)

    def _save_settings(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState(LAYOUT_VERSION))
        choices.remember(self.settings, self.session, self.curves.smoothing.value())
        self.settings.sync()
