"""Training from the window: the run's controls, live curves, the learning rate changed
mid-run, errors shown without blocking, and closing while training."""

from __future__ import annotations

import time

import pytest
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QMessageBox
from test_qt_support import SMALL_NET, make_window, wait_idle

from cnnviz.core.snapshot import FINISHED, PAUSED, RUNNING, STOPPED
from cnnviz.qt.session import IDLE


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    window = make_window(qtbot, tmp_path, monkeypatch)
    window.network.reset(SMALL_NET)
    return window


def losses(window) -> int:
    return len(window.curves.metrics[0].raw)


def test_start_pause_resume_stop(window, qtbot):
    s, start = window.session, window.actions.start_pause
    window.training.epochs.setValue(1000)  # longer than the test: it is stopped
    assert start.text() == "Start"
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window, Qt.Key.Key_Space)  # Start/Pause on Space
    assert s.active and window.training.state.text().startswith("Compiling")
    qtbot.waitUntil(lambda: s.state == RUNNING and losses(window) > 3, timeout=60_000)
    assert start.text() == "Pause" and window.actions.stop.isEnabled()
    assert not window.training.batch_size.isEnabled()  # fixed for the run...
    assert window.training.learning_rate.isEnabled()  # ... except the learning rate
    assert not window.builder.layer_palette.isEnabled()

    qtbot.keyClick(window, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: s.state == PAUSED)
    assert start.text() == "Resume" and window.actions.step.isEnabled()
    qtbot.waitUntil(lambda: s.weights is not None)  # the paused trainer's checkpoint
    paused_at = losses(window)
    window.actions.step.trigger()
    qtbot.waitUntil(lambda: losses(window) == paused_at + 1)
    assert s.state == PAUSED

    start.trigger()
    qtbot.waitUntil(lambda: s.state == RUNNING and losses(window) > paused_at + 3)
    window.actions.stop.trigger()
    wait_idle(qtbot, window)
    assert s.state == STOPPED and s.history.steps == losses(window)
    assert start.text() == "Continue" and window.actions.reset_weights.isEnabled()
    assert window.windowTitle().startswith("untitled[*]") and window.isWindowModified()

    window.actions.reset_weights.trigger()
    assert s.weights is None and losses(window) == 0 and start.text() == "Start"


def test_a_finished_run_draws_validation_points_and_can_continue(window, qtbot):
    s = window.session
    window.training.epochs.setValue(2)
    window.actions.start_pause.trigger()
    wait_idle(qtbot, window)
    assert s.state == FINISHED and s.history.steps == 2 * s.steps_per_epoch()
    loss, accuracy = window.curves.metrics
    assert len(loss.val) == 2 and list(loss.val.x) == [3, 6]  # the ends of the epochs
    assert 0 <= accuracy.val.y[-1] <= 1
    assert window.actions.start_pause.text() == "Train again"
    window.training.epochs.setValue(3)  # one more epoch: Start continues
    assert window.actions.start_pause.text() == "Continue"
    window.actions.start_pause.trigger()
    wait_idle(qtbot, window)
    assert s.history.steps == 9 and len(loss.val) == 3 and len(loss.raw) == 9


def test_step_from_idle_trains_one_batch_and_waits(window, qtbot):
    s = window.session
    window.actions.step.trigger()
    qtbot.waitUntil(lambda: s.state == PAUSED and losses(window) == 1, timeout=60_000)
    assert s.active
    window.actions.stop.trigger()
    wait_idle(qtbot, window)
    assert s.history.steps == 1


def test_learning_rate_changes_mid_run(window, qtbot):
    window.training.epochs.setValue(1000)
    window.actions.start_pause.trigger()
    qtbot.waitUntil(lambda: window.session.state == RUNNING, timeout=60_000)
    with qtbot.waitSignal(window.worker.snapshot, timeout=30_000,
                          check_params_cb=lambda snap: snap.learning_rate == 0.0123):
        window.training.learning_rate.setValue(0.0123)
    assert window.session.active  # the same run, not a restart
    window.actions.stop.trigger()
    wait_idle(qtbot, window)


def test_an_error_in_training_is_shown_and_the_window_stays_usable(window, qtbot,
                                                                   monkeypatch):
    from cnnviz.engine import trainer

    def broken(*args, **kwargs):
        raise RuntimeError("the GPU caught fire")

    monkeypatch.setattr(trainer, "make_train_step", broken)
    window.actions.start_pause.trigger()
    qtbot.waitUntil(lambda: window.findChild(QMessageBox) is not None, timeout=30_000)
    box = window.findChild(QMessageBox)
    assert box.text() == "the GPU caught fire" and not box.isModal()
    wait_idle(qtbot, window)
    assert window.session.state == IDLE and window.actions.start_pause.isEnabled()
    box.close()


def test_batch_larger_than_the_data_blocks_start(window):
    window.training.batch_size.setValue(500)
    assert not window.actions.start_pause.isEnabled()
    assert "larger than the 96 training images" in window.actions.start_pause.toolTip()


def test_closing_while_training_stops_the_worker_quickly(window, qtbot):
    window.training.epochs.setValue(1000)
    window.actions.start_pause.trigger()
    # past the first epoch's end, where JAX compiles the evaluation (which nothing can
    # interrupt): from then on a stop takes effect after the current batch
    qtbot.waitUntil(lambda: len(window.curves.metrics[0].val) > 0, timeout=60_000)
    clock = time.perf_counter()
    assert window.close()
    assert time.perf_counter() - clock < 2.0
    assert not window.worker.is_running() and not window.isVisible()


def test_closing_also_ends_other_panels_background_work(window):
    waited = []
    window.add_shutdown(lambda timeout_s: waited.append(timeout_s) or True)
    assert window.close()
    assert waited and waited[0] <= 2.0


def test_the_learning_rate_field_shows_and_takes_every_rate_the_config_does(window, qtbot):
    from dataclasses import replace

    from cnnviz.core.config import ConfigError, TrainConfig
    from cnnviz.core.history import History

    s, box = window.session, window.training.learning_rate
    s.load_state(replace(s.config, learning_rate=1e-6), s.dataset_name, None, History())
    assert box.value() == 1e-6 and box.text() == "1e-06"  # not clamped to a minimum
    assert s.config.learning_rate == 1e-6  # showing it changed nothing
    box.setFocus()
    box.lineEdit().selectAll()
    qtbot.keyClicks(box, "3.5e-7")
    qtbot.keyClick(box, Qt.Key.Key_Return)
    assert s.config.learning_rate == 3.5e-7 and box.text() == "3.5e-07"
    box.stepBy(1)  # a tenth of its decade
    assert s.config.learning_rate == 3.6e-7
    for rejected in ("0", "11", "1e-400", "abc"):  # no rate in (0, 10]: the rate stays
        box.lineEdit().selectAll()
        qtbot.keyClicks(box, rejected)
        qtbot.keyClick(box, Qt.Key.Key_Return)
        assert s.config.learning_rate == 3.6e-7 and box.text() == "3.6e-07"
    # the field's range is the config's
    TrainConfig(learning_rate=box.minimum())
    TrainConfig(learning_rate=box.maximum())
    with pytest.raises(ConfigError):
        TrainConfig(learning_rate=box.maximum() * 1.0001)
