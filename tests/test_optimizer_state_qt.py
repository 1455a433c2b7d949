"""Start after Stop continues the run with the optimizer state it left; anything that
makes it another run (an edited network, a frozen layer, a reset) starts a fresh one; a
saved project keeps the state, and a damaged state costs only itself."""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import replace

import numpy as np
import pytest
from test_qt_support import SMALL_NET, make_window, wait_idle

from cnnviz.core.commands import Stop
from cnnviz.io.project import load_project, save_project
from cnnviz.qt import dialogs


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    window = make_window(qtbot, tmp_path, monkeypatch)
    yield window
    window.close()


def _handed(window, monkeypatch) -> list:
    """The optimizer state each run is started with."""
    handed, start = [], window.worker.start

    def spy(*args):
        handed.append(args[6] if len(args) > 6 else None)
        start(*args)

    monkeypatch.setattr(window.worker, "start", spy)
    return handed


def _train_and_stop(window, qtbot, steps: int = 4) -> None:
    steps += window.session.history.steps
    window.actions.start_pause.trigger()
    qtbot.waitUntil(lambda: window.session.history.steps >= steps or (
        window.worker._trainer is not None and window.worker._trainer.history.steps >= steps),
        timeout=60_000)
    window.worker.command(Stop())
    wait_idle(qtbot, window)


def _trained_and_saved(window, qtbot, path, monkeypatch):
    """A run trained a few steps, stopped, and saved to `path`."""
    window.network.reset(SMALL_NET)
    window.training.epochs.setValue(1000)
    _train_and_stop(window, qtbot)
    monkeypatch.setattr(dialogs, "save_path", lambda *args: str(path))
    window.actions.save.trigger()


def _adam_count(state) -> int:
    """Adam's own step count in a kept state (leaves in tree order: optax's
    InjectStatefulHyperparamsState count, learning rate, weight decay, then Adam's count)."""
    return int(state.leaves[3])


def test_start_after_stop_continues_with_the_optimizer_state(window, qtbot, monkeypatch):
    window.network.reset(SMALL_NET)
    window.training.epochs.setValue(1000)
    handed = _handed(window, monkeypatch)
    _train_and_stop(window, qtbot)
    kept = window.session.optimizer_state()
    assert kept is not None and _adam_count(kept) == window.session.history.steps > 0
    _train_and_stop(window, qtbot)
    assert handed == [None, kept]  # the second run went on from the first's state
    assert _adam_count(window.session.optimizer_state()) == window.session.history.steps

    # an edited network is another run: a fresh state
    conv = window.network.spec.layers[0]
    window.network.replace(0, replace(conv, activation="tanh"))
    assert window.session.weights is not None and window.session.optimizer_state() is None
    _train_and_stop(window, qtbot)
    assert handed[-1] is None

    # freezing a layer keeps the weights and curves, not the optimizer's state
    assert window.session.optimizer_state() is not None
    window.network.replace(3, replace(window.network.spec.layers[3], trainable=False))
    assert window.session.optimizer_state() is None

    window.session.reset_weights()
    assert window.session.optimizer_state() is None


def test_a_saved_project_continues_with_its_optimizer_state(window, qtbot, tmp_path,
                                                            monkeypatch):
    path = tmp_path / "kept.cnnviz"
    _trained_and_saved(window, qtbot, path, monkeypatch)
    kept = window.session.optimizer_state()
    window.actions.new.trigger()
    assert window.session.optimizer_state() is None
    assert window.files.open_path(str(path))
    opened = window.session.optimizer_state()
    assert opened is not None and opened.steps == window.session.history.steps
    assert [a.tolist() for a in opened.leaves] == [a.tolist() for a in kept.leaves]
    handed = _handed(window, monkeypatch)
    _train_and_stop(window, qtbot)
    assert handed == [opened]
    assert _adam_count(window.session.optimizer_state()) == window.session.history.steps

    # the run in place restored as it is: its optimizer's state goes on with it (another
    # run restored starts a fresh one: tests/test_restore_run_state_qt.py)
    run = window.session.runs.get(window.session.runs.current)
    assert run.weights is not None
    kept = window.session.optimizer_state()
    window.session.restore_run(run)
    assert window.session.weights is not None and window.session.optimizer_state() is kept


def _damage(path, member: str) -> None:
    """Flip bytes of `member` and re-sign it in the manifest, as a wrong write would."""
    with zipfile.ZipFile(path) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    data = bytearray(members[member])
    data[len(data) // 2:] = b"\x00" * (len(data) - len(data) // 2)
    members[member] = bytes(data)
    manifest = json.loads(members["manifest.json"])
    manifest["sha256"][member] = hashlib.sha256(data).hexdigest()
    members["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for name, value in members.items():
            zf.writestr(name, value)


def test_a_damaged_optimizer_state_loses_only_itself(window, qtbot, tmp_path, monkeypatch):
    path = tmp_path / "damaged.cnnviz"
    _trained_and_saved(window, qtbot, path, monkeypatch)
    steps = window.session.history.steps
    _damage(path, "optimizer.npz")
    assert load_project(path).optimizer_state is None
    window.actions.new.trigger()
    assert window.files.open_path(str(path))
    assert window.session.history.steps == steps and window.session.weights is not None
    assert window.session.optimizer_state() is None
    assert "The optimizer state was not read" in window.statusBar().currentMessage()


def test_a_state_the_engine_refuses_leaves_a_note_and_a_fresh_start(window, qtbot, tmp_path,
                                                                     monkeypatch):
    path = tmp_path / "shuffled.cnnviz"
    _trained_and_saved(window, qtbot, path, monkeypatch)
    project = load_project(path)
    # each array shaped as some weight, but in the wrong places: only the tree tells
    state = project.optimizer_state
    save_project(path, replace(project, optimizer_state=replace(
        state, leaves=state.leaves[:4] + state.leaves[4:][::-1])))
    window.actions.new.trigger()
    assert window.files.open_path(str(path)) and window.session.optimizer_state() is not None
    steps = window.session.history.steps
    _train_and_stop(window, qtbot)
    assert "The optimizer state kept with the run was not used" in (
        window.statusBar().currentMessage())
    assert _adam_count(window.session.optimizer_state()) == window.session.history.steps - steps


def test_a_state_of_another_optimizer_or_step_is_dropped_on_opening(tmp_path):
    from cnnviz.core.config import TrainConfig
    from cnnviz.core.history import History
    from cnnviz.core.optimizer_leaves import OptimizerLeaves
    from cnnviz.io.project import Project

    weights = [{"kernel": np.zeros((3, 3, 1, 4), np.float32), "bias": np.zeros(4, np.float32)},
               {}, {}, {"kernel": np.zeros((196, 3), np.float32),
                        "bias": np.zeros(3, np.float32)}]
    leaves = (np.asarray(2, np.int32), np.asarray(0.1, np.float32),
              np.asarray(0.0, np.float32), *(v for w in weights for v in w.values()))
    history = History([1.0, 0.9], [0.1, 0.2])
    path = tmp_path / "p.cnnviz"
    for kept, note in ((OptimizerLeaves("rmsprop", 2, leaves), "it belongs to rmsprop"),
                       (OptimizerLeaves("adam", 5, leaves), "taken after 5 steps"),
                       (OptimizerLeaves("adam", 2, leaves), None)):
        save_project(path, Project(SMALL_NET, TrainConfig(), "tiny", weights, history,
                                   optimizer_state=kept))
        project = load_project(path)
        if note is None:
            assert project.notes == [] and len(project.optimizer_state.leaves) == 7
        else:
            assert project.optimizer_state is None and note in project.notes[0]
