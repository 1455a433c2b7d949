"""The Trainer: a generator of snapshots, steered by commands; reproducible by seed; and
one real training run that must learn the built-in dataset."""

import cnnviz.engine  # noqa: F401, I001  (first: sets XLA's flags before JAX starts)
import threading
import time

import jax
import numpy as np
import pytest
import reference

from cnnviz.core.commands import Pause, Resume, SetLearningRate, StepOnce, Stop
from cnnviz.core.config import TrainConfig
from cnnviz.core.layers import Conv2D, Dense, Flatten, MaxPool2D
from cnnviz.core.network import NetworkError, NetworkSpec
from cnnviz.core.presets import get_preset
from cnnviz.core.snapshot import COMPILING, FINISHED, PAUSED, RUNNING, STOPPED
from cnnviz.data.dataset import DatasetError
from cnnviz.engine import trainer as trainer_module
from cnnviz.engine.trainer import Trainer

# A small network on 12x12 crops of `shapes`, quick to compile.
SMALL = NetworkSpec((12, 12, 1), (Conv2D(4, 3), MaxPool2D(2), Flatten(), Dense(5, "none")))
STEPS_PER_EPOCH = 20


@pytest.fixture(scope="module")
def small_data():
    # 640 training images = 20 batches of 32
    return reference.subset(reference.shapes_dataset(), 32 * STEPS_PER_EPOCH, 64, crop=12)


@pytest.fixture
def steps(monkeypatch):
    return reference.share_compiled_steps(monkeypatch)


@pytest.fixture
def fast_path_ready(monkeypatch):
    """The multi-step dispatch compiles in the background and takes over when ready; wait
    for it at once, so which steps it runs is deterministic. Returns the compiles made."""
    made = []

    class Waiting(trainer_module._BackgroundCompile):
        def __init__(self, *args):
            super().__init__(*args)
            made.append(self)
            assert self.done.wait(timeout=300), "the background compile failed"

    monkeypatch.setattr(trainer_module, "_BackgroundCompile", Waiting)
    return made


def _run_all(trainer):
    snaps = list(trainer.run())
    losses = np.concatenate([s.step_losses for s in snaps])
    return snaps, losses


# -- construction ---------------------------------------------------------------------------


def test_refuses_data_of_another_shape(small_data):
    with pytest.raises(DatasetError, match=r"takes \(28, 28, 1\) images .* has \(12, 12, 1\)"):
        Trainer(get_preset("tiny").spec, small_data, TrainConfig())


def test_refuses_a_batch_larger_than_the_data(small_data):
    with pytest.raises(DatasetError, match="batch size 1024 is larger than the 640 training"):
        Trainer(SMALL, small_data, TrainConfig(batch_size=1024))


def test_refuses_a_network_for_another_number_of_classes(small_data):
    with pytest.raises(NetworkError, match="set units to 5"):
        Trainer(SMALL.adapted((12, 12, 1), 3), small_data, TrainConfig())


# -- the run, driven by commands ----------------------------------------------------------------


def test_pause_step_resume_set_lr_and_stop(small_data, steps, fast_path_ready):
    config = TrainConfig(learning_rate=1e-3, batch_size=32, epochs=2, seed=3)
    trainer = Trainer(SMALL, small_data, config, snapshot_interval=0, steps_per_dispatch=2)
    assert trainer.steps_per_epoch == STEPS_PER_EPOCH
    run = trainer.run()
    seen = []

    def take(gen=run):
        snap = next(gen)
        seen.append(snap)
        return snap

    s = take()
    assert (s.state, s.step, s.epoch, s.epochs) == (COMPILING, 0, 0, 2)
    assert s.steps_per_epoch == STEPS_PER_EPOCH and s.learning_rate == 1e-3
    s = take()
    assert (s.state, s.step, len(s.step_losses)) == (RUNNING, 1, 1)  # the first step alone
    (train_step,) = steps
    compilations = train_step._cache_size() if hasattr(train_step, "_cache_size") else None
    s = take()
    assert (s.state, s.step, len(s.step_losses)) == (RUNNING, 3, 2)  # then two per dispatch

    trainer.command(Pause())
    s = take()
    assert (s.state, s.step, len(s.step_losses)) == (PAUSED, 3, 0)
    assert trainer.history.steps == 3 and trainer.state == PAUSED

    trainer.command(StepOnce())
    s = take()
    assert (s.state, s.step, len(s.step_losses)) == (PAUSED, 4, 1)
    trainer.command(StepOnce())
    s = take()
    assert (s.state, s.step, len(s.step_losses)) == (PAUSED, 5, 1)
    assert trainer.history.steps == 5

    # paused with nothing to do, the generator waits (in the worker thread) for a command
    box = []
    worker = threading.Thread(target=lambda: box.append(next(run)))
    worker.start()
    time.sleep(0.4)
    assert worker.is_alive() and trainer.history.steps == 5
    trainer.command(SetLearningRate(1e-4))
    trainer.command(Resume())
    worker.join(timeout=120)
    assert not worker.is_alive()
    s = box[0]
    seen.append(s)
    # resumed on the two-step path, with the new rate
    assert (s.state, s.step, len(s.step_losses), s.learning_rate) == (RUNNING, 7, 2, 1e-4)
    assert float(trainer.opt_state.hyperparams["learning_rate"]) == pytest.approx(1e-4)

    while not s.epoch_done:  # to the end of the first epoch: 9, 11, ... 19, then 20 alone
        s = take()
    assert (s.state, s.step, s.epoch, s.learning_rate) == (RUNNING, 20, 0, 1e-4)
    assert seen[-2].step == 20 and len(seen[-2].step_losses) == 1
    assert s.val_loss is not None and 0 <= s.val_accuracy <= 1
    assert len(trainer.history.epochs) == 1
    assert trainer.history.epochs[0]["val_accuracy"] == s.val_accuracy
    # changing the rate never recompiled: the one-step function kept its one compilation
    # and the two-step one (compiled once, ahead of time) accepted the new state
    assert len(fast_path_ready) == 1
    if compilations is not None:
        assert train_step._cache_size() == compilations <= 2

    trainer.command(Stop())
    s = take()
    assert (s.state, s.step, s.epoch) == (STOPPED, 20, 1)
    assert trainer.state == STOPPED
    with pytest.raises(StopIteration):
        next(run)
    # every step reached the views exactly once, in order
    shown = np.concatenate([snap.step_losses for snap in seen])
    np.testing.assert_array_equal(shown, np.asarray(trainer.history.step_loss, np.float32))
    assert [snap.step for snap in seen] == sorted(snap.step for snap in seen)


def test_stop_while_paused_and_resume_from_history(small_data, steps):
    config = TrainConfig(batch_size=32, epochs=1, seed=1)
    trainer = Trainer(SMALL, small_data, config, snapshot_interval=0, steps_per_dispatch=1)
    run = trainer.run()
    next(run)
    assert next(run).step == 1
    trainer.command(Pause())
    assert next(run).state == PAUSED
    trainer.command(Stop())
    s = next(run)
    assert (s.state, s.step) == (STOPPED, 1)
    assert list(run) == []
    assert trainer.history.epochs == []

    # a new trainer continues the same run from the saved weights and history
    later = Trainer(SMALL, small_data, config, params=trainer.numpy_params(),
                    history=trainer.history, snapshot_interval=0, steps_per_dispatch=1)
    snaps = list(later.run())
    assert snaps[0].state == COMPILING and snaps[-1].state == FINISHED
    assert snaps[1].step == 2  # it went on from step 1
    assert later.history.steps == STEPS_PER_EPOCH
    assert len(later.history.epochs) == 1
    assert sum(s.step_losses.size for s in snaps) == STEPS_PER_EPOCH - 1


class Dispatched:
    """Stands for a step's metrics on the device: computed yet or not."""

    def __init__(self, values, done: bool):
        self.values, self.done = np.asarray(values, np.float32), done

    def is_ready(self) -> bool:
        return self.done

    def __array__(self, dtype=None, copy=None):
        return self.values


def test_a_live_snapshot_takes_the_steps_done_and_leaves_the_rest_queued(small_data):
    """So that the device keeps working while a snapshot goes out."""
    trainer = Trainer(SMALL, small_data, TrainConfig(batch_size=32, epochs=1))
    trainer._unsent = (np.zeros(0, np.float32), np.zeros(0, np.float32))
    done, running, queued = (Dispatched([0.9, 0.8], True), Dispatched([0.7], False),
                             Dispatched([0.6], True))
    trainer._pending_loss, trainer._pending_acc = [done, running, queued], [done, running,
                                                                             queued]
    trainer._flush(wait=False)
    # in order: a step done after one still running waits for it
    np.testing.assert_allclose(trainer.history.step_loss, [0.9, 0.8])
    assert trainer._pending_loss == [running, queued]
    running.done = True
    trainer._flush(wait=False)
    np.testing.assert_allclose(trainer.history.step_loss, [0.9, 0.8, 0.7, 0.6])
    np.testing.assert_allclose(trainer._unsent[0], [0.9, 0.8, 0.7, 0.6])
    assert trainer._pending_loss == [] and trainer._pending_acc == []


def test_same_seed_same_run_and_grouping_does_not_matter(small_data, steps, fast_path_ready):
    config = TrainConfig(batch_size=32, epochs=1, seed=7)

    def train(steps_per_dispatch, config=config, interval=1e9):
        trainer = Trainer(SMALL, small_data, config, snapshot_interval=interval,
                          steps_per_dispatch=steps_per_dispatch)
        snaps, losses = _run_all(trainer)
        return trainer, snaps, losses

    a, snaps, losses = train(1)
    b, _, _ = train(1)
    # throttled: compiling, the first step, the epoch's end, finished; no step lost
    assert [s.state for s in snaps] == [COMPILING, RUNNING, RUNNING, FINISHED]
    assert snaps[2].epoch_done and snaps[2].val_accuracy is not None
    assert len(losses) == STEPS_PER_EPOCH
    np.testing.assert_array_equal(losses, np.asarray(a.history.step_loss, np.float32))
    assert a.history.step_loss == b.history.step_loss  # identical, not just close
    assert a.history.step_accuracy == b.history.step_accuracy
    assert a.history.epochs[0]["val_loss"] == b.history.epochs[0]["val_loss"]
    for pa, pb in zip(a.numpy_params(), b.numpy_params(), strict=True):
        for name in pa:
            np.testing.assert_array_equal(pa[name], pb[name])
    assert len(set(a.history.step_loss)) > 1 and np.isfinite(losses).all()
    # two steps per dispatch (after the first): the same batches, so bit for bit the same
    # run; the trainer relies on this when it switches to the faster path mid-run
    c, snaps_c, _ = train(2, interval=0)
    assert len(fast_path_ready) == 1
    assert [len(s.step_losses) for s in snaps_c if s.step_losses.size] == [1] + [2] * 9 + [1]
    assert c.history.step_loss == a.history.step_loss
    for pa, pc in zip(a.numpy_params(), c.numpy_params(), strict=True):
        for name in pa:
            np.testing.assert_array_equal(pa[name], pc[name])
    # another seed: another run
    other, _, losses_other = train(1, TrainConfig(batch_size=32, epochs=1, seed=8))
    assert not np.allclose(losses_other, losses)


def test_a_batch_in_parts_trains_as_in_one_call(small_data, monkeypatch, fast_path_ready):
    """Batch 64 with slices of 8 is computed in 2 parts of 32 (tuning.DISPATCH_SLICES
    slices of this small network each), one jitted call each: the Trainer then sends one
    step per call (no k-step program is compiled) and the run is the one-call run, up to
    float rounding."""
    from cnnviz.engine import steps as steps_module

    config = TrainConfig(batch_size=64, epochs=2, seed=3)

    def train(slice_images):
        monkeypatch.setattr(steps_module, "spec_slice_images", lambda *_: slice_images)
        trainer = Trainer(SMALL, small_data, config, snapshot_interval=1e9,
                          steps_per_dispatch=2)
        _run_all(trainer)
        return trainer

    whole, parted = train(None), train(8)
    assert len(fast_path_ready) == 1  # the one-call run's k-step program only
    assert len(parted.history.step_loss) == len(whole.history.step_loss) == 20
    np.testing.assert_allclose(parted.history.step_loss, whole.history.step_loss, rtol=1e-4)
    for pa, pb in zip(whole.numpy_params(), parted.numpy_params(), strict=True):
        for name in pa:
            np.testing.assert_allclose(pb[name], pa[name], rtol=1e-3, atol=1e-5)


# -- the real thing -----------------------------------------------------------------------------


@pytest.mark.slow
def test_tiny_learns_shapes(steps):
    dataset = reference.shapes_dataset()
    preset = get_preset("tiny")
    spec = preset.spec.adapted(dataset.input_shape, dataset.num_classes)
    config = TrainConfig(learning_rate=preset.learning_rate, epochs=preset.epochs, seed=0)
    assert (config.learning_rate, config.epochs) == (3e-3, 6)
    # one step per dispatch: the same run as the default grouping, compiled much faster
    trainer = Trainer(spec, dataset, config, snapshot_interval=1e9, steps_per_dispatch=1)
    final = list(trainer.run())[-1]
    assert final.state == FINISHED and final.step == 6 * (len(dataset.x_train) // 32)
    epochs = trainer.history.epochs
    assert len(epochs) == 6
    assert epochs[-1]["val_accuracy"] >= 0.95, epochs
    assert epochs[-1]["loss"] < epochs[0]["loss"]
    params = trainer.numpy_params()
    assert all(np.isfinite(v).all() for p in params for v in p.values())
    assert jax.tree_util.tree_structure(params) == jax.tree_util.tree_structure(
        [{"bias": 0, "kernel": 0}, {}, {"bias": 0, "kernel": 0}, {}, {},
         {"bias": 0, "kernel": 0}, {"bias": 0, "kernel": 0}])
