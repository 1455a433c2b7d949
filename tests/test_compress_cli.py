"""`cnnviz prune`, `quantize` and `sweep`, run in-process on a small project: what they
save, what they print with --json, and bad requests that end in one line, exit status 2
and no file written."""

import cnnviz.engine  # noqa: F401, I001  (first: sets XLA's flags before JAX starts)
import contextlib
import io
import json

import jax
import numpy as np
import pytest
import reference

from cnnviz import cli
from cnnviz.cli import common as cli_common
from cnnviz.core.config import TrainConfig
from cnnviz.core.layers import Conv2D, Dense, Flatten, MaxPool2D
from cnnviz.core.network import NetworkSpec
from cnnviz.core.quantization import dequantize, quantize_weights
from cnnviz.data.per_class import per_class_slice
from cnnviz.engine import trainer as trainer_module
from cnnviz.engine.model import init_params, params_to_numpy
from cnnviz.io.compression import MASKS, compressed_record, load_masks
from cnnviz.io.project import Project, load_project, save_project

SPEC = NetworkSpec((28, 28, 1), (Conv2D(4, 3), MaxPool2D(2), Conv2D(8, 3), MaxPool2D(2),
                                 Flatten(), Dense(16), Dense(5, "none")))


@pytest.fixture(scope="module", autouse=True)
def quick():
    """The seed-0 shapes data generated once, with 600 training images (fine-tuning is
    short); one step per dispatch (nothing left compiling in the background)."""
    small = reference.subset(reference.shapes_dataset(), 600, 300, 100)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cli_common, "load_dataset", lambda name, **_: small)
        mp.setattr(trainer_module, "default_steps_per_dispatch", lambda batch_size: 1)
        yield


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    path = tmp_path_factory.mktemp("compress") / "trained.cnnviz"
    weights = params_to_numpy(init_params(SPEC, jax.random.PRNGKey(0)))
    save_project(path, Project(SPEC, TrainConfig(epochs=1), "shapes", weights))
    return path


def _main(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main([str(a) for a in argv])
        except SystemExit as exc:
            code = exc.code
    return code, out.getvalue(), err.getvalue()


def _done(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()][-1]


def test_prune_saves_the_pruned_weights_masks_and_record(project, tmp_path):
    out = tmp_path / "pruned.cnnviz"
    code, text, _ = _main("prune", project, "--sparsity", 0.8, "--fine-tune-epochs", 1,
                          "--json", "--out", out)
    assert code == 0
    lines = [json.loads(line) for line in text.splitlines()]
    assert [line["event"] for line in lines] == ["epoch", "done"]
    done = lines[-1]
    saved = load_project(out)
    masks = load_masks(SPEC, saved.extras[MASKS])
    kernels = [(w["kernel"], m["kernel"]) for w, m in zip(saved.weights, masks, strict=True)
               if m]
    total = sum(k.size for k, _ in kernels)
    assert sum(int((~m).sum()) for _, m in kernels) == int(0.8 * total + 0.5)
    assert all(np.all(k[~m] == 0) for k, m in kernels)  # held through the fine-tuning
    step = compressed_record(saved).steps[0]
    assert step.sparsity == 0.8 and step.fine_tune_epochs == 1
    assert done["layer_sparsity"] == step.layer_sparsity and done["saved"] == str(out)
    assert saved.config.epochs == 1 and saved.history.steps == 600 // 32


def test_fine_tuning_keeps_to_the_images_per_class_the_project_trained_on(tmp_path,
                                                                          monkeypatch):
    """A project trained on 20 images of each of shapes' 5 classes fine-tunes on those
    100 images, not on all 600: 100 // 32 = 3 steps an epoch."""
    source = tmp_path / "few.cnnviz"
    weights = params_to_numpy(init_params(SPEC, jax.random.PRNGKey(0)))
    save_project(source, Project(SPEC, TrainConfig(epochs=1), "shapes", weights,
                                 per_class=20))
    every, asked = cli_common.load_dataset, []

    def load(name, per_class=None, seed=0, **options):
        asked.append(per_class)
        data = every(name, seed=seed, **options)
        return data if per_class is None else per_class_slice(data, per_class, seed)

    monkeypatch.setattr(cli_common, "load_dataset", load)
    out = tmp_path / "pruned.cnnviz"
    code, _, err = _main("prune", source, "--sparsity", 0.5, "--fine-tune-epochs", 1,
                         "--json", "--out", out)
    assert code == 0, err
    saved = load_project(out)
    assert asked == [20] and saved.per_class == 20
    assert saved.history.steps == 100 // 32


def test_structured_prune_shrinks_the_shapes_and_multiply_adds(project, tmp_path):
    out = tmp_path / "structured.cnnviz"
    code, text, _ = _main("prune", project, "--sparsity", 0.5, "--structured", "--json",
                          "--out", out)
    assert code == 0
    done = _done(text)
    saved = load_project(out)
    assert [layer.filters for layer in saved.spec.layers[:3:2]] == [2, 4]
    assert done["shapes"][2] == [11, 11, 4]
    # by hand: 26*26*2 outputs * 3*3*1, 11*11*4 * 3*3*2, 5*5*4 inputs * 8 units, 8 * 5
    assert done["macs_after"] == 26 * 26 * 2 * 9 + 11 * 11 * 4 * 18 + 100 * 8 + 8 * 5
    assert saved.spec.check().total_macs == done["macs_after"]
    assert MASKS not in saved.extras


def test_quantize_per_channel_with_calibration(project, tmp_path):
    out = tmp_path / "int8.cnnviz"
    code, text, _ = _main("quantize", project, "--scheme", "int8-per-channel", "--calibrate",
                          64, "--json", "--out", out)
    assert code == 0
    done = _done(text)
    saved = load_project(out)
    step = compressed_record(saved).steps[0]
    scales = np.array(step.weight_scales["conv2"], np.float32)
    kernel = saved.weights[2]["kernel"]
    np.testing.assert_array_equal(kernel, dequantize(quantize_weights(kernel, scales), scales))
    assert set(step.activations) == {"conv1", "conv2", "dense1", "dense2"}
    assert step.calibration_images == 64 and done["bytes_after"] < done["bytes_before"] / 3
    assert set(done["output_errors"]) == set(step.activations)


def test_quantize_writes_a_qdq_onnx_model_that_onnxruntime_runs(project, tmp_path):
    import onnxruntime as ort

    out, onnx_path = tmp_path / "int8.cnnviz", tmp_path / "int8.onnx"
    code, _, _ = _main("quantize", project, "--scheme", "int8-per-tensor", "--calibrate", 32,
                       "--json", "--out", out, "--onnx", onnx_path)
    assert code == 0
    session = ort.InferenceSession(onnx_path.read_bytes(), providers=["CPUExecutionProvider"])
    assert "QuantizeLinear" in onnx_path.read_bytes().decode("latin-1")
    logits = session.run(None, {"image": np.zeros((2, 28, 28, 1), np.float32)})[0]
    assert logits.shape == (2, 5)


def test_sweep_prints_the_sensitivity_table(project):
    code, text, _ = _main("sweep", project, "--json")
    assert code == 0
    sweep = _done(text)
    assert sweep["levels"][0] == 0 and len(sweep["levels"]) == 12
    assert list(sweep["accuracy"]) == ["all", "conv1", "conv2", "dense1", "dense2"]
    assert set(sweep["knees"]) == set(sweep["accuracy"]) and sweep["images"] == 300
    code, text, _ = _main("sweep", project, "--layers", "conv2")
    assert code == 0 and "knee" in text and "conv1" not in text


@pytest.mark.parametrize("argv, message", [
    (("prune", "--sparsity", 1.0), "sparsity must be at least 0 and below 1"),
    (("prune", "--sparsity", -0.2), "sparsity must be at least 0 and below 1"),
    (("prune", "--sparsity", 0.5, "--layers", "conv7"), "no weighted layer conv7"),
    (("prune", "--sparsity", 0.5, "--rounds", 0), "rounds"),
    (("quantize", "--scheme", "int8-per-tensor", "--calibrate", 0), "at least one image"),
    (("quantize", "--scheme", "int8-per-tensor", "--keep-float", "dense9"), "dense9"),
    (("quantize", "--scheme", "float16", "--calibrate", 10), "int8 weights"),
    (("quantize", "--scheme", "float16", "--onnx", "x.onnx"), "float16 has no scales"),
])
def test_bad_requests_end_in_one_line_and_write_nothing(project, tmp_path, argv, message):
    out = tmp_path / "never.cnnviz"
    command, *rest = argv
    code, text, err = _main(command, project, *rest, "--out", out)
    assert code == 2 and text == ""
    assert err.strip().startswith(f"cnnviz {command}: error:") and message in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_an_untrained_project_is_refused(tmp_path):
    path = tmp_path / "untrained.cnnviz"
    save_project(path, Project(SPEC))
    code, _, err = _main("sweep", path)
    assert code == 2 and "untrained" in err


def test_export_writes_the_qdq_graph_of_a_quantized_project(project, tmp_path):
    import onnxruntime as ort

    out, onnx_path = tmp_path / "int8.cnnviz", tmp_path / "int8.onnx"
    code, _, _ = _main("quantize", project, "--scheme", "int8-per-channel", "--calibrate", 32,
                       "--out", out, "--onnx", onnx_path)
    assert code == 0
    code, text, _ = _main("export", out, "--out", tmp_path / "exported", "--json")
    assert code == 0 and "onnx-int8" in _done(text)["formats"]  # all: the int8 graph too
    code, _, _ = _main("export", out, "--format", "onnx-int8", "--out", tmp_path / "e2")
    written = (tmp_path / "e2" / "model-int8.onnx").read_bytes()
    assert code == 0 and written == onnx_path.read_bytes()  # what quantize --onnx wrote
    x = np.random.default_rng(0).random((4, 28, 28, 1), np.float32)
    session = ort.InferenceSession(written, providers=["CPUExecutionProvider"])
    reference_session = ort.InferenceSession(onnx_path.read_bytes(),
                                             providers=["CPUExecutionProvider"])
    np.testing.assert_array_equal(session.run(None, {"image": x})[0],
                                  reference_session.run(None, {"image": x})[0])


def test_the_int8_graph_of_a_project_not_quantized_is_refused(project, tmp_path):
    code, _, err = _main("export", project, "--format", "onnx-int8", "--out", tmp_path / "e")
    assert code == 2 and "quantized to int8" in err and not (tmp_path / "e").exists()
    code, text, _ = _main("export", project, "--out", tmp_path / "all", "--json")
    assert code == 0 and "onnx-int8" not in _done(text)["formats"]


def test_summary_of_a_pruned_project_has_a_sparsity_column(project, tmp_path):
    out = tmp_path / "pruned.cnnviz"
    assert _main("prune", project, "--sparsity", 0.8, "--out", out)[0] == 0
    saved = load_project(out)
    # numpy's count of exact zeros in each kernel: the reference
    zeros = {name: float(np.mean(w["kernel"] == 0)) for name, w in zip(
        SPEC.names, saved.weights, strict=True) if "kernel" in w}
    code, text, _ = _main("summary", out)
    assert code == 0 and "Sparsity" in text.splitlines()[1]
    for name, share in zeros.items():
        row = next(line for line in text.splitlines() if line.startswith(f"{name} ("))
        assert row.endswith(f"{100 * share:.1f} %")
    assert next(line for line in text.splitlines() if line.startswith("maxpool1 (")
                ).rstrip().endswith("0")  # no sparsity for a layer without weights
    code, text, _ = _main("summary", out, "--json")
    layers = _done(text)["layers"]
    assert {layer["name"]: layer["sparsity"] for layer in layers if "sparsity" in layer} == \
        pytest.approx(zeros)
    code, text, _ = _main("summary", project)  # not pruned: no column
    assert code == 0 and "Sparsity" not in text


def numpy_logits(spec, weights, images):
    """The network's logits by numpy alone, not the engine: each valid conv a product of
    its input's patches and the kernel, each 2x2 max pool the largest of its window."""
    h = images.astype(np.float64) / 255.0
    for layer, w in zip(spec.layers, weights, strict=True):
        if isinstance(layer, Conv2D):
            k = layer.kernel_size
            patches = np.lib.stride_tricks.sliding_window_view(h, (k, k), axis=(1, 2))
            h = np.einsum("nijcxy,xycf->nijf", patches, w["kernel"]) + w["bias"]
        elif isinstance(layer, MaxPool2D):
            n, rows, cols, c = h.shape
            h = h[:, :rows // 2 * 2, :cols // 2 * 2].reshape(
                n, rows // 2, 2, cols // 2, 2, c).max(axis=(2, 4))
        elif isinstance(layer, Flatten):
            h = h.reshape(len(h), -1)
        else:
            h = h @ w["kernel"] + w["bias"]
        if getattr(layer, "activation", None) == "relu":
            h = np.maximum(h, 0)
    return h


def test_a_pruned_model_is_a_run_that_runs_lists_beside_its_source(project, tmp_path):
    trained, pruned = tmp_path / "trained.cnnviz", tmp_path / "pruned.cnnviz"
    code, _, _ = _main("train", "--network", project, "--dataset", "shapes", "--epochs", 1,
                       "--json", "--out", trained)
    assert code == 0
    code, text, _ = _main("prune", trained, "--sparsity", 0.5, "--json", "--out", pruned)
    assert code == 0
    done = _done(text)
    saved = load_project(pruned)
    source, run = saved.runs
    assert (source.number, source.kind, run.number, run.kind) == (1, "trained", 2, "compressed")
    assert run.name == "Run 2: pruned 50.0 %" and run.source == "Run 1 (shapes)"
    # the recorded figure is the saved weights': numpy's argmax on the validation images
    data = cli_common.load_dataset("shapes")
    for weights in (saved.weights, run.weights):
        predicted = numpy_logits(SPEC, weights, data.x_val).argmax(axis=1)
        assert run.val_accuracy == pytest.approx(np.mean(predicted == data.y_val))
    assert run.val_accuracy == done["accuracy_after"]
    logits = numpy_logits(SPEC, saved.weights, data.x_test)
    assert run.test_accuracy == pytest.approx(np.mean(logits.argmax(axis=1) == data.y_test))
    assert run.test_loss == pytest.approx(reference.cross_entropy(logits, data.y_test).mean(),
                                          rel=1e-4)
    code, text, _ = _main("runs", pruned, "--against", 1, "--json")
    assert code == 0
    rows = [json.loads(line) for line in text.splitlines()]
    assert [(r["number"], r["kind"]) for r in rows] == [(1, "trained"), (2, "compressed")]
    final, difference = rows[1]["final"], rows[1]["differences"]
    assert final["loss"] is None and final["accuracy"] is None and rows[1]["epochs"] == 0
    # what pruning did to the accuracy, as the record says and as the runs compare it
    assert difference["val_accuracy"] == pytest.approx(
        done["accuracy_after"] - done["accuracy_before"])
    code, text, _ = _main("runs", pruned)
    assert code == 0
    lines = text.splitlines()
    assert lines[2].startswith("2  Run 2: pruned 50.0 %  shapes") and "—" in lines[2]
    assert lines[4].startswith("2  compressed from Run 1 (shapes); adam")
