"""Runs (core.runs): final figures, differences, names, reading back what was written and
refusing what was not, and the runs member of a project file."""

import contextlib
import json
import math
import random
import zipfile

import numpy as np
import pytest
from reference import random_weights
from safetensors.numpy import save as save_safetensors

from cnnviz.core.config import TrainConfig
from cnnviz.core.history import History
from cnnviz.core.layers import Conv2D, Dense, Dropout, Flatten
from cnnviz.core.network import NetworkSpec
from cnnviz.core.runs import (
    COMPRESSED,
    FINE_TUNED,
    METRICS,
    Run,
    RunError,
    about,
    data_text,
    differences,
    format_metric,
    next_number,
    renamed,
    runs_from_list,
    runs_table,
    runs_to_list,
    settings_text,
)
from cnnviz.io.project import (
    RUN_WEIGHTS,
    RUNS,
    Project,
    ProjectFileError,
    load_project,
    project_bytes,
    save_project,
)
from cnnviz.io.weights import flat_names

SMALL = NetworkSpec((8, 8, 1), (Conv2D(2, 3), Flatten(), Dense(3, "none")))
OTHER = NetworkSpec((8, 8, 1), (Conv2D(4, 3), Flatten(), Dense(3, "none")))


def _history(val_accuracy=0.5, loss=1.25):
    h = History()
    h.add_steps(np.array([2.0, 1.5, loss], np.float32), np.array([0.25, 0.5, 0.75], np.float32))
    h.epochs.append({"loss": 1.8, "accuracy": 0.3, "val_loss": 1.9, "val_accuracy": 0.2,
                     "seconds": 0.5})
    h.epochs.append({"loss": loss, "accuracy": 0.75, "val_loss": 1.4,
                     "val_accuracy": val_accuracy, "seconds": 0.7})
    return h


def _run(number=1, spec=SMALL, weights=False, **changes):
    fields = {"name": f"Run {number}", "spec": spec,
              "config": TrainConfig("sgd-momentum", 0.05, 16, 3, 11, 0.2, ("flip",)),
              "dataset": "digits", "history": _history(), "test_loss": 1.5,
              "test_accuracy": 0.625,
              "weights": random_weights(spec, seed=number) if weights else None}
    fields.update(changes)
    return Run(number, **fields)


# -- figures ------------------------------------------------------------------------------


def test_final_figures_are_the_last_epochs_and_the_test_splits():
    final = _run().final()
    assert list(final) == list(METRICS)
    assert final == {"loss": 1.25, "accuracy": 0.75, "val_loss": 1.4, "val_accuracy": 0.5,
                     "test_loss": 1.5, "test_accuracy": 0.625}


def test_a_run_without_an_epoch_or_a_test_has_no_figures():
    run = _run(history=History([1.0], [0.5]), test_loss=None, test_accuracy=None)
    assert set(run.final().values()) == {None}


def test_differences_subtract_the_reference_figure_by_figure():
    a = _run(1)
    b = _run(2, history=_history(val_accuracy=0.875, loss=0.5), test_accuracy=0.75,
             test_loss=None)
    diff = differences(a, b)
    fa, fb = a.final(), b.final()
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "test_accuracy"):
        assert diff[key] == pytest.approx(fb[key] - fa[key])
    assert diff["val_accuracy"] == pytest.approx(0.375)
    assert diff["test_loss"] is None  # b has none: no difference to show
    assert set(differences(a, a).values()) == {0.0}


def test_a_compressed_run_shows_its_measured_figures_and_not_its_sources_training():
    """Compressed without training after: its history is its source's, so it has no
    training figures; validation and test are those measured after compression."""
    source = _run(1)
    plain = _run(2, kind=COMPRESSED, source="Run 1 (digits)", own_history=False,
                 val_loss=2.5, val_accuracy=0.375, test_loss=2.0, test_accuracy=0.25)
    assert plain.final() == {"loss": None, "accuracy": None, "val_loss": 2.5,
                             "val_accuracy": 0.375, "test_loss": 2.0, "test_accuracy": 0.25}
    assert plain.training() == History() and source.training() is source.history
    assert differences(source, plain)["val_accuracy"] == pytest.approx(0.375 - 0.5)
    assert differences(source, plain)["loss"] is None
    # fine-tuned after compression: its training is its own, its validation the measured
    tuned = _run(3, kind=COMPRESSED, val_loss=1.0, val_accuracy=0.625)
    assert tuned.final()["loss"] == 1.25 and tuned.final()["val_accuracy"] == 0.625
    # without validation images nothing stands in for them, not the source's either
    assert _run(4, own_history=False).final()["val_accuracy"] is None
    table = runs_table([source, plain]).splitlines()
    assert table[2].split()[:5] == ["2", "Run", "2", "digits", "0"]  # epochs of its own
    assert "—" in table[2] and "37.5 %" in table[2]
    assert table[-1].startswith("2  compressed from Run 1 (digits); sgd-momentum")


def test_formats():
    assert format_metric("val_accuracy", 0.8766) == "87.7 %"
    assert format_metric("val_accuracy", 0.12, signed=True) == "+12.0"
    assert format_metric("loss", 0.123456) == "0.1235"
    assert format_metric("loss", -0.5, signed=True) == "-0.5"
    assert format_metric("test_loss", None) == "—"
    assert data_text(_run()) == "digits"
    assert data_text(_run(per_class=10)) == "digits, 10 per class"
    text = settings_text(TrainConfig("adam", 0.003, 32, 6, 2, 0.1, ("shift", "rotate")))
    assert text == "adam, lr 0.003, batch 32, 6 epochs, seed 2, augment shift+rotate"
    text = settings_text(TrainConfig(weight_decay=0.01, early_stopping=True, patience=4,
                                     schedule="cosine"))
    assert text.endswith(", weight decay 0.01, early stopping (patience 4), cosine schedule")
    dropout = NetworkSpec((8, 8, 1), (Conv2D(2, 3, trainable=False), Flatten(), Dropout(0.25),
                                      Dense(3, "none")))
    assert about(_run(spec=dropout, kind=FINE_TUNED, source="Run 1 (shapes)")).startswith(
        "fine-tuned from Run 1 (shapes); frozen: conv1; dropout 0.25; sgd-momentum, lr 0.05")
    assert about(_run()).startswith("from scratch; sgd-momentum")


def test_names_and_numbers():
    runs = [_run(1), _run(4), _run(2)]
    assert next_number(runs) == 5 and next_number([]) == 1
    assert renamed(runs[0], "  scratch, 10 per class ").name == "scratch, 10 per class"
    for bad in ("", "   ", "x" * 201):
        with pytest.raises(RunError, match="name"):
            renamed(runs[0], bad)


# -- reading back --------------------------------------------------------------------------


def test_json_round_trip_keeps_everything_but_the_weights():
    runs = [_run(1), _run(3, spec=OTHER, kind=FINE_TUNED, source="Run 1 (shapes)",
                          per_class=10, weights=True, steps_per_epoch=7),
            _run(7, kind=COMPRESSED, test_loss=None, test_accuracy=None, val_loss=0.75,
                 val_accuracy=0.875, own_history=False)]
    text = json.dumps(runs_to_list(runs), allow_nan=False)
    back = runs_from_list(json.loads(text))
    assert back == runs  # weights are not compared
    assert [r.weights for r in back] == [None, None, None]
    assert json.loads(text)[1]["has_weights"] is True
    assert back[2].final()["val_accuracy"] == 0.875 and back[2].own_history is False


def test_a_run_written_before_compressed_figures_reads_as_before():
    item = _run(1).to_dict()
    for key in ("val_loss", "val_accuracy", "own_history"):
        del item[key]
    [back] = runs_from_list([item])
    assert back == _run(1) and back.own_history and back.final() == _run(1).final()


def test_a_diverged_test_loss_is_written_as_none():
    run = _run(test_loss=math.inf)
    assert run.to_dict()["test_loss"] is None
    assert run.final()["test_loss"] is None


@pytest.mark.parametrize(("change", "fragment"), [
    ({"number": 0}, "number must be a whole number"),
    ({"number": "1"}, "number must be a whole number"),
    ({"name": ""}, "name must be text"),
    ({"name": 5}, "name must be text"),
    ({"dataset": None}, "dataset must be text"),
    ({"kind": "magic"}, "kind must be one of"),
    ({"per_class": 0}, "images per class"),
    ({"per_class": True}, "images per class"),
    ({"test_loss": "low"}, "test_loss must be a number"),
    ({"test_accuracy": True}, "test_accuracy must be a number"),
    ({"network": {"schema_version": 1, "input_shape": [8, 8, 1],
                  "layers": [{"type": "conv3d"}]}}, "unknown layer type"),
    ({"network": None}, "a network must be a JSON object"),
    ({"config": {"optimizer": "lbfgs"}}, "optimizer must be one of"),
    ({"history": {"step_loss": [1.0], "step_accuracy": []}}, "differ in length"),
    ({"has_weights": "yes"}, "has_weights must be true or false"),
    ({"own_history": None}, "own_history must be true or false"),
    ({"val_loss": "low"}, "val_loss must be a number"),
    ({"val_accuracy": math.inf}, "val_accuracy must be a number"),
    ({"steps_per_epoch": 0}, "steps_per_epoch must be a whole number"),
])
def test_a_damaged_run_is_refused_with_its_reason(change, fragment):
    item = {**_run(2).to_dict(), **change}
    with pytest.raises(RunError, match=fragment):
        runs_from_list([item])


def test_the_list_itself_is_checked():
    with pytest.raises(RunError, match="must be a JSON list"):
        runs_from_list({"runs": []})
    with pytest.raises(RunError, match="same number"):
        runs_from_list([_run(2).to_dict(), _run(2).to_dict()])
    with pytest.raises(RunError, match="a run must be a JSON object"):
        runs_from_list([3])


def test_random_mutations_of_a_run_are_read_or_refused_with_a_run_error():
    """A seeded mutator over the fields of a valid run: never any other exception."""
    rng = random.Random(0)
    values = [None, True, -1, 0, 1, 2**40, 1.5, math.nan, "", "x", "adam", [], [1], {}, {"a": 1}]
    base = _run(1, kind=COMPRESSED, per_class=3, val_loss=0.5, val_accuracy=0.75,
                own_history=False).to_dict()
    for _ in range(400):
        item = json.loads(json.dumps(base))
        for _ in range(rng.randint(1, 3)):
            target = item
            path = [rng.choice(list(item))]
            while isinstance(target[path[-1]], dict) and target[path[-1]] and rng.random() < 0.6:
                target = target[path[-1]]
                path.append(rng.choice(list(target)))
            if rng.random() < 0.2:
                del target[path[-1]]
            else:
                target[path[-1]] = rng.choice(values)
        with contextlib.suppress(RunError):
            runs_from_list([item])


# -- the project file ----------------------------------------------------------------------


def _project(runs, per_class=None):
    return Project(SMALL, TrainConfig(), "digits", random_weights(SMALL), _history(),
                   runs=runs, per_class=per_class)


def test_a_project_keeps_its_runs_and_their_weights_bit_for_bit(tmp_path):
    runs = [_run(1, weights=True), _run(2), _run(5, spec=OTHER, weights=True, per_class=10)]
    path = tmp_path / "runs.cnnviz"
    save_project(path, _project(runs, per_class=50))
    back = load_project(path)
    assert back.runs == runs and back.per_class == 50
    for a, b in zip(runs, back.runs, strict=True):
        if a.weights is None:
            assert b.weights is None
            continue
        for wa, wb in zip(a.weights, b.weights, strict=True):
            for key in wa:
                np.testing.assert_array_equal(wa[key], wb[key])


def test_an_older_file_without_runs_opens_with_none(tmp_path):
    path = tmp_path / "old.cnnviz"
    save_project(path, _project([]))
    with zipfile.ZipFile(path) as zf:
        assert RUNS not in zf.namelist() and RUN_WEIGHTS not in zf.namelist()
        training = json.loads(zf.read("training.json"))
    assert "per_class" not in training  # as older versions wrote it
    back = load_project(path)
    assert back.runs == [] and back.per_class is None


def _members(project) -> dict[str, bytes]:
    with zipfile.ZipFile(__import__("io").BytesIO(project_bytes(project))) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def _rezip(path, members):
    import hashlib

    manifest = json.loads(members.pop("manifest.json"))
    manifest["sha256"] = {n: hashlib.sha256(d).hexdigest() for n, d in members.items()}
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("manifest.json", json.dumps(manifest))
        for name, data in members.items():
            zf.writestr(name, data)


def _weights_of(run_number, spec, seed=0):
    flat = flat_names(spec, random_weights(spec, seed))
    return {f"run{run_number}/{k}": v for k, v in flat.items()}


@pytest.mark.parametrize(("edit", "fragment"), [
    (lambda m: m.update({RUNS: b"{not json"}), "runs.json: not valid JSON"),
    (lambda m: m.update({RUNS: b'[{"number": 1}]'}), "runs.json: run 1: name must be text"),
    (lambda m: m.pop(RUN_WEIGHTS), "runs-weights.safetensors is missing"),
    (lambda m: m.update({RUN_WEIGHTS: b"garbage"}), "runs-weights.safetensors"),
    (lambda m: m.update({RUN_WEIGHTS: save_safetensors(_weights_of(1, OTHER))}),
     "run 1: conv1/kernel has shape 3x3x1x4 but the network needs 3x3x1x2"),
    (lambda m: m.update({RUN_WEIGHTS: save_safetensors({**_weights_of(1, SMALL),
                                                        **_weights_of(2, SMALL)})}),
     "weights of no run: run2/conv1/bias"),
    (lambda m: m.update({"training.json": b'{"dataset": "digits", "config": {}, '
                                          b'"per_class": -3}'}), "images per class"),
], ids=["runs not json", "run without name", "weights missing", "weights garbage",
        "weights of another network", "weights of a run without", "bad per_class"])
def test_a_damaged_runs_member_refuses_the_whole_file(tmp_path, edit, fragment):
    members = _members(_project([_run(1, weights=True), _run(2)]))
    edit(members)
    path = tmp_path / "bad.cnnviz"
    _rezip(path, members)
    with pytest.raises(ProjectFileError) as info:
        load_project(path)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_weights_without_any_run_that_kept_them_are_refused(tmp_path):
    members = _members(_project([_run(1)]))
    members[RUN_WEIGHTS] = save_safetensors(_weights_of(1, SMALL))
    path = tmp_path / "bad.cnnviz"
    _rezip(path, members)
    with pytest.raises(ProjectFileError, match="no run says it kept them"):
        load_project(path)


def test_the_runs_member_is_read_within_its_limit(tmp_path, monkeypatch):
    from cnnviz.io import project

    path = tmp_path / "runs.cnnviz"
    save_project(path, _project([_run(1), _run(2)]))
    monkeypatch.setattr(project, "RUNS_LIMIT", 100)
    with pytest.raises(ProjectFileError, match="runs.json"):
        load_project(path)
