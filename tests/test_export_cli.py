"""`cnnviz export`: a trained project as files, run in-process; mistakes end in one line
and exit status 2 with nothing written."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from test_cli import _main as run  # (exit status, stdout, stderr) of `cnnviz ...`
from test_export_support import weights_for

from cnnviz.core.layers import Conv2D, Dense, Flatten
from cnnviz.core.network import NetworkSpec
from cnnviz.data.registry import load_dataset
from cnnviz.io.project import Project, save_project

DIGITS_NET = NetworkSpec((8, 8, 1), (Conv2D(4, 3), Flatten(), Dense(10, "none")))


@pytest.fixture
def project(tmp_path):
    path = tmp_path / "digits.cnnviz"
    save_project(path, Project(DIGITS_NET, dataset="digits-8x8",
                               weights=weights_for(DIGITS_NET)))
    return path


def test_export_every_format_with_the_datasets_classes_and_test_images(project, tmp_path):
    code, out, err = run("export", project, "--out", tmp_path / "out")
    assert code == 0, err
    assert out.strip() == f"exported {project} to {tmp_path / 'out'}"
    names = {p.name for p in (tmp_path / "out").iterdir()}
    assert names == {"manifest.json", "samples.npz", "README.md", "weights.npz",
                     "weights.safetensors", "model.onnx", "model_pytorch.py",
                     "model_keras.py", "model_jax.py"}
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["class_names"] == list("0123456789")
    assert manifest["samples"]["source"] == "test images"
    test_images = load_dataset("digits-8x8").x_test[:8]
    np.testing.assert_array_equal(np.load(tmp_path / "out" / "samples.npz")["images"],
                                  test_images)


def test_export_some_formats_to_a_zip(project, tmp_path):
    code, out, err = run("export", project, "--format", "onnx,jax", "--out",
                         tmp_path / "out.zip", "--json")
    assert code == 0, err
    assert json.loads(out)["formats"] == ["onnx", "jax"]
    with zipfile.ZipFile(tmp_path / "out.zip") as zf:
        assert sorted(zf.namelist()) == sorted(f"out/{n}" for n in (
            "manifest.json", "samples.npz", "README.md", "model.onnx", "weights.npz",
            "model_jax.py"))


def test_data_that_needs_a_download_gives_random_samples(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNVIZ_CACHE_DIR", str(tmp_path / "empty-cache"))
    spec = NetworkSpec((32, 32, 3), (Conv2D(2, 3, 2), Flatten(), Dense(10, "none")))
    path = tmp_path / "cifar.cnnviz"
    save_project(path, Project(spec, dataset="cifar10", weights=weights_for(spec)))
    code, _, err = run("export", path, "--format", "npz", "--out", tmp_path / "out")
    assert code == 0, err
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["class_names"] == [str(i) for i in range(10)]
    assert manifest["samples"]["source"] == "random pixels (seed 0)"


@pytest.mark.parametrize(("args", "message"), [
    (["--format", "onnx,tflite"], "unknown export format tflite (known: npz, safetensors, "
                                  "onnx, onnx-int8, pytorch, keras, jax)"),
    (["--out", "missing/folder/out"], "missing/folder: no such folder"),
])
def test_mistakes_are_one_line_and_write_nothing(project, tmp_path, monkeypatch, args,
                                                 message):
    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    code, out, err = run("export", project, *(["--out", "out"] if "--out" not in args else []),
                         *args)
    assert code == 2 and out == ""
    assert err.strip() == f"cnnviz export: error: {message}"
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_an_untrained_project_cannot_be_exported(tmp_path):
    path = tmp_path / "new.cnnviz"
    save_project(path, Project(DIGITS_NET, dataset="digits-8x8"))
    code, _, err = run("export", path, "--out", tmp_path / "out")
    assert code == 2 and "untrained network (no weights); train it first" in err
    assert not (tmp_path / "out").exists()
