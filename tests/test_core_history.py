"""History, Snapshot and commands: the plain records views and files see."""

import dataclasses

import numpy as np
import pytest

from cnnviz.core.commands import Pause, Resume, SetLearningRate, StepOnce, Stop
from cnnviz.core.history import EPOCH_KEYS, History
from cnnviz.core.snapshot import COMPILING, FINISHED, PAUSED, RUNNING, STOPPED, Snapshot


def test_history_add_steps_and_round_trip():
    h = History()
    h.add_steps(np.array([2.5, 1.25], np.float32), np.array([0.5, 0.75], np.float32))
    h.add_steps(np.array([1.0]), np.array([1.0]))
    assert h.steps == 3
    assert h.step_loss == [2.5, 1.25, 1.0] and h.step_accuracy == [0.5, 0.75, 1.0]
    assert all(type(v) is float for v in h.step_loss + h.step_accuracy)
    h.epochs.append({"loss": 1.5, "accuracy": 0.75, "val_loss": None, "val_accuracy": None,
                     "seconds": 2.0})
    back = History.from_dict(h.to_dict())
    assert back == h


def test_history_from_dict_fills_missing_epoch_keys_and_converts():
    h = History.from_dict({"step_loss": [1, "2.5"], "step_accuracy": [0, 1],
                           "epochs": [{"loss": "0.5", "seconds": 3}]})
    assert h.step_loss == [1.0, 2.5]
    assert h.epochs == [{"loss": 0.5, "accuracy": None, "val_loss": None,
                         "val_accuracy": None, "seconds": 3.0}]
    assert set(h.epochs[0]) == set(EPOCH_KEYS)
    assert History.from_dict({}) == History()


def test_history_from_dict_refuses_inconsistent_data():
    with pytest.raises(ValueError, match="differ in length"):
        History.from_dict({"step_loss": [1.0, 2.0], "step_accuracy": [1.0]})
    with pytest.raises(ValueError, match="each epoch must be an object"):
        History.from_dict({"epochs": [[1.0]]})
    with pytest.raises(ValueError):
        History.from_dict({"step_loss": ["abc"], "step_accuracy": [1.0]})


def _snap(**kw):
    base = dict(state=RUNNING, step=50, epoch=0, epochs=4, steps_per_epoch=100,
                learning_rate=1e-3, elapsed=10.0)
    return Snapshot(**{**base, **kw})


def test_snapshot_derived_values():
    s = _snap(step_losses=np.array([0.9, 0.7], np.float32),
              step_accuracies=np.array([0.5, 0.625], np.float32))
    assert s.total_steps == 400
    assert s.progress == 50 / 400
    assert s.eta_seconds == pytest.approx(10.0 / 50 * 350)
    assert s.loss == pytest.approx(0.7) and s.accuracy == 0.625
    empty = _snap(step=0, elapsed=0.0)
    assert empty.loss is None and empty.accuracy is None and empty.eta_seconds is None
    assert empty.progress == 0.0
    assert _snap(steps_per_epoch=0).progress == 0.0


def test_snapshot_is_frozen_and_states_are_distinct():
    with pytest.raises(dataclasses.FrozenInstanceError):
        _snap().step = 3
    assert len({COMPILING, RUNNING, PAUSED, FINISHED, STOPPED}) == 5
    assert [COMPILING, RUNNING, PAUSED, FINISHED, STOPPED] == [
        "compiling", "running", "paused", "finished", "stopped"]


def test_commands_are_values():
    assert Pause() == Pause() and Stop() != Resume()
    assert SetLearningRate(0.1) == SetLearningRate(0.1) != SetLearningRate(0.2)
    assert StepOnce() != Pause()
    with pytest.raises(dataclasses.FrozenInstanceError):
        SetLearningRate(0.1).value = 0.2
