"""The Compress workspace in the window: the slider re-measures at once, the sweep, speed,
quantization and fine-tuning jobs run off the GUI thread and fill the views, the result
is saved as a new project whose record the workspace shows when it is opened."""

from __future__ import annotations

import jax
import numpy as np
import pytest
import reference
from PyQt6.QtWidgets import QMessageBox
from test_qt_support import SMALL_NET, make_window, wait_idle

from cnnviz.core.compression import magnitude_masks
from cnnviz.core.config import TrainConfig
from cnnviz.core.history import History
from cnnviz.core.network import NetworkSpec
from cnnviz.core.runs import COMPRESSED, differences, format_metric
from cnnviz.engine.model import init_params, params_to_numpy
from cnnviz.engine.trainer import evaluate
from cnnviz.io.compression import MASKS, compressed_record, load_masks
from cnnviz.io.project import load_project
from cnnviz.qt import dialogs
from cnnviz.qt.widgets.compress import add_compress_workspace
from cnnviz.qt.widgets.compress_model import PREVIEW_DELAY_MS, QuantizeSettings


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    window = make_window(qtbot, tmp_path, monkeypatch)
    window.network.reset(SMALL_NET)
    yield window
    assert window.finish_threads(30)


def trained(window):
    """Weights as if trained (seeded), handed to the session as a file would."""
    weights = params_to_numpy(init_params(SMALL_NET, jax.random.PRNGKey(3)))
    s = window.session
    s.load_state(TrainConfig(epochs=1, batch_size=32), s.dataset_name, weights, History())
    return weights


def test_without_weights_the_workspace_says_what_is_missing(window, qtbot):
    workspace = add_compress_workspace(window)
    assert "train the network first" in workspace.prune.figures.text()
    assert not workspace.prune.sweep.isEnabled() and not workspace.quantize.run.isEnabled()


def test_the_slider_re_measures_the_pruned_network(window, qtbot):
    workspace = add_compress_workspace(window)
    weights = trained(window)
    model, controls = workspace.model, workspace.prune
    qtbot.waitUntil(lambda: model.preview is not None, timeout=60_000)
    with qtbot.waitSignal(model.preview_ready, timeout=60_000) as blocker:
        controls.slider.setValue(80)
    preview = blocker.args[0]
    assert preview.sparsity == 0.8 and controls.value.text() == "80 %"
    data = window.session.dataset
    pruned = [{k: v * m[k] if k in m else v for k, v in w.items()} for w, m in zip(
        weights, magnitude_masks(SMALL_NET, weights, 0.8), strict=True)]
    loss, accuracy = evaluate(SMALL_NET, pruned, data.x_val, data.y_val)
    assert preview.accuracy == pytest.approx(accuracy) and preview.loss == pytest.approx(loss)
    assert f"{100 * accuracy:.1f} %" in controls.figures.text()
    kernel = pruned[0]["kernel"]  # one global threshold: conv1's own share
    assert workspace.layers.table.item(0, 2).text() == f"{100 * np.mean(kernel == 0):.1f} %"
    image = workspace.kernels.image.image  # conv1's kernels, the pruned ones black
    holes = int(np.sum(np.all(image == 0, axis=-1)))
    assert holes == int(np.sum(preview.masks[0]["kernel"] == 0)) > 0
    assert controls.layers.text() == "all 2 layers"
    with qtbot.waitSignal(model.preview_ready, timeout=60_000) as blocker:
        controls.layers.set_checked(["dense1"])  # conv1 is left whole
    assert blocker.args[0].layer_sparsity["conv1"] == 0.0
    assert blocker.args[0].layer_sparsity["dense1"] == pytest.approx(0.8, abs=1e-3)
    assert controls.layers.text() == "dense1"
    controls.layers.set_checked(["conv1", "dense1"])
    with qtbot.waitSignal(model.preview_ready, timeout=60_000) as blocker:
        controls.kind.setCurrentIndex(1)  # whole filters
    assert blocker.args[0].structured and "→" in workspace.layers.table.item(0, 1).text()
    assert not controls.scope.isEnabled()


def test_sweep_speed_and_quantization_fill_their_views(window, qtbot):
    workspace = add_compress_workspace(window)
    trained(window)
    model = workspace.model
    qtbot.waitUntil(lambda: not model.busy and model.preview is not None, timeout=60_000)
    workspace.prune.sweep.click()
    qtbot.waitUntil(lambda: model.sweep is not None and model.sweep.done == model.sweep.total
                    and not model.busy, timeout=120_000)
    assert workspace.views.currentWidget() is workspace.sweep
    assert len(workspace.sweep._curves) == 3  # all, conv1, dense1
    assert "knee" in workspace.sweep.note.text()
    workspace.prune.speed.click()
    qtbot.waitUntil(lambda: model.speed is not None and not model.busy, timeout=120_000)
    table = workspace.speed.table
    assert table.rowCount() == len(SMALL_NET.layers) + 4
    assert table.item(0, 1).text() == "14x14x4" and table.item(0, 3).text() == "14x14x2"
    workspace.quantize.activations.setCurrentIndex(1)  # int8, min/max
    workspace.quantize.images.setValue(40)
    workspace.quantize.run.click()
    qtbot.waitUntil(lambda: model.result is not None and not model.busy, timeout=120_000)
    step = model.result.step
    assert step.scheme == "int8-per-channel" and step.calibration_images == 40
    assert "quantized" in workspace.quantize.figures.text()
    assert "…" in workspace.layers.table.item(0, 3).text()  # 4 per-channel scales
    workspace.grid.layer.setCurrentIndex(0)
    workspace.grid.channel.setCurrentIndex(1)
    scale = model.result.details.scales["conv1"][0]
    assert workspace.grid.grid.getData()[0][::2] == pytest.approx(
        np.unique(workspace.grid.grid.getData()[0]))
    assert np.diff(np.unique(workspace.grid.grid.getData()[0])) == pytest.approx(scale)


def test_fine_tune_save_and_open_the_compressed_model(window, qtbot, tmp_path, monkeypatch):
    workspace = add_compress_workspace(window)
    trained(window)
    model, controls = workspace.model, workspace.prune
    qtbot.waitUntil(lambda: not model.busy and model.preview is not None, timeout=60_000)
    controls.slider.setValue(70)
    controls.epochs.setValue(1)
    qtbot.waitUntil(lambda: not model.busy and model.preview.sparsity == 0.7, timeout=60_000)
    controls.tune.click()
    qtbot.waitUntil(lambda: model.result is not None and not model.busy, timeout=120_000)
    assert model.tuning and workspace.views.currentWidget() is workspace.tuning
    assert len(workspace.tuning.val.getData()[0]) == 1  # one epoch's validation point
    path = tmp_path / "pruned.cnnviz"
    monkeypatch.setattr(dialogs, "save_path", lambda *args: str(path))
    workspace.job.save.click()
    saved = load_project(path)
    masks = load_masks(SMALL_NET, saved.extras[MASKS])
    assert all(np.all(w["kernel"][~m["kernel"]] == 0) for w, m in zip(
        saved.weights, masks, strict=True) if m)
    assert compressed_record(saved).steps[0].sparsity == 0.7
    assert not workspace.job.open.isHidden()
    workspace.job.open.click()  # the window opens it; the workspace shows its record
    qtbot.waitUntil(lambda: bool(model.record.steps))
    assert "pruned 70.0 %" in workspace.job.record.text()
    assert window.session.masks is not None and window.file.path == path


def naive_val_accuracy(weights, dataset) -> float:
    """SMALL_NET's validation accuracy from the textbook formulas (tests/reference)."""
    x = dataset.x_val.astype(np.float64) / 255.0
    conv, _, _, dense = weights
    h = np.maximum(reference.conv2d(x, conv["kernel"], conv["bias"], 1, "valid"), 0)
    logits = reference.dense(reference.max_pool(h, 2, 2).reshape(len(x), -1), dense["kernel"],
                             dense["bias"])
    return float(np.mean(logits.argmax(1) == dataset.y_val))


def test_a_compressed_model_saved_and_opened_is_the_runs_current_one(window, qtbot, tmp_path,
                                                                     monkeypatch):
    workspace = add_compress_workspace(window)
    s, model = window.session, workspace.model
    window.training.epochs.setValue(1)
    window.actions.start_pause.trigger()  # run 1, trained here
    wait_idle(qtbot, window)
    qtbot.waitUntil(lambda: not model.busy and model.blocker() is None, timeout=60_000)
    workspace.quantize.run.click()  # int8 per channel, activations float: no fine-tuning
    qtbot.waitUntil(lambda: model.result is not None and not model.busy, timeout=120_000)
    step = model.result.step
    path = tmp_path / "int8.cnnviz"
    monkeypatch.setattr(dialogs, "save_path", lambda *args: str(path))
    workspace.job.save.click()
    workspace.job.open.click()
    qtbot.waitUntil(lambda: window.file.path == path)
    source, run = s.runs.runs
    assert s.runs.current == run.number == 2 and run.kind == COMPRESSED
    assert run.source == f"Run 1 ({s.dataset_name})" and run.name == (
        "Run 2: quantized to int8-per-channel")
    # its validation accuracy is its weights', by the textbook's formulas
    assert run.val_accuracy == step.accuracy_after == pytest.approx(
        naive_val_accuracy(s.weights, s.dataset))
    assert differences(source, run)["val_accuracy"] == pytest.approx(
        step.accuracy_after - step.accuracy_before)
    assert run.final()["loss"] is None  # the training was its source's
    table = window.runs_panel.table  # newest first, the current run in bold
    assert table.item(0, 1).text() == run.name and table.item(0, 1).font().bold()
    assert table.item(0, 2).text() == format_metric("val_accuracy", step.accuracy_after)
    assert "compressed from Run 1" in table.item(0, 1).toolTip()
    assert table.item(1, 1).text() == "Run 1"


def test_a_failing_job_is_shown_in_a_dialog(window, qtbot, monkeypatch):
    shown = []
    monkeypatch.setattr(dialogs, "show_error", lambda parent, title, message: shown.append(
        (title, message)) or QMessageBox())
    workspace = add_compress_workspace(window)
    trained(window)
    model = workspace.model
    qtbot.waitUntil(lambda: not model.busy and model.preview is not None, timeout=60_000)
    model.quantize(QuantizeSettings("int8-per-tensor", "minmax", images=0))
    qtbot.waitUntil(lambda: bool(shown) and not model.busy, timeout=60_000)
    assert shown[0][0] == "Cannot compress" and "at least one image" in shown[0][1]
    assert model.result is None


def test_a_project_with_a_damaged_record_is_refused_whole(window, qtbot, tmp_path):
    from cnnviz.io.project import Project, ProjectFileError, save_project

    workspace = add_compress_workspace(window)
    weights = trained(window)
    path = tmp_path / "damaged.cnnviz"
    save_project(path, Project(SMALL_NET, TrainConfig(epochs=1), "tiny", weights, History(),
                               {"compression": b'{"version": 1, "steps": [{"kind": 3}]}'}))
    with pytest.raises(ProjectFileError, match="extras/compression"):
        window.file.open(path)
    assert window.file.path != path and not workspace.model.record.steps


def test_the_step_through_conv_pixel_gets_its_int8_lines(window, qtbot, tmp_path, monkeypatch):
    from cnnviz.core.arithmetic import conv_output
    from cnnviz.core.quantization import int8_conv_pixel

    workspace = add_compress_workspace(window)
    weights = trained(window)
    model = workspace.model
    qtbot.waitUntil(lambda: not model.busy and model.preview is not None, timeout=60_000)
    image = window.session.dataset.x_val[0].astype(np.float64) / 255
    close_up = conv_output(image, weights[0]["kernel"], weights[0]["bias"], 3, 4, 2, 1, "valid",
                           "relu")
    assert model.int8_notes("conv1", 2, close_up) == []  # nothing quantized yet
    model.quantize(QuantizeSettings("int8-per-channel", "minmax", images=32))
    qtbot.waitUntil(lambda: model.result is not None and not model.busy, timeout=120_000)
    details = model.result.details
    pixel = int8_conv_pixel(close_up.patch.values, close_up.kernel, close_up.bias,
                            *details.activations["conv1"], float(details.scales["conv1"][2]))
    lines = model.int8_notes("conv1", 2, close_up)
    assert len(lines) == 5 and "int8-per-channel" in lines[0]
    assert f"= {pixel.accumulator} (whole numbers" in lines[3]
    assert f"; in float: {pixel.float_value:.4g}" in lines[4]
    assert model.int8_notes("dense1", 0, close_up) != [] and model.int8_notes("maxpool1", 0,
                                                                             close_up) == []
    path = tmp_path / "int8.cnnviz"  # saved and opened again: from the project's record
    monkeypatch.setattr(dialogs, "save_path", lambda *args: str(path))
    workspace.job.save.click()
    window.file.open(path)
    qtbot.waitUntil(lambda: model.result is None and bool(model.record.steps))
    assert model.int8_notes("conv1", 2, close_up) == lines


def test_the_app_window_has_the_workspace_and_feeds_the_step_through(qtbot, tmp_path):
    from PyQt6.QtCore import QSettings

    from cnnviz.qt.app import build_window
    from cnnviz.qt.widgets.compress import CompressWorkspace
    from cnnviz.qt.widgets.step_through.view import StepThroughView

    window, _ = build_window(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    panels = [window.tabs.widget(i).widget() for i in range(window.tabs.count())]
    workspace = next(p for p in panels if isinstance(p, CompressWorkspace))
    step = next(p for p in panels if isinstance(p, StepThroughView))
    assert step.model.conv_notes == workspace.model.int8_notes
    window.show()  # nothing still loading when the test ends
    qtbot.waitUntil(lambda: window.session.dataset is not None
                    and window.worker.device is not None, timeout=60_000)
    assert window.finish_threads(30)


def test_a_network_changed_under_kept_weights_then_trained_again(window, qtbot, monkeypatch):
    """Inserting a Dropout keeps a trained network's weights: the workspace reads the
    network and weights together, never the new network with the old weights; a preview
    asked for before training started is dropped, not refused in a dialog."""
    from cnnviz.core.layers import Dense, Dropout, Flatten

    shown = []
    monkeypatch.setattr(dialogs, "show_error", lambda parent, title, message: shown.append(
        (title, message)) or QMessageBox())
    workspace = add_compress_workspace(window)
    dense = NetworkSpec((16, 16, 1), (Flatten(), Dense(8), Dense(3, "none")))
    window.network.reset(dense)
    s = window.session
    s.set_config(epochs=1, batch_size=32)
    s.start()
    qtbot.waitUntil(lambda: not s.active and s.weights is not None, timeout=60_000)
    window.network.insert(2, Dropout(0.5))
    assert s.weights is not None and len(s.weights) == 4  # kept, refitted
    assert workspace.layers.table.rowCount() == 2
    assert workspace.layers.table.item(1, 1).text() == "8x3"
    s.reset_weights()
    s.start()
    qtbot.waitUntil(lambda: not s.active, timeout=60_000)
    qtbot.wait(2 * PREVIEW_DELAY_MS)
    assert shown == []
