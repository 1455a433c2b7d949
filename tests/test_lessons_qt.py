"""The Lessons panel in the window: Help > Lessons, the list (coming lessons, broken files),
a step that turns green, progress kept in the settings, restarting; the window side of the
lesson vocabulary and the highlight frame."""

from __future__ import annotations

import pytest
from PyQt6.QtCore import QSettings, Qt
from test_qt_support import make_window

from cnnviz.core import lesson_vocabulary as vocabulary
from cnnviz.core.layers import Conv2D, Dense, Flatten
from cnnviz.data import standard
from cnnviz.qt.lesson_host import shown
from cnnviz.qt.lesson_model import LessonModel
from cnnviz.qt.lessons import PREDICTIONS_BESIDE, WIDTH, add_lessons
from cnnviz.qt.live_views import add_live_views
from cnnviz.qt.widgets.compress import add_compress_workspace
from cnnviz.qt.widgets.lessons import LessonsPanel

LESSON = '''
title.en = "Kernels"
title.zh_CN = "卷积核"
summary.en = "S"
[[steps]]
text.en = "Your input is {input}; conv1 gives {shape[conv1]}."
[steps.setup]
network = [{ type = "conv2d", filters = 2, kernel_size = 3 }, { type = "flatten" },
           { type = "dense", units = 3, activation = "none" }]
highlight = "layer-editor"
select_layer = "conv1"
[[steps]]
text.en = "Make conv1 12 wide: {shape[conv1]}."
[steps.check]
layer_output_shape = { layer = "conv1", shape = [12, 12] }
[steps.solution]
edit_layer = { layer = "conv1", kernel_size = 5 }
[[steps]]
text.en = "A step for later."
requires = ["early-stopping"]
[[steps]]
text.en = "The end."
'''
COMING = '''
title.en = "Stopping early"
summary.en = "S"
requires = ["early-stopping"]
[[steps]]
text.en = "Later."
'''


@pytest.fixture
def folder(tmp_path):
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    (lessons / "01-kernels.toml").write_text(LESSON, encoding="utf-8")
    (lessons / "02-stopping-early.toml").write_text(COMING, encoding="utf-8")
    (lessons / "03-broken.toml").write_text("title = ", encoding="utf-8")
    return lessons


@pytest.fixture
def app(qtbot, tmp_path, monkeypatch, folder):
    window = make_window(qtbot, tmp_path, monkeypatch)  # 16 x 16 images, 3 classes
    live = add_live_views(window, window.session)
    window.add_shutdown(live.shutdown)
    lessons = add_lessons(window, live, folder)
    yield lessons
    window.finish_threads(30)


def test_help_lessons_opens_the_panel_listing_lessons_coming_and_broken(app):
    window = app.host.window
    assert not app.dock.isVisible()
    assert window.help_menu.actions()[0] is app.action
    app.action.trigger()
    assert app.dock.isVisible()
    items = [app.panel.lessons.item(i) for i in range(app.panel.lessons.count())]
    assert [i.text() for i in items] == ["1. Kernels", "2. Stopping early (coming)"]
    assert not items[1].flags() & Qt.ItemFlag.ItemIsEnabled
    assert "early stopping" in items[1].toolTip()
    assert app.panel.problems.isVisible() and "03-broken" in app.panel.problems.text()


def test_an_open_lesson_leaves_the_predictions_column_readable_on_a_projector(app, qtbot):
    window = app.host.window
    window.resize(1280, 720)
    window.show()
    qtbot.waitUntil(lambda: window.size().width() == 1280)
    predictions = app.host.live.docks["Predictions"]
    app.action.trigger()
    qtbot.waitUntil(lambda: predictions.width() >= PREDICTIONS_BESIDE - 10)
    assert app.dock.width() >= WIDTH - 10 and predictions.geometry().right() < app.dock.x()
    assert window.centralWidget().width() >= 0.25 * window.width()  # the curves keep room


def test_a_step_sets_up_quotes_the_learners_numbers_and_turns_green(app, qtbot):
    panel, model, host = app.panel, app.model, app.host
    app.action.trigger()
    panel.lessons.setCurrentRow(0)
    panel.open_button.click()
    assert panel.pages.currentIndex() == 1 and panel.progress.text() == "Step 1 of 4"
    assert [x.kind for x in host.network.spec.layers] == ["conv2d", "flatten", "dense"]
    frame = host.parts.highlight
    assert frame.isVisible() and frame.targets == [host.window.builder.editor]
    assert "Your input is 16 × 16 × 1; conv1 gives 14 × 14 × 2." in panel.text.text()
    panel.next_button.click()
    assert not host.parts.highlight.isVisible()  # each step frames only what it names
    assert panel.status.text().startswith("To do")
    host.network.replace(0, Conv2D(2, 5), "kernel_size")  # as the learner would
    qtbot.waitUntil(lambda: panel.status.text() == "✓ Done")
    assert "12 × 12 × 2" in panel.text.text()
    panel.next_button.click()  # a step for later: shown as coming, nothing done
    assert "Coming in a later version" in panel.status.text()
    assert not panel.show_me_button.isEnabled()
    panel.next_button.click()
    assert panel.next_button.text() == "Finish ✓"
    panel.next_button.click()
    assert model.lesson is None and panel.lessons.item(0).text() == "✓ 1. Kernels"


def test_progress_is_kept_and_the_network_is_not_set_up_again(app, folder):
    model, host = app.model, app.host
    model.open(model.catalogue.lessons[0])
    model.next()
    model.show_me()
    assert model.passed(1)
    host.network.replace(2, Dense(3, "relu"), "activation")  # the learner's own change
    layers = host.network.spec.layers
    again = LessonModel(model.catalogue, host, host.window.settings)  # the next start
    panel = LessonsPanel(again)
    assert again.lesson.id == "01-kernels" and again.index == 1 and again.passed(1)
    assert host.network.spec.layers == layers and panel.status.text() == "✓ Done"
    again.restart()
    assert again.index == 0 and not again.passed(1)
    assert host.network.spec.layers[0] == Conv2D(2, 3)


def test_show_me_explains_what_it_cannot_do(app):
    model, panel = app.model, app.panel
    model.open(model.catalogue.lessons[0])
    model.next()
    app.host.network.edit((Flatten(), Dense(3, "none")), "remove conv1")
    model.show_me()
    assert "your network has no layer conv1" in panel.note.text()


def test_data_that_is_not_downloaded_is_replaced_and_the_learner_told(app, monkeypatch):
    monkeypatch.setattr(standard, "is_cached", lambda *args: False)
    app.host.apply((("dataset", ("cifar10", "digits-32")),))
    assert app.host.session.dataset_name == "digits-32"
    assert "cifar10 is not downloaded" in " ".join(app.host.notes)


def test_the_window_carries_out_the_whole_vocabulary(app):
    host = app.host
    assert set(host.actions) == {t.name for t in vocabulary.ACTIONS}
    assert set(host.checks) == {t.name for t in vocabulary.CHECKS}
    add_compress_workspace(host.window)
    assert host.parts.features == {"compression", "freezing"}
    for view in vocabulary.VIEWS:
        if view == "step-through":
            continue  # not in the window yet: lessons needing it are coming
        host.apply((("view", view),))
        assert shown(host.parts.view_widget(view)), view
    for target in vocabulary.TARGETS:
        if target == "step-through":
            continue
        host.parts.frame(target)
        assert host.parts.highlight.isVisible(), target


def test_the_frame_follows_its_target(app, qtbot):
    host = app.host
    host.apply((("view", "training"),))
    host.parts.frame("learning-rate")
    target = host.window.training.learning_rate
    frame = host.parts.highlight.geometry()
    assert frame.contains(target.mapTo(host.window, target.rect().center()))
    host.window.resize(host.window.width() - 120, host.window.height())
    qtbot.waitUntil(lambda: host.parts.highlight.geometry().contains(
        target.mapTo(host.window, target.rect().center())))
    host.apply((("view", "network"),))  # the training panel goes behind the network's tab
    qtbot.waitUntil(lambda: not host.parts.highlight.isVisible())


def test_a_lesson_opened_last_time_comes_back_open(qtbot, tmp_path, monkeypatch, folder):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("lessons/open", "01-kernels")
    settings.setValue("lessons/01-kernels/step", 3)
    settings.sync()
    window = make_window(qtbot, tmp_path, monkeypatch)
    lessons = add_lessons(window, add_live_views(window, window.session), folder)
    assert lessons.model.lesson.id == "01-kernels" and lessons.model.index == 3
    assert lessons.panel.pages.currentIndex() == 1
    window.finish_threads(30)

