"""Exported weights and ONNX graphs: names, layouts, manifest, and the logits of every
preset and of every layer type, checked with onnxruntime against the app's."""

from __future__ import annotations

import io
import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from safetensors.numpy import load as load_safetensors
from test_export_support import NETWORKS, engine_logits, images_for, trained

from cnnviz.core.layers import LAYER_TYPES, Conv2D, Dense, Flatten
from cnnviz.io.export import FORMATS, ExportError, export_files
from cnnviz.io.export.layout import nchw_rows_to_nhwc, nhwc_rows_to_nchw
from cnnviz.io.export.manifest import SCALE, TOLERANCE
from cnnviz.io.weights import WeightsError


@pytest.fixture(scope="module", params=list(NETWORKS))
def export(request):
    model = trained(NETWORKS[request.param])
    return model, export_files(model, FORMATS, request.param)


def _npz(data: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def test_weights_files_name_arrays_by_layer_in_the_apps_layout(export):
    model, files = export
    expected = {f"{name}.{key}": value for name, layer in zip(model.spec.names, model.weights,
                                                               strict=True)
                for key, value in layer.items()}
    for arrays in (_npz(files["weights.npz"]), load_safetensors(files["weights.safetensors"])):
        assert sorted(arrays) == sorted(expected)
        for name, value in expected.items():
            np.testing.assert_array_equal(arrays[name], value)
            assert arrays[name].dtype == np.float32


def test_safetensors_metadata_holds_the_manifest(export):
    _, files = export
    data = files["weights.safetensors"]
    header = json.loads(data[8:8 + int.from_bytes(data[:8], "little")])
    assert json.loads(header["__metadata__"]["manifest"]) == json.loads(files["manifest.json"])


def test_manifest_describes_input_normalisation_layers_and_training(export):
    model, files = export
    manifest = json.loads(files["manifest.json"])
    spec = model.spec
    assert manifest["class_names"] == list(model.class_names)
    assert manifest["input"]["shape"] == list(spec.input_shape)
    assert manifest["normalization"] == {**manifest["normalization"], "scale": 1 / 255,
                                         "offset": 0.0}
    assert manifest["network"] == spec.to_dict()
    assert [layer["name"] for layer in manifest["layers"]] == spec.names
    assert [layer["output_shape"] for layer in manifest["layers"]] == [
        list(info.out_shape) for info in spec.analyze().layers]
    assert manifest["training"] == {"dataset": "shapes", "steps": 120,
                                    "metrics": {"loss": 0.5, "accuracy": 0.8}}
    assert set(manifest["files"]) == set(files)
    assert manifest["versions"]["numpy"] == np.__version__


def test_stored_samples_hold_the_apps_logits(export):
    model, files = export
    samples = _npz(files["samples.npz"])
    assert samples["images"].dtype == np.uint8 and len(samples["images"]) == 8
    np.testing.assert_array_equal(samples["logits"],
                                  engine_logits(model.spec, model.weights, samples["images"]))


def test_onnx_passes_the_full_check_and_reads_like_the_layer_list(export):
    model, files = export
    graph_model = onnx.load_from_string(files["model.onnx"])
    onnx.checker.check_model(graph_model, full_check=True)
    assert graph_model.opset_import[0].version >= 17
    nodes = {node.name: node for node in graph_model.graph.node}
    for info in model.spec.analyze().layers:
        node = nodes[info.name]  # one node per layer, under the layer's name
        assert info.name in node.doc_string and "x".join(map(str, info.out_shape)) in (
            node.doc_string)
        if getattr(info.layer, "activation", "none") != "none":
            assert f"{info.name}/{info.layer.activation}" in nodes
    batch = graph_model.graph.input[0].type.tensor_type.shape.dim[0]
    assert batch.dim_param == "batch"
    props = {p.key: p.value for p in graph_model.metadata_props}
    assert json.loads(props["class_names"]) == list(model.class_names)
    assert json.loads(props["normalization"])["scale"] == SCALE


@pytest.mark.parametrize("batch", [1, 3])
def test_onnxruntime_gives_the_apps_logits_for_any_batch(export, batch):
    model, files = export
    images = images_for(model.spec, batch, seed=batch)
    session = ort.InferenceSession(files["model.onnx"])
    logits = session.run(None, {"image": images.astype(np.float32) * np.float32(SCALE)})[0]
    reference = engine_logits(model.spec, model.weights, images)
    assert logits.shape == reference.shape
    assert np.abs(logits - reference).max() <= TOLERANCE


def test_dense_rows_reorder_between_the_two_flattening_orders():
    image = (2, 3, 4)
    x = np.arange(24, dtype=np.float32).reshape(image)  # (H, W, C)
    kernel = np.random.default_rng(0).normal(size=(24, 5)).astype(np.float32)
    by_app = x.reshape(-1) @ kernel  # the app flattens (H, W, C)
    by_torch = x.transpose(2, 0, 1).reshape(-1) @ nhwc_rows_to_nchw(kernel, image)
    np.testing.assert_allclose(by_torch, by_app, rtol=1e-6)
    np.testing.assert_array_equal(nchw_rows_to_nhwc(nhwc_rows_to_nchw(kernel, image), image),
                                  kernel)


def test_only_the_requested_formats_and_what_their_scripts_need_are_written():
    model = trained(NETWORKS["tiny"])
    files = export_files(model, ["onnx"])
    assert set(files) == {"manifest.json", "samples.npz", "README.md", "model.onnx"}
    files = export_files(model, ["keras"])
    assert set(files) == {"manifest.json", "samples.npz", "README.md", "weights.npz",
                          "model_keras.py"}
    readme = files["README.md"].decode()
    assert "model_keras.py" in readme and "model.onnx" not in readme


def test_given_images_are_stored_as_samples():
    model = trained(NETWORKS["tiny"])
    images = images_for(model.spec, 3)
    samples = _npz(export_files(model, ["npz"], images=images)["samples.npz"])
    np.testing.assert_array_equal(samples["images"], images)


def test_unknown_formats_and_unusable_weights_are_refused():
    model = trained(NETWORKS["tiny"])
    with pytest.raises(ExportError, match="unknown export format tflite"):
        export_files(model, ["onnx", "tflite"])
    bad = [dict(layer) for layer in model.weights]
    bad[0]["kernel"] = np.full_like(bad[0]["kernel"], np.nan)
    with pytest.raises(WeightsError, match="NaN"):
        export_files(type(model)(model.spec, bad, model.class_names), ["npz"])


def test_the_every_layer_network_has_every_layer_kind():
    kinds = {type(layer) for spec in (NETWORKS["every-layer"], NETWORKS["global-pool"])
             for layer in spec.layers}
    assert kinds == set(LAYER_TYPES.values())
    convs = [layer for layer in NETWORKS["every-layer"].layers if isinstance(layer, Conv2D)]
    assert {(c.padding, c.stride) for c in convs} >= {("same", 2), ("same", 1), ("valid", 1)}
    activations = {layer.activation for spec in NETWORKS.values() for layer in spec.layers
                   if isinstance(layer, Conv2D | Dense)}
    assert activations == {"relu", "sigmoid", "tanh", "none"}
    assert any(isinstance(layer, Flatten) for layer in NETWORKS["every-layer"].layers)
