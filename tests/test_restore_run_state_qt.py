"""Restoring a run from the Runs panel and training on: the run in place, restored as it
is (also once saved and opened again), keeps its optimizer's state and its pruning
masks, so stopping, restoring and continuing trains exactly as a run never interrupted;
any other run starts a fresh state."""

from __future__ import annotations

import numpy as np
import pytest
from PyQt6.QtCore import Qt
from reference import random_weights
from test_qt_support import SMALL_NET, make_window, wait_idle

from cnnviz.core.compression import apply_masks, magnitude_masks
from cnnviz.core.compression_record import PruneStep
from cnnviz.core.config import TrainConfig
from cnnviz.core.history import History
from cnnviz.core.snapshot import PAUSED
from cnnviz.engine.compress_pipeline import Compressed
from cnnviz.io.compression import compressed_project
from cnnviz.io.project import Project, save_project
from cnnviz.qt import dialogs
from cnnviz.qt.session import AGAIN
from cnnviz.qt.widgets.compress import add_compress_workspace

EPOCHS = 4  # of 3 steps each (96 images, batch 32): one step per call all along


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    window = make_window(qtbot, tmp_path, monkeypatch)
    window.network.reset(SMALL_NET)
    window.training.epochs.setValue(EPOCHS)
    yield window
    window.close()


def _handed(window, monkeypatch) -> list:
    """The optimizer state each run is started with."""
    handed, start = [], window.worker.start

    def spy(*args):
        handed.append(args[6])
        start(*args)

    monkeypatch.setattr(window.worker, "start", spy)
    return handed


def _train(window, qtbot) -> None:
    window.actions.start_pause.trigger()
    wait_idle(qtbot, window)


def _step_and_stop(window, qtbot, steps: int) -> None:
    """`steps` batches one at a time (Step), then Stop: a run stopped at a known step."""
    s = window.session
    target = 0 if s.start_mode() == AGAIN else s.history.steps  # again: a new run
    for _ in range(steps):
        target += 1
        s.step()
        qtbot.waitUntil(lambda target=target: s.history.steps == target
                        and s.state == PAUSED, timeout=60_000)
    s.stop()
    wait_idle(qtbot, window)
    assert s.history.steps == target


def _restore_from_panel(window, number: int) -> None:
    panel = window.runs_panel
    row = next(row for row in range(panel.table.rowCount())
               if panel.table.item(row, 1).data(Qt.ItemDataRole.UserRole) == number)
    panel.table.selectRow(row)
    assert panel.restore.isEnabled()
    panel.restore.click()
    assert window.session.runs.current == number


def _restore_and_train(window, qtbot, monkeypatch, number: int, state) -> None:
    """Restore run `number` from the Runs panel, its optimizer going on from `state`
    (None: a fresh one), and train it to its end."""
    handed = _handed(window, monkeypatch)
    _restore_from_panel(window, number)
    assert window.session.optimizer_state() is state
    _train(window, qtbot)
    assert handed == [state]


def _assert_same_training(run, reference) -> None:
    np.testing.assert_array_equal(run.history.step_loss, reference.history.step_loss)
    np.testing.assert_array_equal(run.history.step_accuracy, reference.history.step_accuracy)
    for got, want in zip(run.weights, reference.weights, strict=True):
        for name in want:
            np.testing.assert_array_equal(got[name], want[name])


def test_restoring_the_run_in_place_continues_as_if_uninterrupted(window, qtbot, monkeypatch):
    s = window.session
    _train(window, qtbot)  # run 1: never interrupted
    uninterrupted = s.runs.get(1)
    assert uninterrupted.history.steps == 3 * EPOCHS
    _step_and_stop(window, qtbot, 2)  # run 2: the same seed, stopped after step 2
    assert s.runs.current == 2
    kept = s.optimizer_state()
    assert kept is not None and kept.steps == 2
    _restore_and_train(window, qtbot, monkeypatch, 2, kept)
    _assert_same_training(s.runs.get(2), uninterrupted)


def test_the_run_in_place_saved_and_opened_keeps_its_state_when_restored(
        window, qtbot, monkeypatch, tmp_path):
    s = window.session
    _train(window, qtbot)
    uninterrupted = s.runs.get(1)
    _step_and_stop(window, qtbot, 2)
    path = tmp_path / "stopped.cnnviz"
    monkeypatch.setattr(dialogs, "save_path", lambda *args: str(path))
    window.actions.save.trigger()
    window.actions.new.trigger()
    assert window.files.open_path(str(path))
    opened = s.optimizer_state()
    assert opened is not None and s.runs.current == 2
    assert s.weights is not s.runs.get(2).weights  # equal, each read from its own member
    _restore_and_train(window, qtbot, monkeypatch, 2, opened)
    _assert_same_training(s.runs.get(2), uninterrupted)


def test_restoring_another_run_starts_a_fresh_state(window, qtbot, monkeypatch):
    s = window.session
    _step_and_stop(window, qtbot, 2)  # run 1, stopped with its state
    window.runs_panel.table.selectRow(0)
    window.runs_panel.new_run.click()  # run 2 from run 1's settings, fresh weights
    _step_and_stop(window, qtbot, 1)
    assert s.runs.current == 2 and s.optimizer_state() is not None
    # other weights: run 2's state is not theirs
    _restore_and_train(window, qtbot, monkeypatch, 1, None)
    assert s.runs.get(1).history.steps == 3 * EPOCHS and s.runs.get(2).history.steps == 1


def test_the_pruned_run_in_place_restored_keeps_its_masks(window, tmp_path):
    add_compress_workspace(window)  # it reads the masks member
    weights = random_weights(SMALL_NET)
    masks = magnitude_masks(SMALL_NET, weights, 0.5)
    dense = Project(SMALL_NET, TrainConfig(), window.session.dataset_name, weights, History())
    path = tmp_path / "pruned.cnnviz"
    save_project(path, compressed_project(dense, Compressed(
        SMALL_NET, apply_masks(weights, masks), masks, PruneStep(None, None, 0, 0, 0, 0,
                                                                 sparsity=0.5))))
    assert window.files.open_path(str(path))
    s = window.session
    assert s.runs.current == 1 and s.pruned_share() == pytest.approx(0.5, abs=0.01)
    _restore_from_panel(window, 1)
    assert s.pruned_share() == pytest.approx(0.5, abs=0.01)
