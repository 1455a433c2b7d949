"""Runs in the window: a run is recorded as it trains and kept when the next begins
(Train again, other data, a few images per class), shown together (curves overlaid, the
figures side by side), renamed, deleted, its settings or weights taken up again, and
saved with the project."""

from __future__ import annotations

import numpy as np
import pytest
import reference
from PyQt6.QtCore import Qt
from test_qt_support import SMALL_NET, make_window, tiny_dataset, wait_idle

from cnnviz.core.presets import get_preset
from cnnviz.core.runs import METRICS, format_metric
from cnnviz.io.project import load_project
from cnnviz.qt import dialogs


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    window = make_window(qtbot, tmp_path, monkeypatch)
    window.network.reset(SMALL_NET)
    window.training.epochs.setValue(1)
    return window


def train(qtbot, window) -> None:
    window.actions.start_pause.trigger()
    wait_idle(qtbot, window)


def naive_test_figures(weights, dataset) -> tuple[float, float]:
    """SMALL_NET's test loss and accuracy, from the textbook formulas (tests/reference)."""
    x = dataset.x_test.astype(np.float64) / 255.0
    conv, _, _, dense = weights
    h = np.maximum(reference.conv2d(x, conv["kernel"], conv["bias"], 1, "valid"), 0)
    logits = reference.dense(reference.max_pool(h, 2, 2).reshape(len(x), -1), dense["kernel"],
                             dense["bias"])
    loss = reference.cross_entropy(logits, dataset.y_test)
    return float(loss.mean()), float(np.mean(logits.argmax(1) == dataset.y_test))


def test_a_finished_run_is_recorded_with_its_final_figures(window, qtbot):
    from cnnviz.engine.trainer import evaluate

    s = window.session
    train(qtbot, window)
    # the test figures come once the run is over, worked out in the background
    qtbot.waitUntil(lambda: s.runs.runs[0].test_accuracy is not None, timeout=30_000)
    [run] = s.runs.runs
    assert s.runs.current == run.number == 1 and run.name == "Run 1"
    assert run.history == s.history and run.steps_per_epoch == s.steps_per_epoch()
    final = run.final()
    epoch = s.history.epochs[-1]
    assert (final["loss"], final["val_accuracy"]) == (epoch["loss"], epoch["val_accuracy"])
    # the test figures: the engine's, and the textbook's from the same weights
    engine = evaluate(SMALL_NET, run.weights, s.dataset.x_test, s.dataset.y_test)
    naive = naive_test_figures(run.weights, s.dataset)
    assert (final["test_loss"], final["test_accuracy"]) == pytest.approx(engine, rel=1e-5)
    assert final["test_loss"] == pytest.approx(naive[0], rel=1e-4)
    assert final["test_accuracy"] == pytest.approx(naive[1])
    for a, b in zip(run.weights, s.weights, strict=True):
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])


def test_train_again_keeps_the_run_and_starts_another(window, qtbot):
    s = window.session
    train(qtbot, window)
    first = s.runs.runs[0]
    train(qtbot, window)  # "Train again": fresh weights, a new run
    assert [r.number for r in s.runs.runs] == [1, 2] and s.runs.current == 2
    assert s.runs.get(1).history == first.history  # the first as it was
    window.training.epochs.setValue(2)  # Continue: the same run goes on
    train(qtbot, window)
    assert len(s.runs.runs) == 2 and len(s.runs.get(2).history.epochs) == 2


def test_other_data_or_a_slice_of_it_ends_the_run(window, qtbot):
    s = window.session
    train(qtbot, window)
    window.training.data.per_class.setValue(10)
    assert s.per_class == 10 and s.runs.current is None
    assert np.bincount(s.dataset.y_train).tolist() == [10, 10, 10]
    assert len(s.dataset.x_test) == len(tiny_dataset().x_test)  # test untouched
    assert "larger than the 30 training images" in s.blocker()
    window.training.batch_size.setValue(8)
    train(qtbot, window)
    assert [r.per_class for r in s.runs.runs] == [None, 10]
    assert window.training.data.about.text().count("30 training")


def test_runs_shown_together_overlay_their_curves_and_compare_their_figures(window, qtbot):
    s, curves = window.session, window.curves
    train(qtbot, window)
    train(qtbot, window)
    panel = window.runs_panel
    assert panel.table.rowCount() == 2 and not panel.compare.isVisibleTo(panel)
    for row in (1, 0):  # run 1 first: the one the other is compared with
        panel.table.item(row, 0).setCheckState(Qt.CheckState.Checked)
    assert s.runs.shown == [1, 2]
    # run 2 is the live curve; run 1 is drawn over the axes, its points where they were
    assert [r.number for r in curves.overlaid()] == [1]
    loss_items = curves.run_curves[0]._items
    y = loss_items[0].getData()[1]
    assert len(y) == s.runs.get(1).history.steps
    assert "Run 1" in curves.legend.text()
    table = panel.compare  # a column per run, a row per figure
    assert table.isVisibleTo(panel) and table.columnCount() == 2
    a, b = s.runs.get(1).final(), s.runs.get(2).final()
    for row, key in enumerate(METRICS):
        assert table.item(row, 0).text() == format_metric(key, a[key])
        expected = format_metric(key, b[key])
        if a[key] is not None and b[key] is not None:  # and the difference to run 1
            expected += f" ({format_metric(key, b[key] - a[key], signed=True)})"
        assert table.item(row, 1).text() == expected
    assert table.horizontalHeaderItem(1).text() == "Run 2 (this run)"


def test_rename_delete_and_take_up_a_run_again(window, qtbot, monkeypatch):
    s, panel = window.session, window.runs_panel
    train(qtbot, window)
    window.training.learning_rate.setValue(0.01)
    train(qtbot, window)
    panel.table.selectRow(1)  # run 1 (newest first)
    assert panel.selected().number == 1 and panel.restore.isEnabled()
    panel.table.item(1, 1).setText("  baseline ")
    assert s.runs.get(1).name == "baseline"
    errors = []
    monkeypatch.setattr(dialogs, "show_error", lambda *args: errors.append(args))
    panel.table.item(1, 1).setText("")
    assert errors and s.runs.get(1).name == "baseline"

    panel.restore.click()  # run 1's weights, settings and curves, back in place
    old = s.runs.get(1)
    assert s.config.learning_rate == old.config.learning_rate and s.runs.current == 1
    assert s.history == old.history
    for a, b in zip(old.weights, s.weights, strict=True):
        np.testing.assert_array_equal(a["kernel"] if a else 0, b["kernel"] if b else 0)
    assert len(s.runs.runs) == 2

    panel.table.selectRow(0)  # run 2: its settings, fresh weights
    panel.new_run.click()
    assert s.weights is None and s.config.learning_rate == 0.01 and s.runs.current is None
    train(qtbot, window)
    assert [r.number for r in s.runs.runs] == [1, 2, 3]

    panel.table.selectRow(1)  # run 2
    panel.delete.click()  # confirmed (make_window answers yes)
    assert [r.number for r in s.runs.runs] == [1, 3]


def test_runs_are_saved_with_the_project_and_opened_again(window, qtbot, tmp_path):
    s = window.session
    train(qtbot, window)
    window.training.data.per_class.setValue(20)
    train(qtbot, window)
    s.runs.rename(1, "all images")
    path = tmp_path / "runs.cnnviz"
    window.file.save(path)
    saved = load_project(path)
    assert [r.name for r in saved.runs] == ["all images", "Run 2"] and saved.per_class == 20
    window.file.new(get_preset("tiny"))
    assert s.runs.runs == [] and s.per_class is None
    window.file.open(path)
    assert [r.name for r in s.runs.runs] == ["all images", "Run 2"]
    assert s.runs.current == 2 and s.per_class == 20
    assert window.training.data.per_class.value() == 20


def test_a_file_older_than_runs_shows_its_training_as_a_run(window, qtbot, tmp_path):
    from cnnviz.io.project import Project, save_project

    s = window.session
    train(qtbot, window)
    path = tmp_path / "old.cnnviz"
    save_project(path, Project(SMALL_NET, s.config, "tiny", s.weights, s.history))
    window.file.open(path)
    assert len(s.runs.runs) == 1 and s.runs.current == 1
    assert s.runs.runs[0].history == s.history
