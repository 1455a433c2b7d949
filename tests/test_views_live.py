"""The live views in the main window: data at rest before training, live data from the
trainer's snapshots, the probe choice reaching the trainer, the replay kept across runs
and saved with the project."""

import cnnviz.engine  # noqa: F401, I001  (first: sets XLA's flags before JAX starts)

import numpy as np
import pytest
import reference
from PyQt6 import sip
from PyQt6.QtCore import QSettings, QSize, Qt
from PyQt6.QtWidgets import QTabBar
from test_probe import qt_garbage_dies_in_this_thread  # noqa: F401 (fixture)
from test_qt_support import SMALL_NET, make_window, wait_idle

from cnnviz.core.presets import get_preset
from cnnviz.core.snapshot import FINISHED
from cnnviz.io.project import load_project
from cnnviz.qt import live_views
from cnnviz.qt.app import build_window
from cnnviz.qt.live_views import BIG, DOCKS, TABS, add_live_views


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    window = make_window(qtbot, tmp_path, monkeypatch)
    window.network.reset(SMALL_NET)
    return window


@pytest.fixture
def live(window, qtbot):
    live = add_live_views(window, window.session, TABS)
    window.show_tab(live.views["Feature maps"])
    yield live
    assert live.shutdown(10)


def test_views_show_the_untrained_network_before_training(live, window, qtbot):
    qtbot.waitUntil(lambda: live.model.views is not None, timeout=60_000)
    views = live.model.views
    assert views.step == 0 and views.confusion is not None and views.grid is not None
    assert [m.name for m in views.probe.layers] == SMALL_NET.names
    data = window.session.dataset
    assert np.array_equal(views.probe.input.image, data.x_test[0])
    live.model.step(+1)  # the next test image, computed at rest
    qtbot.waitUntil(lambda: np.array_equal(live.model.views.probe.input.image,
                                           data.x_test[1]), timeout=30_000)
    assert live.model.views.probe.input.caption == "test image 1"


def test_training_feeds_the_views_and_records_a_replay(live, window, qtbot, tmp_path):
    s = window.session
    qtbot.waitUntil(lambda: live.model.views is not None, timeout=60_000)
    live.model.choose(5)
    window.training.epochs.setValue(2)
    window.actions.start_pause.trigger()
    wait_idle(qtbot, window)
    assert s.state == FINISHED
    views = live.model.views
    assert views.step == s.history.steps == 2 * s.steps_per_epoch()
    assert views.confusion.epoch == 1  # from the trainer, at the end of the last epoch
    assert np.array_equal(views.probe.input.image, s.dataset.x_test[5])  # the chosen probe
    kernel = s.weights[0]["kernel"]
    np.testing.assert_array_equal(views.filters[0].kernel, kernel)  # the final weights
    replay = live.model.replay
    assert len(replay) >= 2 and replay.frames[-1].step == s.history.steps
    assert live.views["Replay"].slider.maximum() == len(replay) - 1

    # saved with the project, and back when it is opened
    path = tmp_path / "run.cnnviz"
    window.file.save(path)
    assert "replay" in load_project(path).extras
    window.file.new(get_preset("tiny"))
    assert len(live.model.replay) == 0
    window.file.open(path)
    assert [f.step for f in live.model.replay.frames] == [f.step for f in replay.frames]

    # a continued run keeps the replay and adds to it
    window.training.epochs.setValue(3)
    window.actions.start_pause.trigger()
    wait_idle(qtbot, window)
    steps = [f.step for f in live.model.replay.frames]
    assert steps[:len(replay)] == [f.step for f in replay.frames]
    assert steps[-1] == s.history.steps == 3 * s.steps_per_epoch()


def test_a_project_without_a_replay_shows_none(live):
    live.show_replay(None)
    assert len(live.model.replay) == 0


LARGE = QSize(2560, 1440)  # a screen that holds every view at once


@pytest.fixture
def large_screen(monkeypatch):
    """All Views at Once sizes itself to the window's screen; the offscreen one is small."""
    monkeypatch.setattr(live_views, "screen_room", lambda window: LARGE)


def test_all_views_at_once_moves_the_big_views_into_docks_and_back(live, window, qtbot):
    window.resize(1500, 950)
    window.show()
    qtbot.waitExposed(window)
    tab_titles = [window.tabs.tabText(i) for i in range(window.tabs.count())]
    assert tab_titles == ["Curves", "Feature maps", "Filters", "Replay", "Weights"]
    assert window.tabs.tabToolTip(4) == "Weights and gradients"  # the short title's whole
    assert window.tabs.tabToolTip(0) == "Training curves"
    assert live.set_layout(DOCKS, LARGE) == ""  # nothing to say: every view has a place
    assert [window.tabs.tabText(i) for i in range(window.tabs.count())] == ["Curves"]
    for title, view in live.views.items():
        dock = live.docks[title]
        assert dock.isVisible() and view.isVisible(), title
        assert dock.isAncestorOf(view), title
        assert not window.tabifiedDockWidgets(dock), title  # nothing hides behind it
    assert live.set_layout(TABS) == ""
    assert [window.tabs.tabText(i) for i in range(window.tabs.count())] == tab_titles
    for title, _ in BIG:
        assert not live.docks[title].isVisible()
        assert window.tabs.isAncestorOf(live.views[title])
    window.show_tab(live.views["Filters"])
    assert live.views["Filters"].isVisible() and not live.views["Feature maps"].isVisible()


def test_all_views_at_once_gives_the_training_panel_a_full_height_column(live, window, qtbot):
    window.resize(2400, 1350)
    window.show()
    qtbot.waitExposed(window)
    live.set_layout(DOCKS, LARGE)
    predictions, confusion = live.docks["Predictions"], live.docks["Confusion matrix"]
    training = window.training_dock

    def place(dock):
        return dock.geometry()

    qtbot.waitUntil(lambda: abs(place(training).width() - 0.17 * window.width()) < 20)
    p, c, t = place(predictions), place(confusion), place(training)
    assert abs(p.width() - 0.24 * window.width()) < 20
    assert p.right() < t.left() and c.right() < t.left()  # a column left of the training panel
    assert p.bottom() < c.top() and abs(p.height() - c.height()) <= 2  # one over the other
    # the panel spans both (with the tab bar under it that brings Runs forward)
    runs_tab = next(bar for bar in window.findChildren(QTabBar)
                    if bar.isVisible() and "Runs" in [bar.tabText(i) for i in range(bar.count())])
    assert t.top() <= p.top() and runs_tab.geometry().bottom() >= c.bottom()
    assert window.centralWidget().width() > 0.3 * window.width()  # the curves keep room
    live.set_layout(TABS)  # and back: the training panel a tab of the left column
    qtbot.waitUntil(lambda: place(predictions).left() > place(training).right())
    assert window.tabifiedDockWidgets(predictions) and place(predictions).width() > 0
    assert window.network_dock in window.tabifiedDockWidgets(training)


@pytest.mark.parametrize("layout", [TABS, DOCKS])
def test_the_window_with_every_view_fits_a_small_laptop_screen(live, window, layout):
    """Panels scroll instead: the window's minimum stays within 1280x720."""
    live.set_layout(layout, LARGE)
    minimum = window.minimumSizeHint().expandedTo(window.minimumSize())
    assert minimum.width() <= 1280 and minimum.height() <= 720, minimum


def test_all_views_at_once_is_a_view_menu_choice_kept_for_next_time(qtbot, tmp_path,
                                                                    large_screen):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    windows = []
    for expected in (TABS, DOCKS):
        window, live = build_window(settings)
        qtbot.addWidget(window)
        windows.append(window)
        action = next(a for a in window.view_menu.actions() if a.text() == "&All Views at Once")
        assert live.layout == expected and action.isChecked() == (expected == DOCKS)
        if expected == TABS:
            action.trigger()
            assert live.layout == DOCKS and settings.value("view/layout") == DOCKS
            assert live.docks["Feature maps"].toggleViewAction().isVisible()
    for window in windows:  # nothing still loading when the test ends
        window.show()
        qtbot.waitUntil(lambda w=window: w.session.dataset is not None
                        and w.worker.device is not None, timeout=60_000)
        window.close()
        assert window.finish_threads(30)


def test_live_docks_come_back_where_they_were_left(qtbot, tmp_path, large_screen):
    """The window's state is restored once the live views' docks exist, not before."""
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("view/layout", DOCKS)
    areas = []
    for move in (True, False):
        window, live = build_window(settings)
        qtbot.addWidget(window)
        window.show()
        filters = live.docks["Filters"]
        if move:  # from the bottom row (where All Views at Once puts it) to the left
            assert window.dockWidgetArea(filters) == Qt.DockWidgetArea.BottomDockWidgetArea
            window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, filters)
        areas.append(window.dockWidgetArea(filters))
        qtbot.waitUntil(lambda w=window: w.session.dataset is not None
                        and w.worker.device is not None, timeout=60_000)
        window.close()  # saves the layout
        assert window.finish_threads(30)
    assert areas == [Qt.DockWidgetArea.LeftDockWidgetArea] * 2


def test_a_view_computed_after_the_window_closed_is_dropped(window, qtbot):
    """A computation at rest may end after its window (and LiveModel) are gone."""
    live = add_live_views(window, window.session, TABS)
    qtbot.waitUntil(lambda: live.model.views is not None, timeout=60_000)
    assert live.shutdown(10)
    controller, views = live.controller, live.model.views
    sip.delete(live.model)
    controller._on_result(controller._run, (), (None, views))  # no error: nobody to show it
    controller._on_thread_done()


def test_a_network_too_big_for_memory_is_not_allocated_at_rest(window, qtbot, monkeypatch):
    """The estimate that refuses Start refuses the views at rest too, and they say why."""
    from cnnviz.core.memory import format_bytes
    from cnnviz.qt import session as session_module

    computed = []
    real = live_views.views_at_rest
    monkeypatch.setattr(live_views, "views_at_rest",
                        lambda *args: computed.append(args[1]) or real(*args))
    monkeypatch.setattr(session_module, "available_memory", lambda: 1 << 10)  # 1 KiB free
    live = add_live_views(window, window.session, TABS)
    view = live.views["Feature maps"]
    window.show_tab(view)
    s = window.session
    need = s.training_memory().total
    assert s.too_big() is not None
    qtbot.waitUntil(lambda: view.notice.isVisible(), timeout=30_000)
    assert computed == [] and live.model.views is None
    assert view.notice.text().startswith("Nothing to show: training needs about "
                                         f"{format_bytes(need)}")
    assert s.blocker() == s.too_big()  # what Start says
    monkeypatch.setattr(session_module, "available_memory", lambda: 1 << 40)
    live.controller.request_at_rest()
    qtbot.waitUntil(lambda: live.model.views is not None, timeout=60_000)
    assert computed == [SMALL_NET] and view.notice.isHidden()
    assert live.shutdown(10)


def test_a_new_probe_image_at_rest_recomputes_only_what_depends_on_it(live, window, qtbot,
                                                                     monkeypatch):
    """The validation set is evaluated again when the weights change, not for another
    probe image: the confusion matrix and the test grid stay those of the weights."""
    calls = []
    real = live_views.views_at_rest
    monkeypatch.setattr(live_views, "views_at_rest",
                        lambda *args: calls.append(args[-1]) or real(*args))
    qtbot.waitUntil(lambda: live.model.views is not None, timeout=60_000)
    before = live.model.views
    data = window.session.dataset
    live.model.choose(4)
    qtbot.waitUntil(lambda: live.model.views is not before, timeout=30_000)
    after = live.model.views
    assert calls == [True]  # probe only
    assert np.array_equal(after.probe.input.image, data.x_test[4])
    assert after.confusion is before.confusion and after.grid is before.grid
    assert after.stats is not before.stats  # they hold the probe's activations
    s = window.session
    weights = [{k: np.asarray(v) for k, v in layer.items()}
               for layer in reference.random_weights(SMALL_NET, seed=3)]
    s.load_state(s.config, s.dataset_name, weights, s.history)
    qtbot.waitUntil(lambda: live.model.views is not after, timeout=30_000)
    assert calls == [True, False]  # new weights: everything
    assert live.model.views.confusion is not before.confusion
    live.model.choose(5)
    qtbot.waitUntil(lambda: len(calls) == 3, timeout=30_000)
    assert calls[-1] is True
