"""`cnnviz train` when things go wrong: a diverging run (exit status 3, no non-finite
weights written, the last finite ones kept), Ctrl+C (what was trained is saved, marked
as interrupted), an --out that cannot be written (refused before training), a link as
--out (written through), --json without bare NaN, progress in a log as whole lines."""

import cnnviz.engine  # noqa: F401, I001  (first: sets XLA's flags before JAX starts)
import io
import json
import os
import signal
import threading

import numpy as np
import pytest
import reference
from test_cli import _main

from cnnviz.cli import common as cli_common
from cnnviz.cli.common import StatusLine, json_safe
from cnnviz.core.history import INTERRUPTED, Halt
from cnnviz.core.snapshot import RUNNING
from cnnviz.engine import trainer as trainer_module
from cnnviz.io.project import Project, load_project, save_project

LINEAR = {"schema_version": 1, "input_shape": [28, 28, 1], "layers": [
    {"type": "flatten"}, {"type": "dense", "units": 32, "activation": "none"},
    {"type": "dense", "units": 5, "activation": "none"}]}
TOO_FAST = ("--optimizer", "sgd-momentum", "--lr", 10)


@pytest.fixture(scope="module", autouse=True)
def quick():
    """The seed-0 `shapes` data generated once; one step per dispatch (no background
    compile still running when a short run ends)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cli_common, "load_dataset", reference.shapes_once(cli_common.load_dataset))
        mp.setattr(trainer_module, "default_steps_per_dispatch", lambda batch_size: 1)
        yield


@pytest.fixture
def linear(tmp_path):
    path = tmp_path / "linear.json"
    path.write_text(json.dumps(LINEAR))
    return path


@pytest.fixture
def good(tmp_path, linear):
    """A good project file, as a user's earlier run left it."""
    path = tmp_path / "run.cnnviz"
    code, _, err = _main("train", "--network", linear, "--epochs", 1, "--batch-size", 256,
                         "--out", path)
    assert code == 0, err
    return path


def test_a_diverging_run_exits_3_and_leaves_the_good_file_as_it_was(good, linear):
    before = good.read_bytes()
    code, out, err = _main("train", "--network", linear, *TOO_FAST, "--epochs", 1,
                           "--out", good)
    assert code == 3, (out, err)
    assert "Traceback" not in err and "nan" not in out.lower()
    assert "Training diverged at step" in err and "learning rate 10" in err
    assert "sgd-momentum" in err and "try 1" in err
    assert "warning: The loss reached" in err  # it exploded on its way to NaN
    assert "nothing saved" in out and good.read_bytes() == before


def test_a_run_that_diverges_later_saves_its_last_finite_epoch(tmp_path, linear):
    # two steps an epoch: the run gets past some epochs' ends before it overflows
    path = tmp_path / "later.cnnviz"
    code, out, err = _main("train", "--network", linear, *TOO_FAST, "--batch-size", 4096,
                           "--epochs", 40, "--json", "--out", path)
    assert code == 3, err
    events = [json.loads(line) for line in out.splitlines()]
    (diverged,) = [e for e in events if e["event"] == "diverged"]
    kept = diverged["weights_step"]
    assert kept > 0 and kept % 2 == 0 and diverged["step"] > kept
    project = load_project(path)  # readable: its weights are finite
    assert project.history.halts == [Halt(**{k: diverged[k] for k in (
        "reason", "step", "learning_rate", "optimizer", "weights_step", "largest_weight")})]
    assert events[-1]["saved"] == str(path)
    assert "NaN" not in out  # strict JSON on every line

    def refuse(constant):
        raise ValueError(f"bare {constant}")

    for line in out.splitlines():
        json.loads(line, parse_constant=refuse)


def test_ctrl_c_saves_what_was_trained_marked_as_interrupted(tmp_path, linear, monkeypatch):
    real_run = trainer_module.Trainer.run

    def run(self):
        for snap in real_run(self):
            yield snap
            if snap.state == RUNNING and snap.step >= 20:  # as if the user pressed Ctrl+C
                signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(trainer_module.Trainer, "run", run)
    before = signal.getsignal(signal.SIGINT)  # SIG_IGN when the suite runs in the background
    path = tmp_path / "cut.cnnviz"
    code, out, err = _main("train", "--network", linear, "--epochs", 3, "--out", path)
    assert code == 130, err
    assert "stopping after this step" in err and "interrupted" in out
    project = load_project(path)
    steps = project.history.steps
    assert 20 <= steps < 3 * 281
    assert project.history.halts == [Halt(INTERRUPTED, steps)]
    assert signal.getsignal(signal.SIGINT) is before  # given back


@pytest.mark.parametrize(("out", "fragment"), [
    ("missing/dir/x.cnnviz", "the folder"),
    ("a-folder", "it is a folder"),
])
def test_an_out_that_cannot_be_written_is_refused_before_training(tmp_path, linear, out,
                                                                   fragment):
    (tmp_path / "a-folder").mkdir()
    target = tmp_path / out
    code, stdout, err = _main("train", "--network", linear, "--out", target)
    assert code == 2 and "Epoch" not in stdout and "Traceback" not in err
    assert f"cnnviz train: error: cannot save to {target}: {fragment}" in err
    assert ".tmp" not in err


def test_an_out_that_is_a_link_is_written_through(tmp_path, linear):
    real = tmp_path / "projects" / "real.cnnviz"
    real.parent.mkdir()
    link = tmp_path / "link.cnnviz"
    link.symlink_to(real)
    code, _, err = _main("train", "--network", linear, "--epochs", 1, "--batch-size", 256,
                         "--out", link)
    assert code == 0, err
    assert link.is_symlink() and load_project(real).history.steps == 35


def test_progress_in_a_log_is_whole_lines(linear):
    code, out, err = _main("train", "--network", linear, "--epochs", 2, "--batch-size", 256)
    assert code == 0, err
    assert "\r" not in out + err and "\x1b" not in out + err
    assert [line.split("  ")[0] for line in out.splitlines() if line.startswith("Epoch")] == [
        "Epoch 1/2", "Epoch 2/2"]


def test_on_a_terminal_progress_is_rewritten_in_place():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    status = StatusLine(stream)
    status.show("compiling...")
    status.show("Epoch 1/2  3/35")
    status.line("Epoch 1/2  35/35 - loss: 0.5")
    assert stream.getvalue() == ("\rcompiling...\x1b[K\rEpoch 1/2  3/35\x1b[K"
                                 "\rEpoch 1/2  35/35 - loss: 0.5\x1b[K\n")


def test_json_has_no_bare_nan():
    event = json_safe({"event": "done", "test_loss": float("nan"), "test_accuracy": 0.5,
                       "steps": 3, "top": float("inf")})
    assert event == {"event": "done", "test_loss": None, "test_accuracy": 0.5, "steps": 3,
                     "top": None, "not_finite": {"test_loss": "nan", "top": "inf"}}
    json.dumps(event, allow_nan=False)


def test_evaluating_weights_too_large_to_compute_with_explains(tmp_path, good):
    project = load_project(good)
    huge = [{k: np.full_like(v, 3e38) for k, v in layer.items()} for layer in project.weights]
    path = tmp_path / "huge.cnnviz"
    save_project(path, Project(project.spec, project.config, "shapes", huge))
    code, out, err = _main("evaluate", path, "--json")
    assert code == 0, err
    (result,) = [json.loads(line) for line in out.splitlines()]
    assert result["test_loss"] is None and result["not_finite"] == {"test_loss": "nan"}
    assert "3e+38" in result["message"] and "too large to compute" in result["message"]


@pytest.mark.parametrize(("args", "message"), [
    (["--seed", 99999999999999999999999], "seed must be at most 2,147,483,647"),
    (["--batch-size", 10**12], "batch size must be at most 65,536"),
])
def test_huge_numbers_are_refused_with_a_message(linear, args, message):
    code, _, err = _main("train", "--network", linear, *args)
    assert code == 2 and message in err and "Traceback" not in err


@pytest.mark.parametrize(("name", "fragment"), [
    ("fifo.cnnviz", "is a pipe (FIFO), not a file"), ("fifo.json", "is a pipe (FIFO)"),
    ("/dev/zero", "is a device, not a file")])
def test_summary_of_a_fifo_or_a_device_answers_at_once(tmp_path, name, fragment):
    path = name if name.startswith("/") else tmp_path / name
    if not name.startswith("/"):
        os.mkfifo(path)
    result = []
    thread = threading.Thread(target=lambda: result.append(_main("summary", path)),
                              daemon=True)
    thread.start()
    thread.join(20)
    assert result, "summary hangs"
    code, _, err = result[0]
    assert code == 2 and fragment in err and "Traceback" not in err
