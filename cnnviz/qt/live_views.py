"""The live views in the main window: one call, `add_live_views(window, session)`.

It builds the LiveModel and feeds it: from the trainer's snapshots while a run steps, and
at rest (before training, paused, after it, with the weights the session holds) from the
engine probe in a background thread. A new probe image always goes to the trainer too
(SetProbe; it is kept there until the next run), and every run is told the probe and
the replay to continue when it starts.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol

from PyQt6 import sip
from PyQt6.QtCore import QObject, QSize, Qt, QTimer
from PyQt6.QtWidgets import QApplication, QDockWidget, QTabWidget, QWidget

from cnnviz.core.commands import SetProbe, SetReplay
from cnnviz.core.i18n import marked, tr
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
                  batch_size: int, probe_only: bool = False):
    """In a helper thread: (the prober for spec and dataset, their Views for `weights`,
    or for the weights a run with `seed` starts from when there are none yet; with
    `probe_only`, only the parts that depend on the probe image)."""
    from cnnviz.engine.probe import Prober  # JAX loads here, off the GUI thread
    from cnnviz.engine.trainer import initial_params

    if prober is None or prober.spec != spec or prober.dataset is not dataset:
        prober = Prober(spec, dataset)
    params = weights if weights is not None else initial_params(spec, seed)
    return prober, prober.views_at_rest(params, probe, step, batch_size,
                                        probe_only=probe_only)


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
        # what the views' slower parts (grid, confusion) were computed at rest for: the
        # network, data, weights (or the seed of fresh ones) and step
        self._slow_for: tuple | None = None
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
        session.run_changed.connect(self._on_masks)
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
            self._slow_for = None  # the trainer's now
            self.model.show(snap.views)

    def _on_probe(self, probe: ProbeImage) -> None:
        self.session.worker.command(SetProbe(probe))  # kept by a paused run, too
        if not self.trainer_steps:
            self.request_at_rest()

    # -- the session's other changes ------------------------------------------------------
    def _on_data(self) -> None:
        if self.session.dataset is not self.model.dataset:
            self.model.set_dataset(self.session.dataset)  # chooses a probe: computes

    def _on_masks(self) -> None:
        """The session's pruning masks (they change with the weights) to the views."""
        s = self.session
        masks = {} if s.masks is None else {name: m["kernel"] for name, m in zip(
            s.network.spec.names, s.masks, strict=True) if m}
        if masks.keys() != self.model.masks.keys() or any(
                m is not self.model.masks[name] for name, m in masks.items()):
            self.model.set_masks(masks)

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
        self._pending = False
        too_big = s.too_big()  # Start refuses it too: its weights alone may not fit
        if too_big is not None:
            self.model.set_notice(tr("Nothing to show: {reason}.", reason=too_big))
            return
        self._busy = True
        source = (s.network.spec, s.dataset, s.weights, s.config.seed, s.history.steps)
        shown = self._slow_for
        # the network, data and weights of the views shown: only the probe image changed
        probe_only = self.model.views is not None and shown is not None and (
            shown[0] == source[0] and shown[1] is source[1] and shown[2] is source[2]
            and shown[3:] == source[3:])
        thread = GeneratorThread(partial(
            views_at_rest, self._prober, s.network.spec, s.dataset, s.weights, s.config.seed,
            self.model.probe, s.history.steps, s.config.batch_size, probe_only),
            "live-views")
        thread.returned.connect(partial(self._on_result, self._run, source))
        thread.errored.connect(lambda exc: log.warning("live views at rest: %s", exc))
        thread.finished.connect(self._on_thread_done)
        self._thread = thread
        thread.start()

    def _on_result(self, run: int, source: tuple, result) -> None:
        if sip.isdeleted(self) or sip.isdeleted(self.model):
            return  # the window closed while it computed: nobody to show it to
        self._prober, views = result
        if run == self._run and not self.trainer_steps:
            if views.confusion is not None or views.grid is not None:
                self._slow_for = source
            self.model.show(views)

    def _on_thread_done(self) -> None:
        if sip.isdeleted(self):
            return
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
    network_dock: QDockWidget  # the side columns start with these three
    training_dock: QDockWidget
    runs_dock: QDockWidget  # always a tab behind the training panel, wherever it is

    def add_dock(self, widget: QWidget, title: str, area: Qt.DockWidgetArea) -> QDockWidget: ...

    def tab_panel(self, panel: QWidget, title: str, index: int = -1) -> None: ...


# The big views are tabs beside the training curves; the small ones share a dock. Their
# titles are keys (English), shown translated (see MainWindow.add_dock).
BIG = ((marked("Feature maps"), FeatureMapsView), (marked("Filters"), FiltersView),
       (marked("Replay"), ReplayView), (marked("Weights and gradients"), WeightStatsView))
SMALL = ((marked("Predictions"), PredictionsView), (marked("Confusion matrix"), ConfusionView),
         (marked("Draw"), DrawView))
TABS, DOCKS = "tabs", "docks"
LAYOUTS = (TABS, DOCKS)
# TABS: the side columns' shares of the window's width (the central view keeps at least
# half of it) and their widths on a large screen
LEFT_SHARE, RIGHT_SHARE = 0.25, 0.22
LEFT_MAX, RIGHT_MAX = 440, 600
# DOCKS: what each place needs to show its view readably, in pixels; a screen that holds
# less gets views tabbed together, one too small even then keeps the tabs.
BIG_MIN = QSize(330, 280)  # a column of the bottom row, at least
SEPARATOR = 8  # between two docks
SIDE_MIN_WIDTH = 310  # the left column, the small views' column, the training column
CENTRE_MIN_WIDTH = 380  # the training curves
PREDICTIONS_MIN_HEIGHT, CONFUSION_MIN_HEIGHT = 390, 240
NETWORK_MIN_HEIGHT, DRAW_MIN_HEIGHT = 540, 220
CHROME_HEIGHT = 120  # menus, toolbar, status bar, dock titles and tab bars
DOCK_HEIGHT = 450  # the bottom row of docks, at most
SMALL_VIEWS_SHARE, TRAINING_SHARE = 0.24, 0.17  # DOCKS: of the window's width


@dataclass(frozen=True)
class DockPlan:
    """How All Views at Once arranges the views on a screen of a given size."""

    bottom_columns: tuple[int, ...]  # the width each column of big views needs, left to
    # right; view i of BIG is in column i % len(bottom_columns), a tab if not the first
    stack_small: bool  # Predictions over the confusion matrix, else the two tabbed together
    training_column: bool  # the training panel in a column of its own, else tabbed
    draw_below: bool  # Draw under the network, else a tab beside it
    full: QSize  # the screen that would show every view side by side

    @property
    def shows_all(self) -> bool:
        return (len(self.bottom_columns) >= len(BIG) and self.stack_small
                and self.training_column and self.draw_below)

    @property
    def top_height(self) -> int:
        """What the columns above the bottom row need."""
        return max(PREDICTIONS_MIN_HEIGHT + (CONFUSION_MIN_HEIGHT if self.stack_small else 0),
                   NETWORK_MIN_HEIGHT + (DRAW_MIN_HEIGHT if self.draw_below else 0))

    def note(self, room: QSize) -> str:
        """What the screen was too small for, or "" when every view has a place."""
        if self.shows_all:
            return ""
        return tr("The screen ({width} × {height}) is too small for every view at once: some "
                  "share a place as tabs. A screen of {full_width} × {full_height} shows them "
                  "all.", width=room.width(), height=room.height(),
                  full_width=self.full.width(), full_height=self.full.height())


def bottom_row(widths: Sequence[int], room: int) -> tuple[int, ...]:
    """The widths of as many columns as `room` pixels hold, for views that need
    `widths` (view i in column i % columns), or () if not even one fits."""
    widths = [max(w, BIG_MIN.width()) for w in widths]
    for count in range(len(widths), 0, -1):
        columns = tuple(max(widths[i::count]) for i in range(count))
        if sum(columns) + SEPARATOR * count <= room:
            return columns
    return ()


def plan_docks(room: QSize, widths: Sequence[int] = ()) -> DockPlan | None:
    """The arrangement of All Views at Once that fits `room` (the screen's available
    size), showing as many views side by side as it holds; None if even the tightest
    arrangement does not fit. `widths`: what each big view needs (BIG_MIN if not said)."""
    widths = list(widths) or [BIG_MIN.width()] * len(BIG)
    height = room.height() - CHROME_HEIGHT - BIG_MIN.height()  # above the bottom row
    columns = bottom_row(widths, room.width())
    stack = height >= PREDICTIONS_MIN_HEIGHT + CONFUSION_MIN_HEIGHT
    draw = height >= NETWORK_MIN_HEIGHT + DRAW_MIN_HEIGHT
    training = room.width() >= 3 * SIDE_MIN_WIDTH + CENTRE_MIN_WIDTH
    full = QSize(max(sum(bottom_row(widths, 10**6)) + SEPARATOR * len(widths),
                     3 * SIDE_MIN_WIDTH + CENTRE_MIN_WIDTH),
                 CHROME_HEIGHT + BIG_MIN.height() + max(
                     PREDICTIONS_MIN_HEIGHT + CONFUSION_MIN_HEIGHT,
                     NETWORK_MIN_HEIGHT + DRAW_MIN_HEIGHT))
    if (len(columns) < 2 or height < max(PREDICTIONS_MIN_HEIGHT, NETWORK_MIN_HEIGHT)
            or room.width() < 2 * SIDE_MIN_WIDTH + CENTRE_MIN_WIDTH):
        return None
    return DockPlan(columns, stack, training, draw, full)


def screen_room(window: QWidget) -> QSize:
    """The available size of the screen the window is on."""
    screen = window.screen() or QApplication.primaryScreen()
    return screen.availableGeometry().size()


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
    plan: DockPlan | None = None  # DOCKS: the arrangement in use

    def set_layout(self, layout: str, room: QSize | None = None) -> str:
        """TABS: the big views are tabs of the central area; the network, the training
        panel, Runs and Draw are tabs of the left column, Predictions and the confusion matrix
        tabs of the right.
        DOCKS: the views all visible at once, as far as the screen (`room`: its
        available size, by default the window's screen) holds them: the big ones in a
        row at the bottom, Draw under the network, and on the right two columns:
        Predictions over the confusion matrix, then the training panel at its full
        height, Runs a tab behind it (see plan_docks for a smaller screen).

        Returns what the screen was too small for ("" if nothing): a screen too small
        for any arrangement keeps the layout as it was."""
        if layout not in LAYOUTS:
            raise ValueError(f"unknown layout {layout!r}; expected one of {LAYOUTS}")
        plan, note = None, ""
        if layout == DOCKS:
            room = room if room is not None else screen_room(self.window)
            plan = plan_docks(room, [self.panels[t].widget().minimumSizeHint().width()
                                     for t, _ in BIG])
            if plan is None:
                return tr("The screen ({width} × {height}) is too small to show the views "
                          "all at once; they stay tabs. Presentation mode (F11) shows one "
                          "view on the whole screen.", width=room.width(), height=room.height())
            note = plan.note(room)
        if (layout, plan) == (self.layout, self.plan):
            return note
        window, big = self.window, [title for title, _ in BIG]
        predictions, confusion, draw = (self.docks[title] for title, _ in SMALL)
        network, training, runs = window.network_dock, window.training_dock, window.runs_dock
        right, left = Qt.DockWidgetArea.RightDockWidgetArea, Qt.DockWidgetArea.LeftDockWidgetArea
        closed = {dock: dock.isHidden() and window.isVisible()  # closed by the user
                  for dock in (network, training, runs)}
        # the side columns are built anew, but for the network and training tabs the
        # window starts with: undone before the window is first shown, Qt would leave
        # their old tab bar painted behind the new one
        keep = layout == TABS and not self.layout
        for dock in (predictions, confusion, draw) if keep else (
                network, training, runs, predictions, confusion, draw):
            window.removeDockWidget(dock)
        if layout == TABS:
            for title in big:
                self.docks[title].hide()
                self.docks[title].toggleViewAction().setVisible(False)
                window.tab_panel(self.panels[title], title)
            if not keep:
                self._add(network, left)
                self._tabify(network, training)
                self._tabify(training, runs)
            self._tabify(network, draw)  # drawing, one sees the predictions on the right
            self._add(predictions, right)
            self._tabify(predictions, confusion)
            network.raise_()
            predictions.raise_()
        else:
            self._bottom_row(len(plan.bottom_columns))
            self._add(network, left)
            if plan.draw_below:
                self._add(draw, left)
            else:
                self._tabify(network, draw)
            self._add(predictions, right, Qt.Orientation.Horizontal)
            if plan.training_column:
                self._add(training, right, Qt.Orientation.Horizontal)
            else:
                self._tabify(network, training)
            self._tabify(training, runs)
            if plan.stack_small:
                window.splitDockWidget(predictions, confusion, Qt.Orientation.Vertical)
                confusion.show()
            else:
                self._tabify(predictions, confusion)
        for dock, was_closed in closed.items():
            dock.setHidden(was_closed)
        self.layout, self.plan = layout, plan
        if window.isVisible():  # docks just moved have no place until the layout next runs
            QTimer.singleShot(0, self.size_docks)
        else:  # the window is being built; a saved layout restored next takes precedence
            self.size_docks()
        return note

    def _bottom_row(self, columns: int) -> None:
        """The big views in a row at the bottom, `columns` side by side; view i joins
        column i % columns as a tab."""
        window, bottom = self.window, Qt.DockWidgetArea.BottomDockWidgetArea
        docks = [self.docks[title] for title, _ in BIG]
        for i, ((title, _), dock) in enumerate(zip(BIG, docks, strict=True)):
            if self.layout == TABS:
                window.tabs.removeTab(window.tabs.indexOf(self.panels[title]))
                dock.setWidget(self.panels[title])
                dock.toggleViewAction().setVisible(True)
            if i < columns:
                self._add(dock, bottom, Qt.Orientation.Horizontal)
            else:
                self._tabify(docks[i % columns], dock)
        for dock in docks[:columns]:
            dock.raise_()

    def size_docks(self) -> None:
        """Give the docks their shares of the window (after it got its size).
        TABS: the side columns their shares of the window's width. DOCKS: the bottom
        row as high as the screen allows, the right columns their shares of the width
        (the curves in the middle keep what is left), the bottom row shared out so that
        each view has room to show itself, Predictions and the confusion matrix half
        the column each."""
        window, docks = self.window, self.docks
        horizontal, vertical = Qt.Orientation.Horizontal, Qt.Orientation.Vertical
        width = window.width()
        if self.layout == TABS:
            window.resizeDocks([window.network_dock, docks["Predictions"]],
                               [min(LEFT_MAX, round(width * LEFT_SHARE)),
                                min(RIGHT_MAX, round(width * RIGHT_SHARE))], horizontal)
            return
        needs = self.plan.bottom_columns
        columns = [docks[title] for title, _ in BIG][:len(needs)]
        height = min(DOCK_HEIGHT, max(BIG_MIN.height(),
                                      window.height() - CHROME_HEIGHT - self.plan.top_height))
        window.resizeDocks(columns, [height] * len(columns), vertical)
        # each column what it needs, and what is left over shared out, twice as much to
        # the first (the feature maps: every layer of the network side by side)
        spare = max(0, width - sum(needs) - SEPARATOR * len(needs))
        weights = [2] + [1] * (len(needs) - 1)
        window.resizeDocks(columns, [need + spare * w // sum(weights)
                                     for need, w in zip(needs, weights, strict=True)],
                           horizontal)
        # one at a time, the inner separator first: resized together, the two would only
        # share the width the columns have now
        outer = [(docks["Predictions"], SMALL_VIEWS_SHARE)]
        if self.plan.training_column:
            outer.insert(0, (window.training_dock, TRAINING_SHARE))
        for dock, share in outer:
            window.resizeDocks([dock], [round(width * share)], horizontal)
        if self.plan.stack_small:
            column = docks["Predictions"].height() + docks["Confusion matrix"].height()
            window.resizeDocks([docks["Predictions"], docks["Confusion matrix"]],
                               [column // 2, column - column // 2], vertical)

    def _add(self, dock: QDockWidget, area: Qt.DockWidgetArea,
             orientation: Qt.Orientation = Qt.Orientation.Vertical) -> None:
        """To the end of `area` (the bottom, for Vertical), shown."""
        self.window.removeDockWidget(dock)
        self.window.addDockWidget(area, dock, orientation)
        dock.show()

    def _tabify(self, first: QDockWidget, dock: QDockWidget) -> None:
        """`dock` a tab behind `first`, shown. (Straight from wherever it was: added to an
        area first, a dock being tabbed leaves a stray tab bar painted in the window.)"""
        self.window.removeDockWidget(dock)
        self.window.tabifyDockWidget(first, dock)
        dock.show()
        first.raise_()

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
    if not live.layout:  # a screen too small for all views at once
        live.set_layout(TABS)
    return live
