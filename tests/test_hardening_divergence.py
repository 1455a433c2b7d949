"""A run whose loss stops being a finite number stops there, keeps the last finite
weights and says why (the step, the learning rate and optimizer), on the command line
(exit status 3, nothing non-finite written) and in the window (a dialog, the state
line, a mark on the curves). A loss that explodes without becoming NaN is warned of."""

import cnnviz.engine  # noqa: F401, I001  (first: sets XLA's flags before JAX starts)

import numpy as np
import pytest
from PyQt6.QtWidgets import QMessageBox
from test_qt_support import make_window, tiny_dataset, wait_idle

from cnnviz.core.config import TrainConfig
from cnnviz.core.divergence import EXPLODING_LOSS, LossWatch, explain_divergence
from cnnviz.core.history import DIVERGED, Halt, History
from cnnviz.core.layers import Dense, Flatten
from cnnviz.core.network import NetworkSpec
from cnnviz.core.snapshot import RUNNING, STOPPED, Snapshot
from cnnviz.engine.trainer import Trainer, initial_params
from cnnviz.io.project import Project, load_project, save_project
from cnnviz.io.weights import WeightsError

# A linear network trained with plain momentum at the highest rate allowed: the updates
# overshoot further every step until the numbers overflow (a few dozen steps).
LINEAR = NetworkSpec((16, 16, 1), (Flatten(), Dense(32, "none"), Dense(3, "none")))
TOO_FAST = TrainConfig("sgd-momentum", 10.0, 16, 3, 0, 0.1)


def test_the_watch_notes_the_first_non_finite_and_the_first_exploding_step():
    watch = LossWatch()
    watch.see(1, np.array([2.3, 1.9], np.float32))
    assert watch.diverged_at is None and watch.exploded_at is None
    watch.see(3, np.array([5.0, 3 * EXPLODING_LOSS, 1e17, np.inf, np.nan], np.float32))
    assert watch.exploded_at == 4 and watch.exploded_loss == 3 * EXPLODING_LOSS
    assert watch.diverged_at == 6
    watch.see(8, np.array([np.nan], np.float32))
    assert watch.diverged_at == 6  # the first one stays


def test_a_diverging_run_stops_and_keeps_the_last_finite_weights():
    data = tiny_dataset()
    trainer = Trainer(LINEAR, data, TOO_FAST, snapshot_interval=0)
    snaps = list(trainer.run())
    assert snaps[-1].state == STOPPED
    (halt,) = trainer.history.halts
    assert halt.reason == DIVERGED and halt.learning_rate == 10.0
    assert halt.optimizer == "sgd-momentum"
    losses = np.array(trainer.history.step_loss)
    assert np.all(np.isfinite(losses[:halt.step - 1])) and not np.isfinite(losses[halt.step - 1])
    assert trainer.history.steps < TOO_FAST.epochs * (len(data.x_train) // 16)  # cut short
    weights = trainer.numpy_params()
    assert all(np.all(np.isfinite(v)) for layer in weights for v in layer.values())
    # the weights kept are those the run started from, or those of an epoch's end
    start = initial_params(LINEAR, TOO_FAST.seed)
    if halt.weights_step == 0:
        for kept, first in zip(weights, start, strict=True):
            for key in kept:
                np.testing.assert_array_equal(kept[key], np.asarray(first[key]))
    else:
        assert halt.weights_step % (len(data.x_train) // 16) == 0
    message = explain_divergence(halt)
    assert f"step {halt.step:,}" in message and "learning rate 10" in message
    assert "sgd-momentum" in message and "try 1" in message


def test_weights_too_large_to_compute_with_are_explained():
    data = tiny_dataset()
    huge = [{k: np.full_like(np.asarray(v), 3e38) for k, v in layer.items()}
            for layer in initial_params(LINEAR, 0)]
    trainer = Trainer(LINEAR, data, TrainConfig(epochs=1), params=huge, snapshot_interval=0)
    list(trainer.run())
    (halt,) = trainer.history.halts
    assert (halt.step, halt.weights_step) == (1, 0) and halt.largest_weight == pytest.approx(3e38)
    message = explain_divergence(halt)
    assert "3e+38" in message and "too large to compute" in message


def test_non_finite_weights_are_never_written(tmp_path):
    path = tmp_path / "good.cnnviz"
    weights = [{k: np.asarray(v) for k, v in layer.items()}
               for layer in initial_params(LINEAR, 0)]
    save_project(path, Project(LINEAR, weights=weights))
    before = path.read_bytes()
    weights[2]["bias"] = np.array([0, np.nan, 0], np.float32)
    with pytest.raises(WeightsError, match="dense2/bias contains NaN"):
        save_project(path, Project(LINEAR, weights=weights))
    assert path.read_bytes() == before


def test_a_halt_survives_the_project_file(tmp_path):
    history = History([2.0, float("nan")], [0.5, 0.0], [],
                      [Halt(DIVERGED, 2, 10.0, "adam", 0, 0.25)])
    path = tmp_path / "halted.cnnviz"
    save_project(path, Project(LINEAR, history=history))
    back = load_project(path).history
    assert back.halts == history.halts and np.isnan(back.step_loss[1])
    assert b"NaN" not in path.read_bytes()  # written as null: plain JSON


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    return make_window(qtbot, tmp_path, monkeypatch)


def test_the_window_stops_explains_and_marks_the_step(window, qtbot, tmp_path):
    s = window.session
    window.network.reset(LINEAR)
    s.set_config(optimizer="sgd-momentum", learning_rate=10.0, batch_size=16, epochs=3)
    window.actions.start_pause.trigger()
    wait_idle(qtbot, window)
    assert s.state == STOPPED
    (halt,) = s.history.halts
    box = window.findChild(QMessageBox)
    assert box is not None and box.windowTitle() == "Training diverged"
    assert f"step {halt.step:,}" in box.text()
    box.close()
    assert "Training diverged" in window.training.state.text()
    marks = [mark for _, mark in window.curves._marks]
    assert len(marks) == 2 and all(m.value() == halt.step for m in marks)
    assert all(np.all(np.isfinite(v)) for layer in s.weights for v in layer.values())
    path = tmp_path / "diverged.cnnviz"
    window.file.save(path)  # the kept weights, finite, and the halt in the history
    assert load_project(path).history.halts == [halt]
    window.file.open(path)  # the mark comes back with the file
    assert [mark.value() for _, mark in window.curves._marks] == [halt.step] * 2


def test_opening_weights_too_large_to_compute_with_explains_them(window, tmp_path):
    spec = NetworkSpec((16, 16, 1), (Flatten(), Dense(3, "none")))
    weights = [{}, {"kernel": np.full((256, 3), 3e38, np.float32),
                    "bias": np.zeros(3, np.float32)}]
    path = tmp_path / "huge.cnnviz"
    save_project(path, Project(spec, weights=weights))
    assert window.open_file(str(path))  # finite: it opens
    box = window.findChild(QMessageBox)
    assert box is not None and box.windowTitle() == "Weights too large to compute with"
    assert "as large as 3e+38" in box.text() and "Reset the weights" in box.text()
    box.close()
    assert "3e+38" in window.training.state.text()


def test_the_explanation_says_which_weights_were_kept():
    early = explain_divergence(Halt(DIVERGED, 14, 10.0, "sgd-momentum", 0, 0.4))
    assert "kept as they were before training" in early
    late = explain_divergence(Halt(DIVERGED, 1_234, 0.5, "adam", 1_000, 2.0))
    assert "kept as they were after step 1,000" in late and "try 0.05" in late


def test_the_window_warns_when_the_loss_explodes(window):
    s = window.session
    window.worker.snapshot.emit(Snapshot(
        RUNNING, 5, 0, 3, 100, 10.0, 1.0, step_losses=np.array([2.0, 3e3, 1e17], np.float32),
        step_accuracies=np.zeros(3, np.float32)))
    assert s.warning.startswith("The loss reached 1e+17 at step 5: training is unstable")
    assert "1e+17" in window.training.state.text()
