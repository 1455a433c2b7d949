"""`cnnviz import`: a network made elsewhere saved as a project, run in-process; what does
not fit ends in exit status 2, with the table, and no project written."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from test_export_cli import DIGITS_NET, run
from test_export_support import weights_for

os.environ.setdefault("KERAS_BACKEND", "jax")
import keras  # noqa: E402
from keras import layers  # noqa: E402

from cnnviz.core.layers import Conv2D, Dense, Flatten, MaxPool2D  # noqa: E402
from cnnviz.io.export import Trained, export_model  # noqa: E402
from cnnviz.io.project import Project, load_project, save_project  # noqa: E402

pytestmark = pytest.mark.filterwarnings(  # Keras' own NumPy 2 deprecation when it saves
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")


@pytest.fixture(scope="module")
def keras_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("keras")
    model = keras.Sequential([keras.Input((8, 8, 1)), layers.Conv2D(4, 3, activation="relu"),
                              layers.MaxPooling2D(), layers.Flatten(),
                              layers.Dense(10, activation="softmax")])
    model.save(root / "digits.keras")
    model.save_weights(root / "digits.weights.h5")
    return root


def test_a_keras_model_becomes_a_project_on_data_that_fits(keras_files, tmp_path):
    out = tmp_path / "imported.cnnviz"
    code, text, err = run("import", keras_files / "digits.keras", "--out", out)
    assert code == 0, err
    assert "conv1 (Conv2D 4 3x3 /1 valid relu)" in text and "Total params: 410" in text
    assert "note: the final softmax was dropped" in text
    assert text.strip().endswith(f"saved {out} (dataset digits-8x8)")
    project = load_project(out)
    assert project.spec.layers == (Conv2D(4, 3), MaxPool2D(2), Flatten(), Dense(10, "none"))
    assert project.dataset == "digits-8x8" and project.weights is not None


def test_a_weights_file_with_its_network(keras_files, tmp_path):
    whole = tmp_path / "whole.cnnviz"
    assert run("import", keras_files / "digits.keras", "--out", whole)[0] == 0
    out = tmp_path / "part.cnnviz"
    code, text, err = run("import", keras_files / "digits.weights.h5", "--network", whole,
                          "--out", out, "--json")
    assert code == 0, err
    event = json.loads(text)
    assert event["event"] == "import" and event["params"] == 410
    for a, b in zip(load_project(out).weights, load_project(whole).weights, strict=True):
        assert all(np.array_equal(a[k], b[k]) for k in a)


def test_an_export_round_trips_through_a_project(tmp_path):
    weights = weights_for(DIGITS_NET, seed=4)
    export_model(Trained(DIGITS_NET, weights, tuple("0123456789"), "digits-8x8"), ["onnx"],
                 tmp_path / "export")
    out = tmp_path / "back.cnnviz"
    code, _, err = run("import", tmp_path / "export", "--out", out)
    assert code == 0, err
    project = load_project(out)
    assert project.spec == DIGITS_NET and project.dataset == "digits-8x8"
    for a, b in zip(project.weights, weights, strict=True):
        assert all(np.array_equal(a[k], b[k]) for k in a)


def test_what_cannot_be_imported_is_exit_status_2_and_no_project(keras_files, tmp_path):
    broken = tmp_path / "broken.keras"
    broken.write_bytes((keras_files / "digits.keras").read_bytes()[:500])
    out = tmp_path / "never.cnnviz"
    code, text, err = run("import", broken, "--out", out)
    assert (code, text) == (2, "")
    assert err.strip() == ("cnnviz import: error: broken.keras: not a Keras model file, or it "
                           "is truncated (not a readable zip archive)")

    code, _, err = run("import", keras_files / "digits.weights.h5", "--out", out)
    assert code == 2 and "holds weights only: give the network" in err

    other = tmp_path / "other.cnnviz"
    save_project(other, Project(DIGITS_NET.adapted((28, 28, 1), 10)))
    code, _, err = run("import", keras_files / "digits.weights.h5", "--network", other,
                       "--out", out)
    lines = err.strip().splitlines()
    assert code == 2 and lines[0] == "cnnviz import: error: digits.weights.h5 does not fit: " \
                                     "1 problem(s)"
    assert lines[1].split() == ["layer", "expected", "found"]
    assert lines[2].split() == ["dense1", "kernel", "2704x10", "36x10"]  # 26x26x4, no pool
    assert not out.exists()
