"""Presentation mode (one view on the whole screen, larger text, a slim bar of controls)
and the interface's text size (Ctrl+= / Ctrl+-, remembered)."""

import cnnviz.engine  # noqa: F401, I001  (first: sets XLA's flags before JAX starts)

import pyqtgraph as pg
import pytest
from PyQt6.QtCore import QSettings, Qt
from PyQt6.QtGui import QKeySequence
from PyQt6.QtWidgets import QApplication, QDockWidget, QToolBar, QWidget
from test_probe import qt_garbage_dies_in_this_thread  # noqa: F401 (fixture)
from test_qt_support import make_window

from cnnviz.qt.live_views import TABS, add_live_views
from cnnviz.qt.main_window import FONT_SCALE_KEY, MainWindow
from cnnviz.qt.presentation import TEXT_SCALE
from cnnviz.qt.theme import FONT_SCALES, font_scale_step
from cnnviz.qt.widgets.probe_bar import ProbeBar


@pytest.fixture
def app_font():
    """Tests that change the application's font put it back."""
    font = QApplication.font()
    yield font
    QApplication.setFont(font)


@pytest.fixture
def live(qtbot, tmp_path, monkeypatch, app_font):
    window = make_window(qtbot, tmp_path, monkeypatch)
    live = add_live_views(window, window.session, TABS)
    window.presentation.add_control(ProbeBar(live.model))
    qtbot.waitUntil(lambda: live.model.views is not None, timeout=60_000)
    yield live
    assert live.shutdown(10)


def visible_bars(window) -> list:
    return [w for w in (*window.findChildren(QDockWidget), *window.findChildren(QToolBar),
                        window.statusBar()) if w.isVisible()]


def test_presentation_shows_one_view_large_and_puts_everything_back(qtbot, live):
    window, presentation = live.window, live.window.presentation
    window.show_tab(live.views["Feature maps"])
    before = visible_bars(window)
    assert before and "F11" in [k.toString() for k in presentation.action.shortcuts()]
    assert QKeySequence("Ctrl+Shift+P") in presentation.action.shortcuts()
    assert presentation.action in window.view_menu.actions()

    presentation.action.trigger()  # as View > Presentation Mode or F11 would
    panel = live.panels["Feature maps"]
    assert presentation.active and presentation.title == "Feature maps"
    assert window.centralWidget().currentWidget() is presentation.page
    assert presentation.page.isAncestorOf(panel) and panel.isVisible()
    assert visible_bars(window) == []  # docks, toolbar and status bar make way
    assert window.isFullScreen()
    assert panel.font().pointSizeF() == pytest.approx(
        QApplication.font().pointSizeF() * TEXT_SCALE)
    scene_font = live.views["Feature maps"].panel.scene().font()
    assert scene_font.pointSizeF() == pytest.approx(panel.font().pointSizeF())
    title = live.views["Feature maps"].panel.cells["input"].label.item.font()
    assert title.pointSizeF() == pytest.approx(panel.font().pointSizeF())  # mosaic titles
    probe_bars = presentation.bar.findChildren(ProbeBar)
    assert probe_bars and not probe_bars[0].isVisibleTo(presentation.bar)  # the view's own
    assert presentation.bar.next_layer.isEnabled()  # feature maps step through layers

    presentation.show_view("Predictions")  # a view from a dock
    predictions = live.panels["Predictions"]
    assert presentation.page.isAncestorOf(predictions)
    assert window.tabs.indexOf(panel) >= 0  # feature maps back in their tab
    assert not presentation.bar.next_layer.isEnabled()

    presentation.action.trigger()  # leave
    assert not presentation.active and not window.isFullScreen()
    assert live.docks["Predictions"].widget() is predictions
    assert set(visible_bars(window)) == set(before)
    assert panel.font().pointSizeF() == pytest.approx(QApplication.font().pointSizeF())
    assert window.tabs.currentWidget() is panel  # where the class left off


def test_presentation_starts_and_steps_the_run_and_moves_through_layers(qtbot, live):
    window, presentation = live.window, live.window.presentation
    window.show_tab(live.views["Feature maps"])
    presentation.enter()
    view = live.views["Feature maps"]
    names = [m.name for m in live.model.views.probe.layers]
    assert view.selected == (names[0], 0)
    presentation.bar.next_layer.click()
    assert view.selected == (names[1], 0)
    presentation.bar.previous_layer.click()
    presentation.bar.previous_layer.click()  # no further back than the first layer
    assert view.selected == (names[0], 0)
    presentation.show_view("Training curves")  # a view without probe controls of its own
    probe = live.model.probe
    assert next(iter(presentation.bar.findChildren(ProbeBar))).isVisible()
    actions = {b.defaultAction() for b in presentation.bar.findChildren(type(
        presentation.bar.next_layer)) if b.defaultAction() is not None}
    assert {window.actions.start_pause, window.actions.step} <= actions
    window.actions.step.trigger()  # one batch, as the bar's Step button does
    qtbot.waitUntil(lambda: window.session.history.steps == 1, timeout=60_000)
    live.model.step(+1)
    assert live.model.probe is not probe
    qtbot.keyClick(presentation.page, Qt.Key.Key_Escape)
    assert not presentation.active
    window.finish_threads(30)


def test_closing_in_presentation_saves_the_window_s_own_layout(qtbot, live):
    window = live.window
    window.presentation.enter("Training curves")
    window.close()
    assert not window.presentation.active
    assert window.network_dock.isVisibleTo(window)  # saved shown, as it was


# -- text size --------------------------------------------------------------------------
def test_text_size_steps_through_the_scales_and_stops_at_the_ends():
    assert font_scale_step(1.0, +1) == FONT_SCALES[FONT_SCALES.index(1.0) + 1]
    assert font_scale_step(1.0, -1) == FONT_SCALES[FONT_SCALES.index(1.0) - 1]
    assert font_scale_step(FONT_SCALES[-1], +1) == FONT_SCALES[-1]
    assert font_scale_step(FONT_SCALES[0], -3) == FONT_SCALES[0]
    assert font_scale_step(1.07, 0) == 1.1  # the nearest


def test_ctrl_plus_and_minus_scale_the_whole_interface_and_are_remembered(
        qtbot, tmp_path, monkeypatch, app_font):
    window = make_window(qtbot, tmp_path, monkeypatch)
    base = QApplication.font().pointSizeF()
    larger = next(a for a in QWidget.actions(window) if QKeySequence("Ctrl+=") in a.shortcuts())
    smaller = next(a for a in QWidget.actions(window) if QKeySequence("Ctrl+-") in a.shortcuts())
    larger.trigger()
    larger.trigger()
    scale = FONT_SCALES[FONT_SCALES.index(1.0) + 2]
    assert QApplication.font().pointSizeF() == pytest.approx(base * scale)
    qtbot.wait(20)  # the windows hear of it through their event queue
    assert window.training.epochs.font().pointSizeF() == pytest.approx(base * scale)
    plot = window.curves.view
    assert plot.scene().font().pointSizeF() == pytest.approx(base * scale)  # pyqtgraph's too
    axis = window.curves.metrics[0].plot.getAxis("left")
    assert axis.label.font().pointSizeF() == pytest.approx(base * scale)  # its text items
    smaller.trigger()
    assert QApplication.font().pointSizeF() == pytest.approx(
        base * FONT_SCALES[FONT_SCALES.index(1.0) + 1])
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    assert settings.value(FONT_SCALE_KEY, type=float) == FONT_SCALES[FONT_SCALES.index(1.0) + 1]
    assert MainWindow.text_scale(window) == settings.value(FONT_SCALE_KEY, type=float)
    assert isinstance(window.curves.view, pg.GraphicsView)
