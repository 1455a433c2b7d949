"""The window on a classroom projector: the default layout at 1280x720 and 1024x768
(nothing cut, scrolled or overlapping, the central view at least half the width, tab
titles whole), All Views at Once on screens of every size, and text that keeps out of
other text."""

import cnnviz.engine  # noqa: F401, I001  (first: sets XLA's flags before JAX starts)

import jax
import pytest
from PyQt6.QtCore import QPoint, QRect, QSettings, QSize, Qt
from PyQt6.QtWidgets import QDockWidget, QLabel, QSizePolicy, QTabBar, QWidget
from test_probe import qt_garbage_dies_in_this_thread  # noqa: F401 (fixture)

from cnnviz.qt.live_views import (
    BIG,
    DOCKS,
    LEFT_MAX,
    LEFT_SHARE,
    RIGHT_MAX,
    RIGHT_SHARE,
    SMALL,
    TABS,
    plan_docks,
)
from cnnviz.qt import dialogs
from cnnviz.qt.app import build_window
from cnnviz.qt.scrollable import PanelScrollArea

PROJECTORS = [QSize(1280, 720), QSize(1024, 768)]


@pytest.fixture
def live(qtbot, tmp_path, monkeypatch):
    """The window as the app builds it, every tab and dock of it, on the built-in data."""
    monkeypatch.setattr(dialogs, "ask_save_changes", lambda *args: dialogs.DISCARD)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window, live = build_window(settings)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: live.model.views is not None and window.worker.device is not None,
                    timeout=60_000)
    yield live
    window.close()
    assert window.finish_threads(30)


def show_at(qtbot, live, size: QSize) -> None:
    window = live.window
    window.resize(size)
    qtbot.waitUntil(lambda: window.size() == size)
    live.size_docks()
    qtbot.wait(100)


def bring_forward(qtbot, window, panel: QWidget) -> None:
    """The panel's tab (central or dock) to the front, laid out."""
    if window.tabs.indexOf(panel) >= 0:
        window.tabs.setCurrentWidget(panel)
    else:
        dock = next(d for d in window.findChildren(QDockWidget) if d.widget() is panel)
        dock.raise_()
    qtbot.waitUntil(lambda: showing(window, panel))
    qtbot.wait(30)


def showing(window, widget: QWidget) -> bool:
    """Whether the widget is in the window's sight (a dock behind another one's tab is
    moved out of it)."""
    return widget.isVisible() and QRect(widget.mapTo(window, QPoint(0, 0)),
                                        widget.size()).intersects(window.rect())


def text_is_cut(label: QLabel) -> bool:
    """Whether the label shows less than its whole text."""
    if not label.text() or label.textFormat() == Qt.TextFormat.RichText:
        return False
    metrics = label.fontMetrics()
    if label.wordWrap():
        return label.heightForWidth(label.width()) > label.height() + 1
    ignored = label.sizePolicy().horizontalPolicy() == QSizePolicy.Policy.Ignored
    longest = max(metrics.horizontalAdvance(line) for line in label.text().splitlines())
    return ignored and longest > label.contentsRect().width()


def tab_titles_cut(window) -> list[str]:
    """The titles of the visible tab bars that are cut or scrolled out of sight."""
    cut = []
    for bar in window.findChildren(QTabBar):
        if bar.visibleRegion().isEmpty():
            continue
        metrics = bar.fontMetrics()
        for i in range(bar.count()):
            rect = bar.tabRect(i)
            whole = metrics.horizontalAdvance(bar.tabText(i)) + 8 <= rect.width()
            if not whole or rect.right() > bar.width() or rect.left() < 0:
                cut.append(bar.tabText(i))
    return cut


@pytest.mark.parametrize("size", PROJECTORS, ids=lambda s: f"{s.width()}x{s.height()}")
def test_the_default_layout_fits_a_projector(qtbot, live, size):
    window = live.window
    show_at(qtbot, live, size)
    assert window.centralWidget().width() >= size.width() / 2
    # and the side columns their shares: nothing holds the centre wider (the hidden
    # presentation page's wide bar would, on a real screen)
    assert window.centralWidget().minimumSizeHint().width() <= \
        window.tabs.minimumSizeHint().width()
    for dock, share, most in ((window.network_dock, LEFT_SHARE, LEFT_MAX),
                              (live.docks["Predictions"], RIGHT_SHARE, RIGHT_MAX)):
        assert abs(dock.width() - min(most, size.width() * share)) <= 10, dock.windowTitle()
    assert tab_titles_cut(window) == []
    docks = [d for d in window.findChildren(QDockWidget) if showing(window, d)]
    places = [window.centralWidget().geometry()] + [d.geometry() for d in docks]
    for i, a in enumerate(places):  # nothing overlaps
        assert all(not a.intersects(b) for b in places[i + 1:]), a
    assert all(QRect(0, 0, size.width(), size.height()).contains(p) for p in places)
    assert panels_that_do_not_fit(qtbot, window) == {}


@pytest.mark.parametrize("size", PROJECTORS, ids=lambda s: f"{s.width()}x{s.height()}")
def test_the_compress_workspace_fits_with_its_views_filled(qtbot, live, size):
    """With trained weights its combo boxes and tables have their entries and numbers."""
    from cnnviz.core.history import History
    from cnnviz.engine.model import init_params, params_to_numpy
    from cnnviz.qt.widgets.compress import CompressWorkspace

    window = live.window
    s = window.session
    workspace = window.findChild(CompressWorkspace)
    weights = params_to_numpy(init_params(window.network.spec, jax.random.PRNGKey(0)))
    s.load_state(s.config, s.dataset_name, weights, History())
    qtbot.waitUntil(lambda: s.dataset is not None and workspace.model.preview is not None,
                    timeout=60_000)
    show_at(qtbot, live, size)
    for view in (workspace.grid, workspace.kernels, workspace.layers):
        workspace.views.setCurrentWidget(view)
        assert panels_that_do_not_fit(qtbot, window, only={"Compress"}) == {}


def panels_that_do_not_fit(qtbot, window, skip=(), only=None) -> dict:
    """{title: (its minimum, its room, its cut texts)} of the window's panels that need
    more room than they get, show a scroll bar, or cut a text."""
    problems = {}
    for title, panel in window.panels.items():
        if title in skip or (only is not None and title not in only):
            continue
        if window.tabs.indexOf(panel) < 0 and panel.parentWidget().isHidden():
            continue  # a dock the default layout leaves closed (the View menu opens it)
        bring_forward(qtbot, window, panel)
        assert isinstance(panel, PanelScrollArea)
        inner = panel.widget()
        minimum = inner.minimumSizeHint().expandedTo(inner.minimumSize())
        room = panel.viewport().size()
        # the panel has at least its minimum: none of its widgets is squeezed below
        # theirs, and it needs no scroll bar; no text in it is cut
        cut = [label.text() for label in inner.findChildren(QLabel)
               if label.isVisible() and text_is_cut(label)]
        if (minimum.width() > room.width() or minimum.height() > room.height() or cut
                or panel.horizontalScrollBar().isVisible()
                or panel.verticalScrollBar().isVisible()):
            problems[title] = (minimum, room, cut)
    return problems


def test_side_panels_share_their_columns_as_tabs(live):
    window = live.window
    left = [window.network_dock, window.training_dock, live.docks["Draw"], window.runs_dock]
    for dock in left:
        assert window.dockWidgetArea(dock) == Qt.DockWidgetArea.LeftDockWidgetArea
        assert set(window.tabifiedDockWidgets(dock)) == set(left) - {dock}
    right = [live.docks["Predictions"], live.docks["Confusion matrix"]]
    assert window.tabifiedDockWidgets(right[0]) == right[1:]
    assert all(window.dockWidgetArea(d) == Qt.DockWidgetArea.RightDockWidgetArea for d in right)


def test_a_run_brings_the_training_tab_forward(qtbot, live):
    window = live.window
    window.network_dock.raise_()
    qtbot.waitUntil(lambda: not showing(window, window.training))
    window.actions.step.trigger()
    qtbot.waitUntil(lambda: showing(window, window.training), timeout=60_000)
    window.finish_threads(30)


# -- All Views at Once ---------------------------------------------------------------------
def test_a_large_screen_shows_every_view_side_by_side():
    plan = plan_docks(QSize(2560, 1400))  # a 1440p screen, less its panel
    assert plan.shows_all and plan.note(QSize(2560, 1400)) == ""
    assert plan.full.width() <= 2560 and plan.full.height() <= 1400


@pytest.mark.parametrize("width, height", [(1920, 1040), (1680, 1010),
                                           (1280, 1024)])
def test_a_middling_screen_shares_places_and_says_so(width, height):
    plan = plan_docks(QSize(width, height))
    assert plan is not None and not plan.shows_all
    note = plan.note(QSize(width, height))
    assert f"{width} × {height}" in note
    assert f"{plan.full.width()} × {plan.full.height()} shows them all" in note


@pytest.mark.parametrize("size", PROJECTORS, ids=lambda s: f"{s.width()}x{s.height()}")
def test_a_projector_is_too_small_for_all_views_and_keeps_the_tabs(qtbot, live, size):
    show_at(qtbot, live, size)
    assert plan_docks(size) is None
    note = live.set_layout(DOCKS, size)
    assert "too small" in note and f"{size.width()} × {size.height()}" in note
    assert live.layout == TABS
    tips = [live.window.tabs.tabToolTip(i) for i in range(live.window.tabs.count())]
    assert tips[:1 + len(BIG)] == ["Training curves", *(t for t, _ in BIG)]  # still tabs


def test_on_a_middling_screen_every_view_shown_has_its_room(qtbot, live):
    size = QSize(1680, 1010)
    show_at(qtbot, live, size)
    note = live.set_layout(DOCKS, size)
    assert "1680 × 1010" in note and live.layout == DOCKS
    qtbot.wait(100)
    window = live.window
    for title, _ in (*BIG, *SMALL):
        panel = live.panels[title]
        if not showing(window, panel):  # a tab behind another view: its turn
            bring_forward(qtbot, window, panel)
        inner = panel.widget()
        minimum = inner.minimumSizeHint().expandedTo(inner.minimumSize())
        assert minimum.width() <= panel.viewport().width(), title
        assert minimum.height() <= panel.viewport().height(), title
    assert live.set_layout(TABS) == "" and live.layout == TABS
