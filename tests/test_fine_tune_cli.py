"""`cnnviz train --from FILE` (fine-tuning, a Keras model too), `--per-class`, and
`cnnviz runs`: real runs in-process, and the errors a user can cause in one line."""

import cnnviz.engine  # noqa: F401, I001  (first: sets XLA's flags before JAX starts)
import json

import numpy as np
import pytest
import reference
from test_cli import _assert_user_error, _json_lines, _main

from cnnviz.cli import common as cli_common
from cnnviz.core.layers import Conv2D, Dense, Flatten, MaxPool2D, is_frozen
from cnnviz.core.network import NetworkSpec
from cnnviz.engine import trainer as trainer_module
from cnnviz.io.project import load_project

NET = NetworkSpec((28, 28, 1), (Conv2D(4, 3), MaxPool2D(2), Flatten(), Dense(8),
                                Dense(5, "none")))


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    """A small network trained one epoch on shapes, saved as a project."""
    folder = tmp_path_factory.mktemp("pre")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CNNVIZ_CACHE_DIR", str(folder / "cache"))
        mp.setattr(cli_common, "load_dataset", reference.shapes_once(cli_common.load_dataset))
        mp.setattr(trainer_module, "default_steps_per_dispatch", lambda batch_size: 1)
        network = folder / "net.json"
        network.write_text(NET.to_json())
        path = folder / "pre.cnnviz"
        code, out, err = _main("train", "--network", network, "--epochs", 1, "--batch-size",
                               64, "--out", path)
        assert code == 0, err
        yield path


@pytest.fixture(autouse=True)
def quick(monkeypatch, tmp_path):
    monkeypatch.setenv("CNNVIZ_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(trainer_module, "default_steps_per_dispatch", lambda batch_size: 1)


def test_fine_tuning_a_project_on_a_slice_of_other_data(pretrained, tmp_path):
    out = tmp_path / "ft.cnnviz"
    code, text, err = _main("train", "--from", pretrained, "--dataset", "outlines",
                            "--per-class", 10, "--epochs", 2, "--batch-size", 10, "--out", out)
    assert code == 0, err
    assert "50 train" in text  # 10 of each of the 5 classes
    assert ("fine-tuning: dense2 new, for the new classes; frozen: conv1, dense1 (2 of 3 "
            "layers with weights)") in text
    source, tuned = load_project(pretrained), load_project(out)
    assert [is_frozen(layer) for layer in tuned.spec.layers] == [True, False, False, True, False]
    for i in (0, 3):  # frozen: as trained on shapes, bit for bit
        for key in ("kernel", "bias"):
            np.testing.assert_array_equal(tuned.weights[i][key], source.weights[i][key])
    assert not np.array_equal(tuned.weights[4]["kernel"], source.weights[4]["kernel"])
    # the source's run, then the new one, with what each came from
    assert [r.kind for r in tuned.runs] == ["trained", "fine-tuned"]
    run = tuned.runs[-1]
    assert run.source == "pre.cnnviz (shapes)" and run.per_class == 10
    assert run.config.learning_rate == source.config.learning_rate  # only new layers train
    assert run.test_accuracy is not None and run.weights is not None
    assert tuned.per_class == 10

    code, text, err = _main("runs", out)
    assert code == 0, err
    lines = text.splitlines()
    assert lines[0].split()[:4] == ["#", "name", "data", "epochs"]
    assert "outlines, 10 per class" in lines[2]
    assert "fine-tuned from pre.cnnviz (shapes); frozen: conv1, dense1" in text


def test_runs_as_json_and_against_another(pretrained, tmp_path):
    out = tmp_path / "ft.cnnviz"
    _main("train", "--from", pretrained, "--dataset", "shapes", "--freeze", 0, "--epochs", 1,
          "--per-class", 20, "--batch-size", 20, "--json", "--out", out)
    code, text, err = _main("runs", out, "--json", "--against", 1)
    assert code == 0, err
    first, second = _json_lines(text)
    assert (first["number"], second["number"]) == (1, 2) and second["kind"] == "fine-tuned"
    for key, value in second["differences"].items():
        a, b = first["final"][key], second["final"][key]
        assert value == (None if a is None or b is None else pytest.approx(b - a))
    assert second["config"]["learning_rate"] == pytest.approx(0.1 * first["config"][
        "learning_rate"])  # trained layers train again: a tenth
    code, text, err = _main("runs", out, "--against", 1)
    assert code == 0 and "+" in text.splitlines()[2] or "-" in text.splitlines()[2]
    _assert_user_error(*_main("runs", out, "--against", 9), "has no run 9 (it has 1, 2)",
                       command="runs")


def test_the_json_events_name_the_plan(pretrained):
    code, text, err = _main("train", "--from", pretrained, "--dataset", "outlines",
                            "--per-class", 5, "--epochs", 1, "--batch-size", 5, "--json")
    assert code == 0, err
    plan = next(e for e in _json_lines(text) if e["event"] == "fine_tune")
    assert plan == {"event": "fine_tune", "source": "pre.cnnviz (shapes)", "new_head": True,
                    "frozen": ["conv1", "dense1"], "learning_rate": pytest.approx(1e-3)}


@pytest.mark.parametrize(("args", "fragments"), [
    (("--dataset", "digits-8x8"), ("cannot fine-tune pre.cnnviz (shapes) on digits-8x8: "
                                   "dense1 was trained on 28x28x1 images",
                                   "(data of that size: shapes, outlines, digits,")),
    (("--dataset", "digits-32"), ("dense1 was trained on 28x28x1 images and its kernel has "
                                  "shape 676x8; on 32x32x1 images it needs 900x8",)),
    (("--freeze", 3), ("freezing 3 of the 3 layers with weights leaves nothing to train: keep "
                       "at least the last one (dense2) trainable",)),
    (("--per-class", 0), ("images per class must be a whole number from 1",)),
], ids=["smaller", "larger", "all frozen", "no images"])
def test_what_cannot_be_fine_tuned_is_one_line_and_writes_nothing(pretrained, tmp_path, args,
                                                                   fragments):
    out = tmp_path / "ft.cnnviz"
    code, text, err = _main("train", "--from", pretrained, "--epochs", 1, "--out", out, *args)
    _assert_user_error(code, text, err, *fragments, command="train")
    assert len(err.strip().splitlines()) == 1 and not out.exists()


def test_an_untrained_project_or_flags_without_from_are_refused(tmp_path):
    from cnnviz.io.project import Project, save_project

    empty = tmp_path / "empty.cnnviz"
    save_project(empty, Project(NET))
    _assert_user_error(*_main("train", "--from", empty), "holds an untrained network",
                       command="train")
    _assert_user_error(*_main("train", "--freeze", 2), "give it with --from FILE",
                       command="train")
    _assert_user_error(*_main("train", "--from", tmp_path / "none.keras"), "no such file",
                       command="train")
    code, text, _ = _main("runs", empty)
    assert code == 0 and "no runs yet" in text


@pytest.mark.filterwarnings(  # Keras' own NumPy 2 deprecation, inside Keras when it saves
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")
def test_a_keras_model_fine_tunes_as_a_project_does(tmp_path):
    import os

    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras
    from keras import layers

    model = keras.Sequential([keras.Input((28, 28, 1)), layers.Conv2D(4, 3, activation="relu"),
                              layers.MaxPooling2D(2), layers.Flatten(),
                              layers.Dense(8, activation="relu"), layers.Dense(10)])
    path = tmp_path / "digits.keras"
    model.save(path)
    out = tmp_path / "ft.cnnviz"
    code, text, err = _main("train", "--from", path, "--dataset", "outlines", "--per-class", 5,
                            "--epochs", 1, "--batch-size", 5, "--out", out)
    assert code == 0, err
    tuned = load_project(out)
    kernel = model.layers[0].get_weights()[0]
    np.testing.assert_array_equal(tuned.weights[0]["kernel"], kernel)  # frozen: Keras' own
    assert tuned.spec.layers[-1].units == 5 and tuned.runs[-1].source == "digits.keras"
    assert json.loads(json.dumps(tuned.runs[-1].to_dict()))["kind"] == "fine-tuned"
