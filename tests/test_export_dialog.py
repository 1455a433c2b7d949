"""File > Export… in the window: the dialog writes the trained network in the chosen
formats, with the data's class names and test images; mistakes end in a dialog with
nothing written; the action waits for trained weights."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_export_support import weights_for
from test_qt_support import CLASSES, SMALL_NET, make_window

from cnnviz.qt import dialogs, export_dialog


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    window = make_window(qtbot, tmp_path, monkeypatch)
    window.network.reset(SMALL_NET)
    return window


def give_weights(window) -> None:
    """As if a run had just ended: the session holds trained weights."""
    window.session.weights = weights_for(SMALL_NET)
    window.session.run_changed.emit()


def open_dialog(window, qtbot) -> export_dialog.ExportDialog:
    window.exporter.action.trigger()
    dialog = window.exporter.dialog
    qtbot.waitUntil(dialog.isVisible)
    return dialog


def export_and_wait(dialog, qtbot, window) -> None:
    dialog.export_button.click()
    qtbot.waitUntil(lambda: window.exporter.dialog is None or dialog._thread is None,
                    timeout=60_000)


def test_export_waits_for_trained_weights(window):
    assert not window.exporter.action.isEnabled()
    assert "train the network first" in window.exporter.action.toolTip()
    give_weights(window)
    assert window.exporter.action.isEnabled()


def test_the_dialog_writes_the_chosen_formats_with_the_datas_classes(window, qtbot,
                                                                     tmp_path):
    give_weights(window)
    dialog = open_dialog(window, qtbot)
    for fmt, box in dialog.checks.items():
        box.setChecked(fmt in ("onnx", "jax"))
    dialog.path.setText(str(tmp_path / "small-export"))
    assert "model.onnx" in dialog.files.text() and "model_jax.py" in dialog.files.text()
    export_and_wait(dialog, qtbot, window)
    out = tmp_path / "small-export"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["manifest.json", "samples.npz", "README.md", "model.onnx", "weights.npz",
         "model_jax.py"])
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["class_names"] == list(CLASSES)
    np.testing.assert_array_equal(np.load(out / "samples.npz")["images"],
                                  window.session.dataset.x_test[:8])
    assert window.exporter.dialog is None  # closed once written
    assert window.statusBar().currentMessage() == f"Exported to {out}"
    assert window.settings.value(export_dialog.FORMATS_KEY) == ["onnx", "jax"]


def test_a_zip_keeps_the_name(window, qtbot, tmp_path):
    give_weights(window)
    dialog = open_dialog(window, qtbot)
    dialog.path.setText(str(tmp_path / "mine"))
    dialog.zip.setChecked(True)
    assert dialog.path.text() == str(tmp_path / "mine.zip")
    dialog.folder.setChecked(True)
    assert dialog.path.text() == str(tmp_path / "mine")
    dialog.reject()


def test_why_export_cannot_run_is_said_in_the_dialog(window, qtbot):
    give_weights(window)
    dialog = open_dialog(window, qtbot)
    for box in dialog.checks.values():
        box.setChecked(False)
    assert not dialog.export_button.isEnabled()
    assert dialog.reason.text() == "Choose at least one format."
    dialog.reject()


def test_a_destination_that_cannot_be_written_is_a_dialog_and_nothing_is_written(
        window, qtbot, tmp_path, monkeypatch):
    errors = []
    monkeypatch.setattr(dialogs, "show_error",
                        lambda parent, title, message: errors.append((title, message)))
    give_weights(window)
    dialog = open_dialog(window, qtbot)
    dialog.path.setText(str(tmp_path / "no" / "such" / "place"))
    dialog.export_button.click()
    qtbot.waitUntil(lambda: dialog._thread is None, timeout=60_000)
    assert errors == [("Could not export", f"{tmp_path / 'no' / 'such'}: no such folder")]
    assert dialog.isVisible() and window.exporter.dialog is dialog  # try another place
    assert not (tmp_path / "no").exists()
    dialog.reject()


def test_the_int8_graph_is_offered_for_a_model_quantized_to_int8(window, qtbot, tmp_path):
    """The Compress workspace tells the dialog which quantization the weights are on."""
    from cnnviz.core.compression_record import CompressionRecord, QuantizeStep
    from cnnviz.core.quantization import INT8_PER_TENSOR, quantize_network
    from cnnviz.io.export.onnx_qdq import qdq_onnx_bytes
    from cnnviz.qt.widgets.compress import add_compress_workspace

    model = add_compress_workspace(window).model
    give_weights(window)
    dialog = open_dialog(window, qtbot)
    int8 = dialog.checks["onnx-int8"]
    assert not int8.isEnabled() and "onnx-int8" not in dialog.formats()
    assert "model-int8.onnx" not in dialog.files.text()
    dialog.reject()
    q = quantize_network(SMALL_NET, window.session.weights, INT8_PER_TENSOR, [])
    step = QuantizeStep(accuracy_before=None, accuracy_after=None, bytes_before=0,
                        bytes_after=0, macs_before=0, macs_after=0, scheme=INT8_PER_TENSOR,
                        weight_scales={n: np.atleast_1d(s).tolist() for n, s in
                                       q.scales.items()})
    window.session.weights = q.weights
    model.put_record(CompressionRecord((step,)))
    dialog = open_dialog(window, qtbot)
    int8 = dialog.checks["onnx-int8"]
    assert int8.isEnabled()
    for fmt, box in dialog.checks.items():
        box.setChecked(fmt == "onnx-int8")
    dialog.path.setText(str(tmp_path / "int8-export"))
    assert "model-int8.onnx" in dialog.files.text()
    export_and_wait(dialog, qtbot, window)
    written = (tmp_path / "int8-export" / "model-int8.onnx").read_bytes()
    assert written == qdq_onnx_bytes(SMALL_NET, q.weights, step, CLASSES)
