"""The app's own exports opened again: every weights format, folder and zip, give the
same network, weights, class names and logits."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_export_support import NETWORKS, engine_logits, images_for, trained

from cnnviz.io.export import FORMATS, export_model
from cnnviz.io.imports import MismatchError, ModelImportError, import_model


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("roundtrip")
    model = trained(NETWORKS["every-layer"], seed=7)
    return model, export_model(model, FORMATS, root / "every"), export_model(
        model, ["onnx", "npz"], root / "every.zip")


def assert_same(imported, model):
    assert imported.spec == model.spec
    assert imported.class_names == model.class_names and imported.dataset == "shapes"
    images = images_for(model.spec, 4)
    np.testing.assert_array_equal(engine_logits(imported.spec, imported.weights, images),
                                  engine_logits(model.spec, model.weights, images))


@pytest.mark.parametrize("member", [".", "manifest.json", "weights.safetensors",
                                    "weights.npz", "model.onnx"])
def test_each_part_of_a_folder_export_reads_back(exported, member):
    model, folder, _ = exported
    assert_same(import_model(folder / member), model)


def test_a_zip_export_reads_back(exported):
    model, _, archive = exported
    assert_same(import_model(archive), model)


def test_an_npz_alone_needs_its_network(exported, tmp_path):
    model, folder, _ = exported
    alone = tmp_path / "weights.npz"
    alone.write_bytes((folder / "weights.npz").read_bytes())
    with pytest.raises(ModelImportError, match="weights only: give the network"):
        import_model(alone)
    imported = import_model(alone, model.spec)
    assert imported.spec == model.spec and imported.class_names is None


def test_an_export_whose_samples_it_does_not_reproduce_is_refused(exported, tmp_path):
    _, folder, _ = exported
    copy = tmp_path / "copy"
    copy.mkdir()
    for file in folder.iterdir():
        (copy / file.name).write_bytes(file.read_bytes())
    samples = dict(np.load(copy / "samples.npz"))
    samples["logits"] = samples["logits"] * 2
    np.savez(copy / "samples.npz", **samples)
    with pytest.raises(MismatchError, match="samples.npz .* logits that differ by"):
        import_model(copy)


def test_a_manifest_from_a_newer_cnnviz_is_refused(exported, tmp_path):
    _, folder, _ = exported
    manifest = json.loads((folder / "manifest.json").read_text())
    (tmp_path / "manifest.json").write_text(json.dumps({**manifest, "version": 99}))
    with pytest.raises(ModelImportError, match="newer cnnviz"):
        import_model(tmp_path)
