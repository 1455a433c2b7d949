"""What got in a new learner's way, each reproduced: fields that took the scroll wheel,
stale texts after a change of data or network, trained work dropped without a word, a
project file that would not open from the command line, text cut in narrow panels,
tracebacks for expected errors, a moving button, a preset's count without its context,
no word that the window needs a display, augmentation without a control, and wording."""

import cnnviz.engine  # noqa: F401, I001  (first: sets XLA's flags before JAX starts)

import configparser
import logging
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PyQt6.QtCore import QPoint, QPointF, QSize, Qt
from PyQt6.QtGui import QPalette, QWheelEvent
from PyQt6.QtWidgets import QApplication, QLabel, QMessageBox, QToolButton
from test_probe import qt_garbage_dies_in_this_thread  # noqa: F401 (fixture)
from test_qt_layout import bring_forward, show_at, text_is_cut
from test_qt_support import CLASSES, SMALL_NET, make_window, tiny_dataset, wait_idle

from cnnviz.core.layers import Dense, GlobalAvgPool
from cnnviz.core.network import NetworkSpec
from cnnviz.core.presets import adapted_from, get_preset, published_classes
from cnnviz.core.snapshot import FINISHED
from cnnviz.data.dataset import Dataset, DatasetError
from cnnviz.engine.trainer import initial_params
from cnnviz.io.project import SUFFIX
from cnnviz.io.weights import flat_names
from cnnviz.qt import app as qt_app
from cnnviz.qt import dialogs
from cnnviz.qt.dataset_loader import DataRequest, DatasetLoader
from cnnviz.qt.live_views import TABS, add_live_views
from cnnviz.qt.session import IDLE

ASSETS = Path(__file__).resolve().parents[1] / "cnnviz" / "qt" / "assets"
ASK_SAVE_CHANGES = dialogs.ask_save_changes  # the real one: make_window answers for it


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    window = make_window(qtbot, tmp_path, monkeypatch)
    window.network.reset(SMALL_NET)
    return window


def train(window, qtbot, epochs: int = 1) -> None:
    window.training.epochs.setValue(epochs)
    window.actions.start_pause.trigger()
    wait_idle(qtbot, window)
    assert window.session.state == FINISHED


def four_classes() -> Dataset:
    d = tiny_dataset()
    names = (*CLASSES, "d")
    return replace(d, class_names=names, y_train=d.y_train % 4, y_val=d.y_val % 4,
                   y_test=d.y_test % 4)


def wheel(widget, steps: int = 1) -> QWheelEvent:
    event = QWheelEvent(QPointF(5, 5), QPointF(widget.mapToGlobal(QPoint(5, 5))),
                        QPoint(0, 0), QPoint(0, 120 * steps), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)
    return event


# 1 -----------------------------------------------------------------------------------------
def test_fields_take_the_wheel_only_when_focused(window, qtbot):
    epochs = window.training.epochs
    before = epochs.value()
    event = wheel(epochs)
    assert epochs.value() == before and not event.isAccepted()  # left to the panel
    epochs.setFocus()
    qtbot.waitUntil(epochs.hasFocus)
    wheel(epochs)
    assert epochs.value() == before + 1  # focused, the wheel changes it
    assert epochs.focusPolicy() == Qt.FocusPolicy.StrongFocus  # the wheel does not focus
    editor = window.builder.editor.editor("filters")
    filters = editor.value()
    wheel(editor)
    assert editor.value() == filters


# 2 -----------------------------------------------------------------------------------------
def test_the_draw_view_forgets_the_old_classes_with_new_data(window, qtbot):
    live = add_live_views(window, window.session, TABS)
    draw = live.views["Draw"]
    qtbot.waitUntil(lambda: live.model.views is not None, timeout=60_000)
    live.model.draw(np.full(window.session.dataset.input_shape, 200, np.uint8))
    qtbot.waitUntil(lambda: "The network thinks" in draw.verdict.text(), timeout=30_000)
    assert any(name in draw.verdict.text() for name in CLASSES)
    live.model.set_dataset(four_classes())
    assert "The network thinks" not in draw.verdict.text()
    assert live.shutdown(10)


# 3, 11 -------------------------------------------------------------------------------------
def test_a_finished_run_keeps_its_figures_until_the_network_changes(window, qtbot):
    train(window, qtbot)
    # the final figures stay (they went when the run's end was noticed, but for speed)
    qtbot.waitUntil(lambda: "validation" in window.training.metrics.text())
    metrics = window.training.metrics.text()
    assert "loss" in metrics and "accuracy" in metrics and "images/s" in metrics
    assert window.training.state.text() == "Finished"
    window._use_preset(get_preset("tiny"))  # another network: that run is over
    assert window.session.state == IDLE and window.training.state.text() == "Ready"
    assert window.training.metrics.text() == ""
    assert "Epoch 1/" in window.training.progress.format()


# 4 -----------------------------------------------------------------------------------------
def test_the_status_bar_drops_a_reason_not_to_train_once_it_is_gone(qtbot, tmp_path,
                                                                    monkeypatch):
    data = {"three": tiny_dataset(), "four": four_classes()}
    window = make_window(qtbot, tmp_path, monkeypatch)
    window.loader._load = lambda name, **kwargs: data.get(name, data["three"])
    window.session.select_dataset("four")
    qtbot.waitUntil(lambda: window.session.dataset is data["four"])
    assert window.network.spec.layers[-1].units == 4  # adapted, as an undoable edit
    assert window.session.blocker() is None and window.actions.start_pause.isEnabled()
    assert not window.statusBar().currentMessage().startswith("Cannot train")


# 5 -----------------------------------------------------------------------------------------
def test_the_data_chosen_last_time_does_not_make_the_project_changed(qtbot, tmp_path,
                                                                     monkeypatch):
    window = make_window(qtbot, tmp_path, monkeypatch)  # 3 classes; the preset has 5
    assert window.network.spec.layers[-1].units == len(CLASSES)
    assert not window.file.modified and not window.windowTitle().startswith("untitled[*]*")
    assert window.network.undo_stack.count() == 0 and not window.actions.undo.isEnabled()


# 6 -----------------------------------------------------------------------------------------
GAP_NET = NetworkSpec((16, 16, 1), (GlobalAvgPool(), Dense(10, "none")))


def test_switching_data_keeps_weights_that_fit_and_the_old_curves(window, qtbot):
    s = window.session
    train(window, qtbot)
    weights, steps = s.weights, s.history.steps
    s.select_dataset("more of the same")  # the test's loader gives the same shape of data
    qtbot.waitUntil(lambda: s.dataset is not None)
    assert s.weights is weights  # they fit: a run continues from them
    assert s.history.steps == 0 and s.previous.steps == steps  # the curves: the run before
    assert s.state == IDLE and window.training.state.text() == "Ready"
    previous = window.curves.metrics[0].previous
    assert len(previous.getData()[0]) == steps and "the run before" in window.curves.legend.text()
    assert window.actions.start_pause.text() == "Continue"


def test_whether_a_switch_discards_the_weights_follows_their_shapes(window):
    s = window.session
    assert s.dataset_name == "shapes"
    assert not s.switch_discards("digits")  # no weights, nothing to discard
    window.network.reset(GAP_NET)
    s.weights = [dict(w) for w in initial_params(GAP_NET, 0)]
    assert not s.switch_discards("mnist")  # 10 classes; global pooling fits any size
    assert s.switch_discards("cifar10")  # colour: the dense layer gets 3 inputs, not 1
    assert not s.switch_discards("shapes")  # the data in use
    assert s.switch_discards("folder:/somewhere")  # unknown until read
    window.network.reset(SMALL_NET)
    s.weights = [dict(w) for w in initial_params(SMALL_NET, 0)]
    assert s.switch_discards("digits")  # 28 x 28, not 16 x 16: the dense layer's inputs
    assert flat_names(SMALL_NET, s.weights)  # they are the network's weights


def test_discarding_trained_weights_for_other_data_is_asked_first(window, monkeypatch):
    s = window.session
    s.weights = [dict(w) for w in initial_params(SMALL_NET, 0)]
    asked = []
    monkeypatch.setattr(dialogs, "confirm", lambda *args: asked.append(args) or False)
    picker = window.training.data
    picker._on_activated(picker.combo.findData("digits"))
    assert len(asked) == 1 and "digits" in asked[0][2]
    assert s.dataset_name == "shapes" and s.weights is not None  # cancelled: all kept
    assert picker.combo.currentData() == "shapes"
    monkeypatch.setattr(dialogs, "confirm", lambda *args: True)
    picker._on_activated(picker.combo.findData("digits"))
    assert s.dataset_name == "digits"


def test_train_again_asks_and_keeps_the_old_curves(window, qtbot, monkeypatch):
    s = window.session
    train(window, qtbot)
    steps, weights = s.history.steps, s.weights
    assert window.actions.start_pause.text() == "Train again"
    monkeypatch.setattr(dialogs, "confirm", lambda *args: False)
    window.actions.start_pause.trigger()
    window.actions.step.trigger()
    assert not s.active and s.weights is weights and s.history.steps == steps
    monkeypatch.setattr(dialogs, "confirm", lambda *args: True)
    window.actions.start_pause.trigger()
    assert s.active and s.previous.steps == steps
    wait_idle(qtbot, window)
    assert s.history.steps == steps and s.weights is not weights


# 7 -----------------------------------------------------------------------------------------
def test_a_project_named_on_the_command_line_opens_in_the_window(monkeypatch):
    from cnnviz import cli

    opened = []
    monkeypatch.setattr(qt_app, "main", lambda argv: opened.append(argv) or 0)
    assert cli.main([f"run{SUFFIX}"]) == 0
    assert opened == [[f"run{SUFFIX}"]]
    assert cli.main([]) == 0 and opened[-1] == []


def test_a_file_manager_opens_projects_with_cnnviz():
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(ASSETS / "cnnviz.desktop")
    desktop = entry["Desktop Entry"]
    assert desktop["Type"] == "Application" and desktop["Exec"] == "cnnviz %f"
    mime = desktop["MimeType"].rstrip(";")
    ns = {"m": "http://www.freedesktop.org/standards/shared-mime-info"}
    root = ET.parse(ASSETS / "cnnviz-mime.xml").getroot()
    kind = root.find("m:mime-type", ns)
    assert kind.get("type") == mime
    assert kind.find("m:glob", ns).get("pattern") == f"*{SUFFIX}"


# 8, 10 -------------------------------------------------------------------------------------
@pytest.mark.parametrize("size", [QSize(1280, 720), QSize(1024, 768)],
                         ids=lambda s: f"{s.width()}x{s.height()}")
def test_hover_values_and_the_confusion_matrix_fit_their_panels(window, qtbot, size):
    live = add_live_views(window, window.session, TABS)
    qtbot.waitUntil(lambda: live.model.views is not None, timeout=60_000)
    show_at(qtbot, live, size)
    maps = live.views["Feature maps"]
    window.show_tab(maps)
    qtbot.waitUntil(lambda: maps.detail.maps is not None)
    detail = maps.detail

    def hover_the_centre() -> str:  # once the enlarged channel has its place
        detail._on_move(detail.item.mapToScene(detail.item.boundingRect().center()))
        return detail.value.text()

    qtbot.waitUntil(lambda: hover_the_centre().startswith("row "))
    assert ": " in detail.value.text()
    for label in (detail.title, detail.value, detail.scale):
        assert not text_is_cut(label), label.text()

    confusion = live.views["Confusion matrix"]
    bring_forward(qtbot, window, live.panels["Confusion matrix"])
    qtbot.waitUntil(lambda: confusion.confusion is not None)
    confusion.show_cell(0, 0)
    qtbot.wait(50)
    panel = live.panels["Confusion matrix"]
    assert not panel.verticalScrollBar().isVisible()
    assert not panel.horizontalScrollBar().isVisible()
    for label in (confusion.title, confusion.cell_title):
        assert not text_is_cut(label), label.text()
    assert live.shutdown(10)


# 12 ----------------------------------------------------------------------------------------
def test_an_expected_loading_error_is_a_dialog_not_a_traceback(qtbot, caplog):
    def offline(name, **kwargs):
        raise DatasetError("could not download cifar-10-binary.tar.gz:\n  no network")

    loader = DatasetLoader(offline)
    with caplog.at_level(logging.INFO), qtbot.waitSignal(loader.failed) as failed:
        loader.request(DataRequest("cifar10"))
    assert isinstance(failed.args[1], DatasetError)
    assert loader.shutdown(10)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]

    def broken(name, **kwargs):
        raise RuntimeError("a bug")

    loader = DatasetLoader(broken)
    with caplog.at_level(logging.INFO), qtbot.waitSignal(loader.failed):
        loader.request(DataRequest("shapes"))
    assert loader.shutdown(10)
    assert [r for r in caplog.records if r.exc_info]  # a real fault keeps its traceback


# 13 ----------------------------------------------------------------------------------------
def test_the_remove_button_keeps_its_place(window, qtbot):
    builder = window.builder
    button = next(b for b in builder.findChildren(QToolButton)
                  if b.defaultAction() is builder.remove_action)

    def place():
        return button.mapTo(builder, QPoint(0, 0))

    builder.table.select_row(0)  # a conv layer: five settings
    qtbot.wait(20)
    first = place()
    builder.table.select_row(2)  # flatten: none
    qtbot.wait(20)
    assert place() == first
    button.click()  # and a second click, where the first one was, removes again
    qtbot.wait(20)
    assert place() == first


# 15 ----------------------------------------------------------------------------------------
def test_an_adapted_preset_says_what_it_has_as_published(window):
    preset = get_preset("keras-cifar10")
    assert published_classes(preset) == 10
    window.network.reset(window.network.fitted(preset.spec))  # on 16x16x1, 3 classes
    assert adapted_from(window.network.spec, window.network.num_classes) is preset
    totals = window.builder._totals.text()
    # the Keras tutorial's count (Conv32-Pool-Conv64-Pool-Conv64-Dense64-Dense10 on 32x32x3)
    keras = (3 * 3 * 3 * 32 + 32) + (3 * 3 * 32 * 64 + 64) + (3 * 3 * 64 * 64 + 64) \
        + (4 * 4 * 64 * 64 + 64) + (64 * 10 + 10)
    assert keras == 122_570 and "122,570 parameters" in totals
    here = window.network.analysis.total_params
    assert f"<b>{here:,}</b> parameters" in totals and here != keras
    assert "adapted" in totals and "3 classes" in totals and "32 × 32 × 3" in totals
    window.network.reset(preset.spec)  # as published: nothing to say
    assert adapted_from(preset.spec, 10) is None


# 16 ----------------------------------------------------------------------------------------
def test_without_a_display_the_window_says_so_in_one_line(monkeypatch, capsys):
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(qt_app.sys, "platform", "linux")
    assert qt_app.main([]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("cnnviz: error: the window needs a display") and "\n" not in err
    assert "QT_QPA_PLATFORM" in err and "cnnviz train" in err
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert qt_app.missing_display() == ""


# 17 ----------------------------------------------------------------------------------------
def test_augmentation_is_chosen_in_the_training_panel(window, monkeypatch):
    panel, s = window.training, window.session
    panel.augment["flip"].setChecked(True)
    panel.augment["noise"].setChecked(True)
    assert s.config.augment == ("flip", "noise")
    s.set_config(augment=("shift",))  # e.g. a project opened: the boxes follow
    assert [n for n, box in panel.augment.items() if box.isChecked()] == ["shift"]
    started = []
    monkeypatch.setattr(window.worker, "start", lambda *args: started.append(args))
    window.actions.start_pause.trigger()
    assert started[0][2].augment == ("shift",)  # what the trainer is given


# wording ---------------------------------------------------------------------------------
def test_wording(window, monkeypatch):
    doc = window.builder.editor._doc
    assert doc.isEnabled()  # the layer's explanation reads as text, not as disabled
    assert doc.palette().color(QPalette.ColorRole.WindowText) == window.palette().color(
        QPalette.ColorGroup.Active, QPalette.ColorRole.WindowText)
    toggles = [a.text() for a in window.view_menu.actions()]
    assert "Toolbar" in toggles and "Main" not in toggles
    shown = []
    monkeypatch.setattr(QMessageBox, "exec", lambda box: shown.append(
        box.informativeText()) or QMessageBox.StandardButton.Cancel)
    ASK_SAVE_CHANGES(window, "untitled", True)  # said of a paused run too: it must fit
    assert "will be stopped" in shown[0] and "is running" not in shown[0]


def test_the_filters_view_names_what_it_shows(window, qtbot):
    live = add_live_views(window, window.session, TABS)
    filters = live.views["Filters"]
    assert filters.gradient.text() == "Gradient"  # what it shows, not an update
    intro = next(label.text() for label in filters.findChildren(QLabel)
                 if "filter" in label.text())
    assert "a square per filter" in intro and "a row per filter" in intro
    assert live.shutdown(10)
