"""Every shipped lesson walked through on a real window, headless, as a learner would:
each step's setup applies, each check fails before its action and passes after it
(the action done through the app's own commands: the step's "Show me"), and the step
turns green."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from PyQt6.QtCore import QSettings
from PyQt6.QtWidgets import QDockWidget

from cnnviz.core.lessons import load_lessons
from cnnviz.core.presets import get_preset
from cnnviz.qt import dialogs
from cnnviz.qt.app import build_window
from cnnviz.qt.lesson_host import shown
from cnnviz.qt.lessons import DOCK_NAME

LESSONS = load_lessons().lessons
TRAINING_S = 240  # the longest check: a lesson's few epochs on a small network, 2 busy CPUs


def open_app(qtbot, tmp_path, monkeypatch, extend=None):
    """The window as the app builds it (`extend(window)` adds to it before the lessons
    look at it), its lessons dock open: (panel, model, host)."""
    monkeypatch.setattr(dialogs, "ask_save_changes", lambda *args: dialogs.DISCARD)
    monkeypatch.setattr(dialogs, "show_error", lambda parent, title, message: pytest.fail(
        f"{title}: {message}"))
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window, _ = build_window(settings)
    qtbot.addWidget(window)
    if extend is not None:
        extend(window)
    window.show()
    dock = window.findChild(QDockWidget, DOCK_NAME)
    dock.show()
    panel = dock.widget().widget()
    qtbot.waitUntil(lambda: window.session.dataset is not None
                    and window.worker.device is not None, timeout=60_000)
    return SimpleNamespace(window=window, panel=panel, model=panel.model,
                           host=panel.model.host)


@pytest.fixture
def app(qtbot, tmp_path, monkeypatch):
    app = open_app(qtbot, tmp_path, monkeypatch)
    yield app
    assert app.window.finish_threads(60)


def applied(host, name: str, value) -> bool:
    """Whether the setup action `name` shows in the window."""
    s, network = host.session, host.network
    if name == "dataset":
        return s.dataset_name in value
    if name == "config":
        return all(getattr(s.config, k) == v for k, v in value.items())
    if name == "preset":
        return network.spec.layers == network.fitted(get_preset(value).spec).layers
    if name == "network":
        return [x.kind for x in network.spec.layers] == [x.kind for x in value]
    if name == "view":
        return shown(host.parts.view_widget(value))
    if name == "highlight":
        frame = host.parts.highlight
        return frame.isVisible() and frame.targets == host.parts.target_widgets(value)
    if name == "select_layer":
        return host.window.builder.table.current_row() == network.spec.names.index(value)
    if name == "reset_weights":
        return s.weights is None and s.history.steps == 0
    return True


def settle(qtbot, host) -> None:
    """Until the data a setup asked for has loaded (the network follows its shape)."""
    qtbot.waitUntil(lambda: not host.busy() and host.session.loader.loading is None,
                    timeout=60_000)


@pytest.mark.slow
@pytest.mark.parametrize("lesson", LESSONS, ids=[x.id for x in LESSONS])
def test_each_lesson_walks_through(app, qtbot, lesson):
    model, host = app.model, app.host
    if not model.available(lesson):
        pytest.skip(f"coming: needs {', '.join(lesson.coming(host.parts.features))}")
    model.open(lesson)
    try:
        for number, step in enumerate(lesson.steps):
            assert model.index == number
            settle(qtbot, host)
            assert model.error == "", f"step {number + 1}: {model.error}"
            if model.step_coming(step):
                assert not model.passed(number)
                model.next()
                continue
            for name, value in step.setup:
                assert applied(host, name, value), f"step {number + 1}: {name} = {value}"
            text = model.text()
            assert "{" not in text and text.strip()
            if step.check:
                assert not host.holds(step.check), f"step {number + 1} is done before its action"
                assert not model.passed(number)
                app.panel.show_me_button.click()
                assert model.error == "", f"step {number + 1}: {model.error}"
                qtbot.waitUntil(lambda s=step: host.holds(s.check), timeout=TRAINING_S * 1000)
                qtbot.waitUntil(lambda n=number: model.passed(n), timeout=5_000)
            app.panel.next_button.click()
        assert model.lesson is None and model.finished(lesson)
    finally:
        host.window.worker.stop_and_wait(60)
