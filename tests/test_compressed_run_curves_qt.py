"""A compressed model's run among the curves: compressed without training after, its
history is its source's, so none of that is drawn under its name (only its validation
figure once compressed, a star, and a legend saying it was not trained); fine-tuned
after compression, its own training is drawn as any run's."""

from __future__ import annotations

import numpy as np
import pytest
from PyQt6.QtCore import Qt
from reference import random_weights
from test_qt_support import SMALL_NET, make_window

from cnnviz.core.compression_record import PruneStep, QuantizeStep
from cnnviz.core.config import TrainConfig
from cnnviz.core.history import History
from cnnviz.engine.compress_pipeline import Compressed
from cnnviz.io.compression import compressed_project
from cnnviz.io.project import Project, save_project
from cnnviz.qt.widgets.run_curves import RUN_COLORS

FIGURES = dict(accuracy_before=0.6, accuracy_after=0.55, bytes_before=1000, bytes_after=300,
               macs_before=500, macs_after=500)
INT8 = QuantizeStep(**FIGURES)  # weights only, no calibration, no training after
PRUNED = PruneStep(**FIGURES, sparsity=0.5, fine_tune_epochs=1)
AFTER = {"val_loss": 2.5, "val_accuracy": 0.55, "test_loss": 2.25, "test_accuracy": 0.5}
TUNED_AFTER = {"val_loss": 0.75, "val_accuracy": 0.625, "test_loss": 1.0, "test_accuracy": 0.5}


def _history(losses: list[float], accuracies: list[float], val: list[float]) -> History:
    history = History()
    history.add_steps(np.array(losses, np.float32), np.array(accuracies, np.float32))
    for accuracy in val:
        history.epochs.append({"loss": 1.0, "accuracy": 0.5, "val_loss": 1.25,
                               "val_accuracy": accuracy, "seconds": 0.5})
    return history


SOURCE = _history([1.5, 1.25, 1.0, 0.875, 0.75, 0.625], [0.25, 0.375, 0.5, 0.5, 0.625, 0.75],
                  [0.5, 0.625])
TUNING = _history([0.5, 0.375, 0.25, 0.125], [0.75, 0.8125, 0.875, 0.9375], [0.625])


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    window = make_window(qtbot, tmp_path, monkeypatch)
    window.network.reset(SMALL_NET)
    yield window
    assert window.finish_threads(30)


def _opened(window, tmp_path, fine_tuned_too: bool) -> None:
    """A project whose run 1 (trained) was quantized without training (run 2) and, if
    `fine_tuned_too`, run 2 pruned and fine-tuned (run 3), saved and opened."""
    dataset = window.session.dataset_name
    original = Project(SMALL_NET, TrainConfig(epochs=2), dataset, random_weights(SMALL_NET),
                       SOURCE)
    project = compressed_project(original, Compressed(
        SMALL_NET, random_weights(SMALL_NET, 1), None, INT8, figures=AFTER))
    if fine_tuned_too:
        project = compressed_project(project, Compressed(
            SMALL_NET, random_weights(SMALL_NET, 2), None, PRUNED, TUNING,
            TrainConfig(epochs=1, learning_rate=1e-4), figures=TUNED_AFTER))
    path = tmp_path / "compressed.cnnviz"
    save_project(path, project)
    assert window.files.open_path(str(path))


def _tick(window, *numbers: int) -> None:
    """Tick these runs in the Runs panel, in this order."""
    table = window.runs_panel.table
    rows = {table.item(row, 1).data(Qt.ItemDataRole.UserRole): row
            for row in range(table.rowCount())}
    for number in numbers:
        table.item(rows[number], 0).setCheckState(Qt.CheckState.Checked)


def _drawn(curves) -> list[tuple[np.ndarray, np.ndarray, object]]:
    """Each item a RunCurves draws: its (x, y) and its symbol brush's colour."""
    return [(*(np.asarray(a) for a in item.getData()), item.opts["symbolBrush"])
            for item in curves._items]


def test_a_run_compressed_without_training_draws_no_curve_of_its_source(window, tmp_path):
    _opened(window, tmp_path, fine_tuned_too=True)
    s, curves = window.session, window.curves
    curves.smoothing.setValue(0.0)  # the curves drawn are then the values recorded
    source, plain, tuned = s.runs.runs
    assert not plain.own_history and plain.history == SOURCE and tuned.own_history
    window.runs_panel.table.selectRow(2)  # run 1 (newest first): the live curve once back
    window.runs_panel.restore.click()
    assert s.runs.current == 1
    _tick(window, 2, 3)
    assert [r.number for r in curves.overlaid()] == [2, 3]

    for metric, curves_of_metric in zip(("loss", "accuracy"), curves.run_curves, strict=True):
        steps = SOURCE.step_loss if metric == "loss" else SOURCE.step_accuracy
        mine = TUNING.step_loss if metric == "loss" else TUNING.step_accuracy
        drawn = _drawn(curves_of_metric)
        # nothing drawn is the source's training curve or its validation points
        for y in (item[1] for item in drawn):
            assert not (len(y) == len(steps) and np.allclose(y, steps))
            assert not (len(y) == len(SOURCE.epochs) and np.allclose(
                y, [e[f"val_{metric}"] for e in SOURCE.epochs]))
        # run 2 (first overlaid, first colour): one star, its figure once compressed,
        # where its source's training had got to
        stars = [(x, y) for x, y, brush in drawn if brush == RUN_COLORS[0]]
        assert len(stars) == 1
        np.testing.assert_array_equal(stars[0][0], [SOURCE.steps])
        np.testing.assert_array_equal(stars[0][1], [AFTER[f"val_{metric}"]])
        # run 3, fine-tuned after compression: its own curve, step by step
        x, y = drawn[1][:2]
        np.testing.assert_array_equal(x, np.arange(1, TUNING.steps + 1))
        np.testing.assert_allclose(y, mine, rtol=1e-6)
    legend = curves.legend.text()
    assert "not trained" in legend and f"compressed from Run 1 ({s.dataset_name})" in legend
    assert "Run 3" in legend and "┅◆</span> Run 3" in legend


def test_the_live_curves_of_a_compressed_model_say_whose_they_are(window, tmp_path):
    _opened(window, tmp_path, fine_tuned_too=False)
    s, curves = window.session, window.curves
    assert s.runs.current == 2 and not s.runs.get(2).own_history
    assert s.history == SOURCE  # what a Start would continue from
    assert f"Up to step 6 these curves are Run 1 ({s.dataset_name})'s" in curves.legend.text()
    window.runs_panel.table.selectRow(1)  # run 1
    window.runs_panel.restore.click()
    assert s.runs.current == 1 and "these curves are" not in curves.legend.text()


def test_a_compressed_run_without_validation_figures_says_it_has_no_curves(window, tmp_path):
    dataset = window.session.dataset_name
    original = Project(SMALL_NET, TrainConfig(epochs=2), dataset, random_weights(SMALL_NET),
                       SOURCE)
    project = compressed_project(original, Compressed(
        SMALL_NET, random_weights(SMALL_NET, 1), None, INT8))  # no validation images
    path = tmp_path / "no-val.cnnviz"
    save_project(path, project)
    assert window.files.open_path(str(path))
    window.runs_panel.table.selectRow(1)
    window.runs_panel.restore.click()
    _tick(window, 2)
    assert [r.number for r in window.curves.overlaid()] == [2]
    assert all(not c._items for c in window.curves.run_curves)
    assert "not trained): no curves of its own" in window.curves.legend.text()
