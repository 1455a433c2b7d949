"""The `cnnviz` command, run in-process: summaries, listings, one real training run that
`evaluate` re-reads, and errors that end in a message and exit status 2, never a
traceback."""

import cnnviz.engine  # noqa: F401, I001  (first: sets XLA's flags before JAX starts)
import contextlib
import io
import json
import re

import pytest
import reference

from cnnviz import cli
from cnnviz.cli import common as cli_common
from cnnviz.core.presets import PRESETS
from cnnviz.data.registry import list_datasets
from cnnviz.engine import trainer as trainer_module
from cnnviz.io.project import load_project


@pytest.fixture(scope="module", autouse=True)
def quick(tmp_path_factory):
    """Share what is slow to make, without changing what the commands do: the seed-0
    `shapes` dataset is generated once, each network's jitted steps compile once, and a
    run dispatches one step at a time (the multi-step path would otherwise keep compiling
    in the background after a one-epoch run has ended; results are bit-identical)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CNNVIZ_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        mp.setattr(cli_common, "load_dataset", reference.shapes_once(cli_common.load_dataset))
        mp.setattr(trainer_module, "default_steps_per_dispatch", lambda batch_size: 1)
        reference.share_compiled_steps(mp)
        yield


def _main(*argv):
    """(exit status, stdout, stderr) of `cnnviz argv...`."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main([str(a) for a in argv])
        except SystemExit as exc:  # argparse's own errors
            code = exc.code
    return code, out.getvalue(), err.getvalue()


def _json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _assert_user_error(code, out, err, *fragments, command):
    assert code == 2, (out, err)
    assert "Traceback" not in err + out
    assert f"cnnviz {command}: error: " in err
    for fragment in fragments:
        assert fragment in err, err


# -- one real training run, re-read by evaluate --------------------------------------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    path = tmp_path_factory.mktemp("trained") / "tiny.cnnviz"
    code, out, err = _main("train", "--preset", "tiny", "--dataset", "shapes", "--epochs", 1,
                           "--batch-size", 64, "--out", path)
    return code, out, err, path


def test_train_prints_progress_and_saves_a_project(trained):
    code, out, err, path = trained
    assert code == 0, err
    assert "Traceback" not in err
    lines = out.replace("\r", "\n").splitlines()
    assert "shapes: 8,999 train, 1,001 validation, 1,000 test; 56,389 parameters" in lines
    (epoch,) = [line for line in lines if line.startswith("Epoch ")]
    assert re.fullmatch(r"Epoch 1/1  140/140 \[=+\] - \d+s \d+ms/step - loss: \d\.\d{4} - "
                        r"accuracy: \d\.\d{4} - val_loss: \d\.\d{4} - val_accuracy: \d\.\d{4}",
                        epoch), epoch
    assert f"saved {path}" in lines
    project = load_project(path)
    assert project.dataset == "shapes"
    assert project.config.epochs == 1 and project.config.batch_size == 64
    assert project.config.learning_rate == 3e-3  # the preset's
    assert project.history.steps == 140 and len(project.history.epochs) == 1
    # the optimizer's state too (leaf 3: Adam's own step count), so a run continues as it was
    state = project.optimizer_state
    assert (state.optimizer, state.steps, int(state.leaves[3])) == ("adam", 140, 140)
    stats = project.history.epochs[0]
    assert f"loss: {stats['loss']:.4f}" in epoch
    assert f"val_accuracy: {stats['val_accuracy']:.4f}" in epoch
    assert stats["val_accuracy"] > 0.5  # one epoch already learns something


def test_evaluate_reports_what_train_reported(trained):
    _, out, _, path = trained
    trained_acc = re.search(r"test loss: (\d\.\d{4}) - test accuracy: (\d\.\d{4})", out)
    assert trained_acc
    code, out, err = _main("evaluate", path)
    assert code == 0, err
    match = re.fullmatch(r"shapes test set \(1,000 images\): loss (\d\.\d{4}) - "
                         r"accuracy (\d\.\d{4})\n", out)
    assert match, out
    assert match.groups() == trained_acc.groups()


def test_train_json_one_object_per_epoch_and_one_final(trained, tmp_path):
    path = tmp_path / "again.cnnviz"
    code, out, err = _main("train", "--preset", "tiny", "--epochs", 2, "--batch-size", 64,
                           "--json", "--out", path)
    assert code == 0, err
    events = _json_lines(out)  # every line is one JSON object, nothing else
    assert [e["event"] for e in events] == ["epoch", "epoch", "done"]
    assert [e["epoch"] for e in events[:2]] == [1, 2]
    for e in events[:2]:
        assert set(e) == {"event", "epoch", "loss", "accuracy", "val_loss", "val_accuracy",
                          "seconds", "learning_rate"}
        assert e["learning_rate"] == 3e-3  # tiny's, constant
    done = events[-1]
    assert done["steps"] == 280 and done["saved"] == str(path)
    assert 0 <= done["test_accuracy"] <= 1
    # the same seed: the first epoch is the text run's first epoch
    first = load_project(trained[3]).history.epochs[0]
    assert events[0]["loss"] == first["loss"]
    assert events[0]["val_accuracy"] == first["val_accuracy"]
    # evaluate --json reads the saved weights back to exactly the same numbers
    code, out, err = _main("evaluate", path, "--json")
    assert code == 0, err
    (result,) = _json_lines(out)
    assert result == {"event": "evaluate", "dataset": "shapes", "test_loss": done["test_loss"],
                      "test_accuracy": done["test_accuracy"], "examples": 1000}


def test_evaluate_on_data_with_other_classes(trained):
    code, out, err = _main("evaluate", trained[3], "--dataset", "digits")
    _assert_user_error(code, out, err, "the output has 5 values but the data has 10 classes",
                       command="evaluate")


# -- summary, presets, datasets ------------------------------------------------------------


def test_summary_of_a_preset():
    code, out, err = _main("summary", "--preset", "keras-cifar10")
    assert (code, err) == (0, "")
    assert "Total params: 122,570" in out
    assert "conv2 (Conv2D 64 3x3 /1 valid relu)" in out and "(None, 13, 13, 64)" in out
    assert "18,496" in out and "65,600" in out


def test_summary_json():
    code, out, _ = _main("summary", "--preset", "keras-cifar10", "--json")
    assert code == 0
    (summary,) = _json_lines(out)
    assert summary["event"] == "summary" and summary["total_params"] == 122_570
    assert [layer["output_shape"] for layer in summary["layers"]] == [
        [30, 30, 32], [15, 15, 32], [13, 13, 64], [6, 6, 64], [4, 4, 64], [1024], [64], [10]]
    assert [layer["params"] for layer in summary["layers"] if layer["params"]] == [
        896, 18_496, 36_928, 65_600, 650]
    assert summary["problems"] == []
    assert summary["network"] == PRESETS["keras-cifar10"].spec.to_dict()


def test_summary_of_files(tmp_path, trained):
    net = tmp_path / "net.json"
    net.write_text(PRESETS["lenet5"].spec.to_json())
    code, out, _ = _main("summary", net)
    assert code == 0 and "Total params: 61,706" in out
    code, out, _ = _main("summary", "--network", net, "--json")
    assert code == 0 and _json_lines(out)[0]["total_params"] == 61_706
    code, out, _ = _main("summary", trained[3])  # a project file
    assert code == 0 and "Total params: 56,389" in out


def test_summary_of_an_invalid_network_explains_and_exits_2(tmp_path):
    net = tmp_path / "net.json"
    net.write_text(json.dumps({"schema_version": 1, "input_shape": [4, 4, 1], "layers": [
        {"type": "conv2d", "filters": 2, "kernel_size": 5}, {"type": "flatten"},
        {"type": "dense", "units": 2, "activation": "none"}]}))
    code, out, err = _main("summary", net)
    assert code == 2 and "Traceback" not in err
    assert ("ERROR conv1: kernel 5 > input H 4; out = floor((H - K + 2P) / S) + 1 = "
            "floor((4 - 5 + 0) / 1) + 1 = 0") in out
    code, out, _ = _main("summary", net, "--json")
    assert code == 2
    (summary,) = _json_lines(out)
    assert summary["layers"][0]["error"].startswith("kernel 5 > input H 4")
    assert summary["layers"][1]["output_shape"] is None


def test_presets():
    code, out, _ = _main("presets")
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == list(PRESETS)
    assert re.search(r"^keras-cifar10\s+122,570 params", out, re.M)
    code, out, _ = _main("presets", "--json")
    events = _json_lines(out)
    assert [e["name"] for e in events] == list(PRESETS)
    by_name = {e["name"]: e for e in events}
    assert by_name["keras-cifar10"]["params"] == 122_570
    assert by_name["tiny"]["input_shape"] == [28, 28, 1]


def test_datasets():
    code, out, _ = _main("datasets")
    assert code == 0
    shapes = next(line for line in out.splitlines() if line.startswith("shapes "))
    assert "built-in" in shapes and "28x28" in shapes and "5 classes" in shapes
    code, out, _ = _main("datasets", "--json")
    assert code == 0
    events = _json_lines(out)
    assert [e["name"] for e in events] == [info.name for info in list_datasets()]
    by_name = {e["name"]: e for e in events}
    assert by_name["shapes"]["builtin"] is True and by_name["shapes"]["cached"] is True
    assert by_name["shapes"]["input_shape"] == [28, 28, 1] and by_name["shapes"]["classes"] == 5
    # nothing is downloaded yet into the (empty, temporary) cache
    assert all(e["cached"] == e["builtin"] for e in events)


# -- errors: a message and status 2, never a traceback ------------------------------------


def test_unknown_preset_is_an_argparse_error():
    code, out, err = _main("train", "--preset", "resnet152")
    assert code == 2 and "Traceback" not in err
    assert "invalid choice: 'resnet152'" in err and "keras-cifar10" in err


def test_train_with_a_bad_network_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema_version": 1, "input_shape": [28, 28, 1], "layers": [')
    _assert_user_error(*_main("train", "--network", bad), "not valid JSON", command="train")
    bad.write_text(json.dumps({"schema_version": 1, "input_shape": [28, 28, 1],
                               "layers": [{"type": "conv3d"}]}))
    _assert_user_error(*_main("train", "--network", bad), "unknown layer type 'conv3d'",
                       command="train")


def test_train_with_a_network_for_other_images(tmp_path):
    net = tmp_path / "net.json"
    net.write_text(PRESETS["keras-cifar10"].spec.to_json())
    _assert_user_error(*_main("train", "--network", net),
                       "the network takes (32, 32, 3) images but shapes has (28, 28, 1)",
                       command="train")


def test_train_with_a_missing_network_file(tmp_path):
    _assert_user_error(*_main("train", "--network", tmp_path / "nope.json"),
                       "cannot read", "nope.json", "no such file", command="train")


@pytest.mark.parametrize(("args", "message"), [
    (["--seed", -1], "seed must be a whole number >= 0, got -1"),
    (["--lr", -0.5], "learning rate must be in (0, 10], got -0.5"),
    (["--batch-size", 0], "batch size must be a whole number >= 1, got 0"),
    (["--augment", "flip,blur"], "unknown augmentation blur"),
    (["--validation-fraction", 1.5], "validation fraction must be in [0, 1), got 1.5"),
    (["--dataset", "imagenet"], "unknown dataset 'imagenet'"),
    (["--batch-size", 10_000], "batch size 10000 is larger than the 8999 training images"),
])
def test_train_refuses_bad_settings(args, message):
    _assert_user_error(*_main("train", *args), message, command="train")


@pytest.mark.parametrize(("args", "message"), [
    (["--epochs", 0], "epochs must be a whole number >= 1, got 0"),
    (["--lr", 0], "learning rate must be in (0, 10], got 0"),
])
def test_train_refuses_zero_instead_of_using_the_default(args, message):
    # a huge batch makes the run fail fast if the zero is silently replaced by the preset's
    # default (it must be refused first)
    _assert_user_error(*_main("train", *args, "--batch-size", 10_000), message,
                       command="train")


def test_evaluate_missing_project(tmp_path):
    _assert_user_error(*_main("evaluate", tmp_path / "nope.cnnviz"), "no such file",
                       command="evaluate")


def test_evaluate_corrupt_project(tmp_path, trained):
    data = trained[3].read_bytes()
    damaged = tmp_path / "damaged.cnnviz"
    damaged.write_bytes(data[: len(data) // 2])
    _assert_user_error(*_main("evaluate", damaged), "damaged.cnnviz", command="evaluate")
    damaged.write_text("just text")
    _assert_user_error(*_main("evaluate", damaged), "not a cnnviz project file",
                       command="evaluate")


def test_evaluate_untrained_project(tmp_path):
    from cnnviz.io.project import Project, save_project

    path = tmp_path / "new.cnnviz"
    save_project(path, Project(PRESETS["tiny"].spec))
    _assert_user_error(*_main("evaluate", path), "holds an untrained network (no weights)",
                       command="evaluate")


def test_summary_errors(tmp_path):
    _assert_user_error(*_main("summary", tmp_path / "nope.json"), "cannot read",
                       command="summary")
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2")
    _assert_user_error(*_main("summary", "--network", bad), "not valid JSON",
                       command="summary")
    _assert_user_error(*_main("summary", tmp_path / "nope.cnnviz"), "no such file",
                       command="summary")


def test_summary_of_a_binary_file(tmp_path):
    # e.g. an image passed by mistake: not text, so not a network description
    png = tmp_path / "picture.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe\x80\x81")
    _assert_user_error(*_main("summary", png), "picture.png", command="summary")
