"""Continuing a run with the optimizer state it left: the same run as one never
interrupted (Adam's moments and step count go on), and a state that does not fit is
refused with a clear error."""

import cnnviz.engine  # noqa: F401, I001  (first: sets XLA's flags before JAX starts)

import jax
import numpy as np
import pytest
import reference

from cnnviz.core.commands import Pause, Stop
from cnnviz.core.config import TrainConfig
from cnnviz.core.layers import Conv2D, Dense, Flatten, MaxPool2D
from cnnviz.core.network import NetworkSpec
from cnnviz.core.optimizer_leaves import OptimizerStateError
from cnnviz.core.snapshot import PAUSED, STOPPED
from cnnviz.engine.inspect import host_tree
from cnnviz.engine.resume import kept_leaves, state_from_leaves
from cnnviz.engine.trainer import Trainer

SPEC = NetworkSpec((12, 12, 1), (Conv2D(4, 3), MaxPool2D(2), Flatten(), Dense(5, "none")))
STEPS_PER_EPOCH, STOP_AT = 10, 7
CONFIG = TrainConfig(batch_size=32, epochs=2, seed=3)
ONE = {"snapshot_interval": 0, "steps_per_dispatch": 1}


@pytest.fixture(scope="module")
def data():
    return reference.subset(reference.shapes_dataset(), 32 * STEPS_PER_EPOCH, 32, crop=12)


@pytest.fixture(scope="module")
def uninterrupted(data):
    trainer = Trainer(SPEC, data, CONFIG, **ONE)
    list(trainer.run())
    return trainer


def _stopped_at(data, step: int) -> Trainer:
    trainer = Trainer(SPEC, data, CONFIG, **ONE)
    run = trainer.run()
    while next(run).step < step:
        pass
    trainer.command(Pause())
    assert next(run).state == PAUSED
    trainer.command(Stop())
    assert (next(run).state, trainer.history.steps) == (STOPPED, step)
    return trainer


def _adam_count(state) -> int:
    """The step count in Adam's own state (optax.ScaleByAdamState.count)."""
    return int(state.inner_state[0].count)


def test_a_continued_run_equals_the_uninterrupted_one(data, uninterrupted):
    first = _stopped_at(data, STOP_AT)
    kept = host_tree(first.opt_state)
    assert _adam_count(kept) == STOP_AT  # independent of the trainer's own step counter
    later = Trainer(SPEC, data, CONFIG, params=first.numpy_params(), history=first.history,
                    opt_state=kept, **ONE)
    list(later.run())
    assert _adam_count(later.opt_state) == 2 * STEPS_PER_EPOCH
    np.testing.assert_array_equal(later.history.step_loss, uninterrupted.history.step_loss)
    for got, want in zip(later.numpy_params(), uninterrupted.numpy_params(), strict=True):
        for name in want:
            np.testing.assert_array_equal(got[name], want[name])

    # without the state, Adam starts over: the same run no longer
    fresh = Trainer(SPEC, data, CONFIG, params=first.numpy_params(),
                    history=_stopped_at(data, STOP_AT).history, **ONE)
    list(fresh.run())
    assert _adam_count(fresh.opt_state) == 2 * STEPS_PER_EPOCH - STOP_AT
    assert not np.array_equal(fresh.history.step_loss, uninterrupted.history.step_loss)


def test_the_state_survives_flattening_to_leaves(data, uninterrupted):
    first = _stopped_at(data, STOP_AT)
    kept = kept_leaves(CONFIG.optimizer, STOP_AT, host_tree(first.opt_state))
    state = state_from_leaves(first.optimizer, first.numpy_params(), kept)
    later = Trainer(SPEC, data, CONFIG, params=first.numpy_params(), history=first.history,
                    opt_state=state, **ONE)
    list(later.run())
    np.testing.assert_array_equal(later.history.step_loss, uninterrupted.history.step_loss)


def test_a_state_that_does_not_fit_is_refused(data):
    params = Trainer(SPEC, data, CONFIG, **ONE).numpy_params()
    momentum = Trainer(SPEC, data, TrainConfig(batch_size=32, optimizer="sgd-momentum"), **ONE)
    with pytest.raises(OptimizerStateError, match="made for another network, optimizer"):
        Trainer(SPEC, data, CONFIG, params=params, opt_state=host_tree(momentum.opt_state))
    wider = NetworkSpec((12, 12, 1), (Conv2D(6, 3), MaxPool2D(2), Flatten(), Dense(5, "none")))
    other = host_tree(Trainer(wider, data, CONFIG, **ONE).opt_state)
    with pytest.raises(OptimizerStateError, match=r"array \d+ is float32\[6\]"):
        Trainer(SPEC, data, CONFIG, params=params, opt_state=other)
    adam = Trainer(SPEC, data, CONFIG, **ONE)
    too_few = kept_leaves("adam", 0, host_tree(adam.opt_state))
    too_few = type(too_few)("adam", 0, too_few.leaves[:-1])
    with pytest.raises(OptimizerStateError, match="it has 11 arrays, the optimizer needs 12"):
        state_from_leaves(adam.optimizer, params, too_few)
    bad = list(jax.tree.leaves(host_tree(adam.opt_state)))
    bad[-1] = np.full_like(bad[-1], np.nan)
    with pytest.raises(OptimizerStateError, match="not finite"):
        state_from_leaves(adam.optimizer, params, type(too_few)("adam", 0, tuple(bad)))


def test_a_project_saved_with_the_state_continues_as_if_never_closed(data, uninterrupted,
                                                                     tmp_path):
    from cnnviz.io.project import Project, load_project, save_project

    first = _stopped_at(data, STOP_AT)
    kept = kept_leaves(CONFIG.optimizer, STOP_AT, host_tree(first.opt_state))
    path = tmp_path / "stopped.cnnviz"
    save_project(path, Project(SPEC, CONFIG, "shapes", first.numpy_params(), first.history,
                               optimizer_state=kept))
    project = load_project(path)
    assert project.notes == [] and project.optimizer_state.steps == STOP_AT
    state = state_from_leaves(first.optimizer, project.weights, project.optimizer_state)
    later = Trainer(SPEC, data, project.config, params=project.weights,
                    history=project.history, opt_state=state, **ONE)
    list(later.run())
    np.testing.assert_array_equal(later.history.step_loss, uninterrupted.history.step_loss)
    for got, want in zip(later.numpy_params(), uninterrupted.numpy_params(), strict=True):
        for name in want:
            np.testing.assert_array_equal(got[name], want[name])
