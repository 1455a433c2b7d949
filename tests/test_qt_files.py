"""Project files from the window: save and open round-trip, unsaved-changes prompts,
unreadable files, recent files and remembered settings."""

from __future__ import annotations

import numpy as np
import pytest
from PyQt6.QtWidgets import QMessageBox
from test_qt_support import SMALL_NET, make_window, wait_idle

from cnnviz.core.layers import Dense
from cnnviz.core.presets import get_preset
from cnnviz.io.project import load_project
from cnnviz.qt import dialogs


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    return make_window(qtbot, tmp_path, monkeypatch)


def train(window, qtbot, epochs: int = 2) -> None:
    window.network.reset(SMALL_NET)
    window.training.epochs.setValue(epochs)
    window.actions.start_pause.trigger()
    wait_idle(qtbot, window)


def test_save_then_open_restores_network_weights_and_curves(window, qtbot, tmp_path,
                                                            monkeypatch):
    train(window, qtbot)
    s, path = window.session, tmp_path / "run.cnnviz"
    spec, weights, steps = window.network.spec, s.weights, s.history.steps
    monkeypatch.setattr(dialogs, "save_path", lambda *args: str(path))
    window.actions.save.trigger()
    assert path.exists() and not window.isWindowModified()
    assert window.windowTitle().startswith("run.cnnviz")

    window.actions.new.trigger()
    assert s.weights is None and len(window.curves.metrics[0].raw) == 0
    assert window.network.spec.layers[0] == get_preset("tiny").spec.layers[0]

    monkeypatch.setattr(dialogs, "open_path", lambda *args: str(path))
    window.actions.open.trigger()
    assert window.network.spec == spec and s.history.steps == steps
    for saved, loaded in zip(weights, s.weights, strict=True):
        for key in saved:
            np.testing.assert_array_equal(saved[key], loaded[key])
    loss = window.curves.metrics[0]
    assert len(loss.raw) == steps and list(loss.val.x) == [3, 6]
    assert window.actions.start_pause.text() == "Train again"
    assert window.file.recent() == [str(path.resolve())]
    assert not window.isWindowModified()


def test_unsaved_changes_prompt_and_cancel_keeps_everything(window, monkeypatch):
    window.network.replace(4, Dense(7), "units")
    assert window.isWindowModified()
    asked = []
    monkeypatch.setattr(dialogs, "ask_save_changes",
                        lambda parent, name, training: asked.append(name) or dialogs.CANCEL)
    window.actions.new.trigger()
    assert asked == ["untitled"] and window.network.spec.layers[4] == Dense(7)
    assert not window.close() and window.isVisible()  # cancelling also keeps the window


def test_save_from_the_prompt_writes_the_file(window, tmp_path, monkeypatch):
    path = tmp_path / "kept.cnnviz"
    window.network.replace(4, Dense(7), "units")
    monkeypatch.setattr(dialogs, "ask_save_changes", lambda *args: dialogs.SAVE)
    monkeypatch.setattr(dialogs, "save_path", lambda *args: str(path))
    window.actions.new.trigger()
    assert path.exists() and window.network.spec.layers[4] != Dense(7)


def test_an_unreadable_file_is_explained_and_nothing_is_lost(window, qtbot, tmp_path,
                                                             monkeypatch):
    bad = tmp_path / "broken.cnnviz"
    bad.write_bytes(b"PK\x03\x04 definitely not a whole zip")
    window.network.replace(4, Dense(7), "units")
    monkeypatch.setattr(dialogs, "ask_save_changes", lambda *args: dialogs.DISCARD)
    monkeypatch.setattr(dialogs, "open_path", lambda *args: str(bad))
    window.actions.open.trigger()
    box = window.findChild(QMessageBox)
    assert box is not None and "broken.cnnviz" in box.text()
    assert window.network.spec.layers[4] == Dense(7) and window.file.path is None
    box.close()


def test_settings_are_remembered(qtbot, tmp_path, monkeypatch):
    first = make_window(qtbot, tmp_path, monkeypatch)
    first.training.optimizer.setCurrentText("rmsprop")
    first.training.batch_size.setValue(16)
    first.curves.smoothing.setValue(0.5)
    first.close()
    second = make_window(qtbot, tmp_path, monkeypatch)
    config = second.session.config
    assert (config.optimizer, config.batch_size) == ("rmsprop", 16)
    assert config.learning_rate == get_preset("tiny").learning_rate
    assert second.curves.smoothing.value() == 0.5


def test_saving_from_the_prompt_mid_run_keeps_the_final_weights(window, qtbot, tmp_path,
                                                                  monkeypatch):
    window.network.reset(SMALL_NET)
    window.training.epochs.setValue(1000)
    window.actions.start_pause.trigger()
    qtbot.waitUntil(lambda: len(window.curves.metrics[0].val) > 0, timeout=60_000)
    path = tmp_path / "mid-run.cnnviz"
    monkeypatch.setattr(dialogs, "ask_save_changes", lambda *args: dialogs.SAVE)
    monkeypatch.setattr(dialogs, "save_path", lambda *args: str(path))
    window.actions.new.trigger()  # stops the run, saves what it reached, then starts anew
    assert not window.session.active and window.session.weights is None
    project = load_project(path)
    assert project.weights is not None and project.history.steps >= 3
    assert project.spec == SMALL_NET


def test_other_parts_of_the_window_can_own_members_of_the_file(window, tmp_path, monkeypatch):
    path, received = tmp_path / "extra.cnnviz", []
    window.file.register_extra("notes", lambda: b"remember the dropout", received.append)
    monkeypatch.setattr(dialogs, "save_path", lambda *args: str(path))
    window.actions.save.trigger()
    assert load_project(path).extras == {"notes": b"remember the dropout"}
    window.actions.new.trigger()
    monkeypatch.setattr(dialogs, "open_path", lambda *args: str(path))
    window.actions.open.trigger()
    assert received == [None, b"remember the dropout"]
