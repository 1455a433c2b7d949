"""The live views in the main window: one call, `add_live_views(window, session)`.

It builds the LiveModel and feeds it: from the trainer's snapshots while a run steps, and
at rest (before training, paused, after it, with the weights the session holds) from the
engine probe in a background thread. A new probe image always goes to the trainer too
(SetProbe; it is kept there until the next run), and every run is told the probe and
the replay to continue when it starts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol

from PyQt6.QtCore import QObject, Qt, QTimer
from PyQt6.QtWidgets import QDockWidget, QTabWidget, QWidget

from cnnviz.core.commands import SetProbe, SetReplay
from cnnviz.core.replay import Replay
from cnnviz.core.snapshot import COMPILING, RUNNING, ProbeImage, Snapshot
from cnnviz.io.replay import load_replay, replay_bytes
from cnnviz.qt.live_model import LiveModel
from cnnviz.qt.project_file import ProjectFile
from cnnviz.qt.session import Session
from cnnviz.qt.widgets.confusion import ConfusionView
from cnnviz.qt.widgets.draw_canvas import DrawView
from cnnviz.qt.widgets.feature_maps import FeatureMapsView
from cnnviz.qt.widgets.filters import FiltersView
from cnnviz.qt.widgets.predictions import PredictionsView
from cnnviz.qt.widgets.replay import ReplayView
from cnnviz.qt.widgets.weight_stats import WeightStatsView
from cnnviz.qt.worker import GeneratorThread

log = logging.getLogger(__name__)

REST_DELAY_MS = 30  # gathers a burst of requests (a stroke, an edit) into one computation


def views_at_rest(prober, spec, dataset, weights, seed: int, probe: ProbeImage, step: int,
                  batch_size: int):
    """In a helper thread: (the prober for spec and dataset, their Views for `weights`,
    or for the weights a run with `seed` starts from when there are none yet)."""
    from cnnviz.engine.probe import Prober  # JAX loads here, off the GUI thread
    from cnnviz.engine.trainer import initial_params

    if prober is None or prober.spec != spec or prober.dataset is not dataset:
        prober = Prober(spec, dataset)
    params = weights if weights is not None else initial_params(spec, seed)
    return prober, prober.views_at_rest(params, probe, step, batch_size)


class LiveController(QObject):
    """Connects a LiveModel to a Session: the trainer's views while it steps, the
    engine probe at rest, the probe choice and the replay back to the trainer."""

    def __init__(self, model: LiveModel, session: Session, parent: QObject | None = None):
        super().__init__(parent)
        self.model, self.session = model, session
        self._prober = None
        self._thread: GeneratorThread | None = None
        self._busy = False  # a computation at rest runs (until its `finished` arrives)
        self._pending = False  # another computation at rest was asked for meanwhile
        self._run = 0  # counts runs: a result from before the current one is stale
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REST_DELAY_MS)
        self._timer.timeout.connect(self._compute_at_rest)
        worker = session.worker
        worker.snapshot.connect(self._on_snapshot)
        worker.running_changed.connect(self._on_running)
        session.data_changed.connect(self._on_data)
        session.history_reset.connect(self._on_history_reset)
        session.network.changed.connect(self._on_network)
        model.probe_requested.connect(self._on_probe)
        self._on_data()

    # -- training ---------------------------------------------------------------------
    @property
    def trainer_steps(self) -> bool:
        """A run is stepping, so its snapshots bring the views' data."""
        return self.session.active and self.session.state in (RUNNING, COMPILING)

    def _on_running(self, running: bool) -> None:
        if running:
            self._run += 1
            if self.model.probe is not None:
                self.session.worker.command(SetReplay(self.model.replay))
                self.session.worker.command(SetProbe(self.model.probe))

    def _on_snapshot(self, snap: Snapshot) -> None:
        if snap.views is not None:
            self.model.show(snap.views)

    def _on_probe(self, probe: ProbeImage) -> None:
        self.session.worker.command(SetProbe(probe))  # kept by a paused run, too
        if not self.trainer_steps:
            self.request_at_rest()

    # -- the session's other changes ------------------------------------------------------
    def _on_data(self) -> None:
        if self.session.dataset is not self.model.dataset:
            self.model.set_dataset(self.session.dataset)  # chooses a probe: computes

    def _on_network(self) -> None:
        self.model.clear()
        if not self.session.active:
            self.request_at_rest()

    def _on_history_reset(self) -> None:
        """New weights and history (a file opened, weights reset): the replay keeps what
        still belongs to them, the views show them."""
        self.model.set_replay(self.model.replay.upto(self.session.history.steps))
        if not self.session.active:
            self.request_at_rest()

    # -- at rest ------------------------------------------------------------------------------
    def request_at_rest(self) -> None:
        self._timer.start()

    def _compute_at_rest(self) -> None:
        s = self.session
        if self.model.probe is None or s.dataset is None or not s.network.analysis.ok:
            return
        if self._busy:
            self._pending = True
            return
        self._busy, self._pending = True, False
        thread = GeneratorThread(partial(
            views_at_rest, self._prober, s.network.spec, s.dataset, s.weights, s.config.seed,
            self.model.probe, s.history.steps, s.config.batch_size), "live-views")
        thread.returned.connect(partial(self._on_result, self._run))
        thread.errored.connect(lambda exc: log.warning("live views at rest: %s", exc))
        thread.finished.connect(self._on_thread_done)
        self._thread = thread
        thread.start()

    def _on_result(self, run: int, result) -> None:
        self._prober, views = result
        if run == self._run and not self.trainer_steps:
            self.model.show(views)

    def _on_thread_done(self) -> None:
        self._busy = False
        if self._pending:
            self._compute_at_rest()

    def shutdown(self, timeout_s: float) -> bool:
        """Wait for a computation at rest; True if none is left."""
        self._timer.stop()
        self._pending = False
        return self._thread is None or self._thread.wait(timeout_s)


class ViewHost(Protocol):
    """What add_live_views needs of the window besides being a QMainWindow (MainWindow
    has it)."""

    file: ProjectFile  # the replay is saved in it
    tabs: QTabWidget  # the central area
    training_dock: QDockWidget  # the right column starts with it

    def add_dock(self, widget: QWidget, title: str, area: Qt.DockWidgetArea) -> QDockWidget: ...


# The big views are tabs beside the training curves; the small ones share a dock.
BIG = (("Feature maps", FeatureMapsView), ("Filters", FiltersView), ("Replay", ReplayView),
       ("Weights and gradients", WeightStatsView))
SMALL = (("Predictions", PredictionsView), ("Confusion matrix", ConfusionView),
         ("Draw", DrawView))
TABS, DOCKS = "tabs", "docks"
LAYOUTS = (TABS, DOCKS)
DOCK_HEIGHT = 450  # the bottom row of docks, in pixels
RIGHT_WIDTH = 620  # the right column (training panel, small views) in the TABS layout
# DOCKS: the window's width given to the column of Predictions and the confusion matrix,
# and to the training panel's column beside it
SMALL_VIEWS_SHARE, TRAINING_SHARE = 0.24, 0.17
BOTTOM_SHARES = (0.42, 0.16, 0.2, 0.22)  # the bottom row's docks, in BIG's order


@dataclass
class LiveViews:
    """What add_live_views built. Every view sits in a dock of its own; in the TABS
    layout the big views' panels move out of their (hidden) docks into tabs."""

    window: ViewHost
    model: LiveModel
    controller: LiveController
    views: dict[str, QWidget] = field(default_factory=dict)
    docks: dict[str, QDockWidget] = field(default_factory=dict)
    panels: dict[str, QWidget] = field(default_factory=dict)  # what a dock or tab holds
    layout: str = ""  # none yet: add_live_views sets one

    def set_layout(self, layout: str) -> None:
        """TABS: the big views are tabs of the central area and the small ones tabs of
        one dock under the training panel, on the right. DOCKS: each view is a dock of
        its own, all visible at once (for a large screen): the big ones in a row at the
        bottom, Draw under the network, and on the right two columns: Predictions over
        the confusion matrix, then the training panel at its full height."""
        if layout not in LAYOUTS:
            raise ValueError(f"unknown layout {layout!r}; expected one of {LAYOUTS}")
        if layout == self.layout:
            return
        window, big = self.window, [title for title, _ in BIG]
        predictions, confusion, draw = (self.docks[title] for title, _ in SMALL)
        training = window.training_dock
        right, left = Qt.DockWidgetArea.RightDockWidgetArea, Qt.DockWidgetArea.LeftDockWidgetArea
        training_hidden = training.isHidden() and window.isVisible()  # closed by the user
        for dock in (training, predictions, confusion):
            window.removeDockWidget(dock)  # the right column is built anew
        if layout == TABS:
            for title in big:
                self.docks[title].hide()
                self.docks[title].toggleViewAction().setVisible(False)
                window.tabs.addTab(self.panels[title], title)  # takes it out of the dock
            window.addDockWidget(right, training, Qt.Orientation.Vertical)
            for dock in (predictions, confusion, draw):
                self._move(dock, right)
                if dock is not predictions:
                    window.tabifyDockWidget(predictions, dock)
            predictions.raise_()
        else:
            if self.layout == TABS:
                for title in big:
                    window.tabs.removeTab(window.tabs.indexOf(self.panels[title]))
                    self.docks[title].setWidget(self.panels[title])
                    self.docks[title].toggleViewAction().setVisible(True)
                    self.docks[title].show()
            self._move(draw, left)
            self._move(predictions, right, Qt.Orientation.Horizontal)
            window.addDockWidget(right, training, Qt.Orientation.Horizontal)
            window.splitDockWidget(predictions, confusion, Qt.Orientation.Vertical)
            confusion.show()
        training.setHidden(training_hidden)
        self.layout = layout
        if window.isVisible():  # docks just moved have no place until the layout next runs
            QTimer.singleShot(0, self._size_docks)
        else:  # the window is being built; a saved layout restored next takes precedence
            self._size_docks()

    def _size_docks(self) -> None:
        """TABS: the right column RIGHT_WIDTH wide. DOCKS: the bottom row DOCK_HEIGHT
        high, the right columns their shares of the window's width (the curves in the
        middle keep what is left), the bottom row shared out so that each view has room
        to show itself, Predictions and the confusion matrix half the column each."""
        window, docks = self.window, self.docks
        horizontal, vertical = Qt.Orientation.Horizontal, Qt.Orientation.Vertical
        if self.layout == TABS:
            window.resizeDocks([docks["Predictions"]], [RIGHT_WIDTH], horizontal)
            return
        big = [docks[title] for title, _ in BIG]
        width = window.width()
        window.resizeDocks(big, [DOCK_HEIGHT] * len(big), vertical)
        window.resizeDocks(big, [round(width * share) for share in BOTTOM_SHARES], horizontal)
        # one at a time, the inner separator first: resized together, the two would only
        # share the width the columns have now
        for dock, share in ((window.training_dock, TRAINING_SHARE),
                            (docks["Predictions"], SMALL_VIEWS_SHARE)):
            window.resizeDocks([dock], [round(width * share)], horizontal)
        column = docks["Predictions"].height() + docks["Confusion matrix"].height()
        window.resizeDocks([docks["Predictions"], docks["Confusion matrix"]],
                           [column // 2, column - column // 2], vertical)

    def _move(self, dock: QDockWidget, area: Qt.DockWidgetArea,
              orientation: Qt.Orientation = Qt.Orientation.Vertical) -> None:
        """Out of any tabs it is in, to the end of `area` (the bottom, for Vertical)."""
        self.window.removeDockWidget(dock)
        self.window.addDockWidget(area, dock, orientation)
        dock.show()

    def replay_bytes(self) -> bytes | None:
        """The replay for Project.extras["replay"]; None when there is none."""
        return replay_bytes(self.model.replay) if len(self.model.replay) else None

    def show_replay(self, replay: Replay | None) -> None:
        """Show the replay of a project just opened (None: it has none). The project file
        reads it (io.replay.load_replay) before it opens anything, so that a replay it
        cannot read leaves the open project as it was."""
        replay = replay or Replay()
        self.model.set_replay(replay.upto(self.controller.session.history.steps))

    def shutdown(self, timeout_s: float) -> bool:
        return self.controller.shutdown(timeout_s)


def add_live_views(window: ViewHost, session: Session, layout: str = TABS) -> LiveViews:
    """Add every live view to `window`, fed from `session` (its worker's snapshots, its
    data, network and weights), in `layout` (see LiveViews.set_layout); the replay is
    saved in the window's project file as extras/replay."""
    model = LiveModel(window)
    live = LiveViews(window, model, LiveController(model, session, window))
    window.file.register_extra("replay", live.replay_bytes, live.show_replay, load_replay)
    for views, area in ((BIG, Qt.DockWidgetArea.BottomDockWidgetArea),
                        (SMALL, Qt.DockWidgetArea.RightDockWidgetArea)):
        for title, cls in views:
            live.views[title] = view = cls(model)
            live.docks[title] = dock = window.add_dock(view, title, area)
            live.panels[title] = dock.widget()
    live.set_layout(layout)
    return live
