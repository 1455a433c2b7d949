"""Early stopping: the decision against Keras' own EarlyStopping callback, and the trainer
that stops, restores the best epoch's weights and records why."""

import cnnviz.engine  # noqa: F401, I001  (first: sets XLA's flags before JAX starts)
import os

os.environ.setdefault("KERAS_BACKEND", "jax")  # Keras 3 on JAX, never TensorFlow

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import reference  # noqa: E402

from cnnviz.core.config import ConfigError, TrainConfig  # noqa: E402
from cnnviz.core.early_stopping import EarlyStopping, replayed, stop_reason  # noqa: E402
from cnnviz.core.history import BEST_RESTORED, EARLY_STOPPED, History  # noqa: E402
from cnnviz.core.layers import Conv2D, Dense, Flatten, MaxPool2D  # noqa: E402
from cnnviz.core.network import NetworkSpec  # noqa: E402


def _keras_decision(values, monitor, patience, min_delta):
    """(the epoch Keras' EarlyStopping stops after or None, its best epoch)."""
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    callback = keras.callbacks.EarlyStopping(
        monitor=monitor, patience=patience, min_delta=min_delta,
        mode="min" if monitor == "val_loss" else "max")
    callback.set_model(model)
    model.stop_training = False  # as fit() starts it
    callback.on_train_begin()
    for epoch, value in enumerate(values):
        callback.on_epoch_end(epoch, {monitor: value})
        if model.stop_training:
            return epoch, callback.best_epoch
    return None, callback.best_epoch


def _ours(values, monitor, patience, min_delta):
    stopping = EarlyStopping(TrainConfig(early_stopping=True, monitor=monitor,
                                         patience=patience, min_delta=min_delta))
    for epoch, value in enumerate(values):
        if stopping.end_of_epoch({monitor: value}):
            return epoch, stopping.watch.best_epoch
    return None, stopping.watch.best_epoch


@pytest.mark.parametrize("seed", range(12))
def test_stops_where_keras_stops(seed):
    rng = np.random.default_rng(seed)
    monitor = ("val_loss", "val_accuracy")[seed % 2]
    patience, min_delta = int(rng.integers(1, 4)), float(rng.choice([0.0, 0.01, 0.05]))
    trend = np.linspace(1.0, 0.4, 20) if monitor == "val_loss" else np.linspace(0.3, 0.9, 20)
    values = [float(v) for v in np.round(trend + rng.normal(0, 0.06, 20), 3)]
    assert _ours(values, monitor, patience, min_delta) == _keras_decision(
        values, monitor, patience, min_delta)


def test_min_delta_and_the_direction_of_each_metric():
    assert _ours([1.0, 0.95, 0.99, 0.98], "val_loss", 2, 0.0) == (3, 1)
    assert _ours([1.0, 0.95, 0.99, 0.98], "val_loss", 2, 0.1) == (2, 0)
    assert _ours([0.5, 0.6, 0.55, 0.59], "val_accuracy", 2, 0.0) == (3, 1)
    assert _ours([0.5, 0.6, 0.7, 0.8], "val_accuracy", 1, 0.0) == (None, 3)


def test_replayed_history_carries_the_count_on():
    config = TrainConfig(early_stopping=True, patience=3)
    stopping = replayed(config, [{"val_loss": v} for v in (1.0, 0.8, 0.9, 0.85)])
    assert (stopping.watch.best_epoch, stopping.watch.wait) == (1, 2)
    assert stopping.end_of_epoch({"val_loss": 0.81})


@pytest.mark.parametrize(("changes", "message"), [
    ({"patience": 0}, "patience must be a whole number of epochs from 1 to 100,000, got 0"),
    ({"patience": -2}, "got -2"),
    ({"min_delta": -0.1}, "min delta must be a number >= 0, got -0.1"),
    ({"monitor": "loss"}, "monitor must be one of val_loss, val_accuracy, got 'loss'"),
    ({"early_stopping": "yes"}, "early stopping must be true or false, got 'yes'"),
])
def test_bad_settings_are_refused_in_one_line(changes, message):
    with pytest.raises(ConfigError) as info:
        TrainConfig(**changes)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_the_reason_names_the_epochs_one_based():
    config = TrainConfig(early_stopping=True, patience=2, min_delta=0.01)
    text = stop_reason(config, 6, 4, 0.4321, True)
    assert text == ("early stopping after epoch 7: the validation loss has not improved by "
                    "more than 0.01 for 2 epochs; the weights of epoch 5 (validation loss "
                    "0.4321) were restored")
    assert "those of the last epoch" in stop_reason(config, 6, 4, 0.4321, False)


# -- the trainer --------------------------------------------------------------------------

SMALL = NetworkSpec((12, 12, 1), (Conv2D(4, 3), MaxPool2D(2), Flatten(), Dense(5, "none")))


@pytest.fixture(scope="module")
def small_data():
    return reference.subset(reference.shapes_dataset(), 32 * 8, 64, crop=12)


def _trained(data, **changes):
    from cnnviz.engine.trainer import Trainer, evaluate

    # a learning rate far too high: validation loss soon stops improving
    config = TrainConfig(**{"epochs": 12, "learning_rate": 0.05, "early_stopping": True,
                            "patience": 2, **changes})
    trainer = Trainer(SMALL, data, config, snapshot_interval=0)
    snaps = list(trainer.run())
    return trainer, snaps, evaluate(SMALL, trainer.params, data.x_val, data.y_val)


def test_the_trainer_stops_and_restores_the_best_epoch(small_data):
    trainer, snaps, (val_loss, _) = _trained(small_data)
    history = trainer.history
    losses = [e["val_loss"] for e in history.epochs]
    best = int(np.argmin(losses))
    assert len(losses) < 12 and len(losses) == best + 3  # patience 2 after the best
    (halt,) = history.halts
    assert (halt.reason, halt.step, halt.best_step, halt.weights_step) == (
        EARLY_STOPPED, history.steps, (best + 1) * 8, (best + 1) * 8)
    assert snaps[-1].state == "stopped"
    assert val_loss == pytest.approx(losses[best], rel=1e-5)  # the best epoch's weights
    back = History.from_dict(history.to_dict())
    assert back.halts == history.halts


def test_without_restoring_the_last_weights_stay(small_data):
    trainer, _, (val_loss, _) = _trained(small_data, restore_best=False)
    (halt,) = trainer.history.halts
    assert halt.weights_step == halt.step == trainer.history.steps
    assert val_loss == pytest.approx(trainer.history.epochs[-1]["val_loss"], rel=1e-5)


def test_a_run_that_ends_in_time_gets_its_best_weights_too(small_data):
    trainer, snaps, (val_loss, _) = _trained(small_data, patience=50)
    losses = [e["val_loss"] for e in trainer.history.epochs]
    best = int(np.argmin(losses))
    assert snaps[-1].state == "finished" and len(losses) == 12 and best < 11
    (halt,) = trainer.history.halts
    assert (halt.reason, halt.best_step, halt.weights_step) == (
        BEST_RESTORED, (best + 1) * 8, (best + 1) * 8)
    assert val_loss == pytest.approx(min(losses), rel=1e-5)


def test_early_stopping_needs_validation_images(small_data):
    from cnnviz.engine.trainer import Trainer

    empty = reference.subset(small_data, 64, 0)
    with pytest.raises(ConfigError, match="validation set, and it is empty"):
        Trainer(SMALL, empty, TrainConfig(early_stopping=True))


# -- the command line ---------------------------------------------------------------------

def _cli(*argv):
    import contextlib
    import io

    from cnnviz import cli

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main([str(a) for a in argv])
        except SystemExit as exc:
            code = exc.code
    return code, out.getvalue(), err.getvalue()


def test_the_cli_says_why_it_stopped_and_saves_the_best_weights(tmp_path, monkeypatch):
    import json

    from cnnviz.cli import common
    from cnnviz.io.project import load_project

    monkeypatch.setenv("CNNVIZ_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(common, "load_dataset", reference.shapes_once(common.load_dataset))
    path = tmp_path / "stopped.cnnviz"
    args = ("train", "--preset", "tiny", "--per-class", 40, "--epochs", 30, "--lr", 0.05,
            "--early-stopping", "--patience", 2, "--schedule", "cosine", "--out", path)
    code, out, err = _cli(*args, "--json")
    assert code == 0, err
    events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    (stop,) = [e for e in events if e["event"] == "early_stopped"]
    epochs = [e for e in events if e["event"] == "epoch"]
    assert stop["stopped_epoch"] == len(epochs) < 30 and stop["restored"]
    losses = [e["val_loss"] for e in epochs]
    assert stop["best_epoch"] == int(np.argmin(losses)) + 1
    assert stop["message"].startswith(f"early stopping after epoch {len(epochs)}: the "
                                      "validation loss has not improved by more than 0 for 2 "
                                      "epochs; the weights of epoch ")
    assert epochs[1]["learning_rate"] < epochs[0]["learning_rate"]  # cosine
    project = load_project(path)
    assert project.config.early_stopping and project.config.schedule == "cosine"
    assert project.history.halts[-1].reason == EARLY_STOPPED
    code, out, _ = _cli(*args[:-2])
    assert code == 0 and "early stopping after epoch" in out and " - lr: " in out


@pytest.mark.parametrize(("args", "message"), [
    (("--patience", 0), "patience must be a whole number of epochs from 1"),
    (("--schedule", "step", "--decay-factor", -0.5), "the decay factor must be in (0, 1)"),
    (("--weight-decay", -1), "weight decay must be in [0, 1], got -1"),
    (("--lr", -0.01), "learning rate must be in (0, 10], got -0.01"),
    (("--early-stopping", "--validation-fraction", 0), "watch the validation set, and it "
                                                       "is empty"),
])
def test_bad_values_end_in_one_line(args, message, tmp_path, monkeypatch):
    from cnnviz.cli import common

    monkeypatch.setattr(common, "load_dataset", reference.shapes_once(common.load_dataset))
    monkeypatch.setenv("CNNVIZ_CACHE_DIR", str(tmp_path / "cache"))
    code, out, err = _cli("train", "--preset", "tiny", "--epochs", 1, *args)
    assert code == 2 and "Traceback" not in err + out
    (line,) = err.strip().splitlines()
    assert line.startswith("cnnviz train: error: ") and message in line
