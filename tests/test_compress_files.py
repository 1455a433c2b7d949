"""A compressed model in its project: the record of what was done and the masks, saved,
read back, and refused in one line when damaged."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import random_weights

from cnnviz.core.compression import CompressionError, apply_masks, magnitude_masks
from cnnviz.core.compression_record import (
    CompressionRecord,
    PruneStep,
    QuantizeStep,
    describe,
    step_from_dict,
    step_to_dict,
)
from cnnviz.core.config import TrainConfig
from cnnviz.core.history import History
from cnnviz.core.layers import Conv2D, Dense, Flatten
from cnnviz.core.network import NetworkSpec
from cnnviz.core.runs import COMPRESSED, TRAINED, Run, differences, with_current
from cnnviz.engine.compress_pipeline import Compressed
from cnnviz.io.compression import (
    MASKS,
    RECORD,
    REPLAY,
    CompressionFileError,
    compressed_project,
    compressed_record,
    load_masks,
    load_record,
    masks_bytes,
    record_bytes,
)
from cnnviz.io.project import Project, load_project, save_project

SPEC = NetworkSpec((8, 8, 1), (Conv2D(3, 3), Flatten(), Dense(4, "none")))
FIGURES = dict(accuracy_before=0.9, accuracy_after=0.85, bytes_before=1000, bytes_after=300,
               macs_before=500, macs_after=500)
PRUNE = PruneStep(**FIGURES, sparsity=0.8, scope="global", structured=False, layers=[],
                  fine_tune_epochs=2, rounds=2, layer_sparsity={"conv1": 0.8},
                  accuracy_pruned=0.6)
QUANT = QuantizeStep(**FIGURES, scheme="int8-per-channel", calibration="percentile",
                     calibration_images=128, percentile=99.9, keep_float=["dense1"],
                     qat_epochs=1, weight_scales={"conv1": [0.01, 0.02, 0.03]},
                     activations={"conv1": [0.004, -128]})


def test_a_record_reads_back_as_written_and_describes_itself():
    record = CompressionRecord().then(PRUNE).then(QUANT)
    assert load_record(record_bytes(record)) == record
    assert "80.0 %" in describe(PRUNE) and "single weights" in describe(PRUNE)
    assert "90.0 % -> 85.0 %" in describe(PRUNE)
    assert "2 epoch(s) in 2 round(s) (accuracy right after pruning: 60.0 %)" in describe(PRUNE)
    assert "int8-per-channel" in describe(QUANT) and "dense1" in describe(QUANT)


@pytest.mark.parametrize("change", [
    {"sparsity": 1.5}, {"scope": "everywhere"}, {"rounds": 0}, {"layers": "conv1"},
    {"accuracy_after": float("nan")}, {"kind": "shrink"}, {"bytes_before": -1},
])
def test_a_step_with_a_bad_field_is_refused_in_one_line(change):
    data = {**step_to_dict(PRUNE), **change}
    with pytest.raises(CompressionError) as err:
        step_from_dict(data)
    assert "\n" not in str(err.value)
    data = step_to_dict(QUANT)
    data["activations"] = {"conv1": [0.1, 300]}
    with pytest.raises(CompressionError, match="activations"):
        step_from_dict(data)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4), max_leaves=20)


@settings(max_examples=200, deadline=None)
@given(json_values, st.sampled_from(sorted(step_to_dict(PRUNE)) + ["steps", "version"]))
def test_any_json_reads_as_a_record_or_a_clear_error(value, key):
    good = CompressionRecord((PRUNE, QUANT)).to_dict()
    for data in (value, {**good, key: value},
                 {**good, "steps": [{**step_to_dict(PRUNE), key: value}]}):
        try:
            load_record(json.dumps(data).encode())
        except CompressionFileError as exc:
            assert "\n" not in str(exc)


def test_masks_read_back_and_damage_is_a_clear_error():
    weights = random_weights(SPEC)
    masks = magnitude_masks(SPEC, weights, 0.5)
    data = masks_bytes(SPEC, masks)
    back = load_masks(SPEC, data)
    assert all(np.array_equal(a["kernel"], b["kernel"]) for a, b in zip(masks, back,
                                                                           strict=True) if a)
    other = NetworkSpec((8, 8, 1), (Conv2D(2, 3), Flatten(), Dense(4, "none")))
    with pytest.raises(CompressionFileError, match="conv1"):
        load_masks(other, data)
    rng = np.random.default_rng(0)
    for _ in range(300):  # a seeded mutator: flipped bytes, cuts, insertions
        damaged = bytearray(data)
        for _ in range(rng.integers(1, 4)):
            if not damaged:
                break
            at = int(rng.integers(0, len(damaged)))
            match rng.integers(0, 3):
                case 0:
                    damaged[at] = int(rng.integers(0, 256))
                case 1:
                    del damaged[at:]
                case _:
                    damaged[at:at] = bytes(rng.integers(0, 256, 4, np.uint8))
        try:
            load_masks(SPEC, bytes(damaged))
        except CompressionFileError as exc:
            assert "\n" not in str(exc)


def test_a_compressed_project_saves_its_weights_record_and_masks(tmp_path):
    weights = random_weights(SPEC)
    masks = magnitude_masks(SPEC, weights, 0.8)
    original = Project(SPEC, TrainConfig(epochs=3), "shapes", weights, History(),
                       {REPLAY: b"frames", "notes": b"kept"})
    pruned = apply_masks(weights, masks)
    tuned = TrainConfig(epochs=2, learning_rate=1e-4)
    project = compressed_project(original, Compressed(SPEC, pruned, masks, PRUNE, History(),
                                                      tuned))
    save_project(tmp_path / "p.cnnviz", project)
    back = load_project(tmp_path / "p.cnnviz")
    assert compressed_record(back).steps == (PRUNE,)
    assert back.config == tuned and back.extras["notes"] == b"kept"
    assert back.extras[REPLAY] == b"frames"  # same network: its replay still belongs to it
    np.testing.assert_array_equal(back.weights[0]["kernel"], pruned[0]["kernel"])
    assert np.array_equal(load_masks(SPEC, back.extras[MASKS])[0]["kernel"], masks[0]["kernel"])
    smaller = NetworkSpec((8, 8, 1), (Conv2D(2, 3), Flatten(), Dense(4, "none")))
    structured = compressed_project(original, Compressed(smaller, random_weights(smaller),
                                                         None, PRUNE))
    assert REPLAY not in structured.extras and MASKS not in structured.extras
    assert structured.config == original.config
    assert RECORD in structured.extras and compressed_record(original) == CompressionRecord()


def _trained_history(val_accuracy: float) -> History:
    history = History()
    history.add_steps(np.array([1.5, 1.0], np.float32), np.array([0.25, 0.5], np.float32))
    history.epochs.append({"loss": 1.0, "accuracy": 0.5, "val_loss": 1.25,
                           "val_accuracy": val_accuracy, "seconds": 0.5})
    return history


AFTER = {"val_loss": 1.75, "val_accuracy": 0.85, "test_loss": 1.5, "test_accuracy": 0.8}


def test_the_compressed_model_is_a_run_after_its_source(tmp_path):
    """The project's training recorded as its run 1 (a file older than runs), the model
    compressed from it run 2, the current one when the file is opened again."""
    weights = random_weights(SPEC)
    history = _trained_history(PRUNE.accuracy_before)
    original = Project(SPEC, TrainConfig(epochs=1), "shapes", weights, history, per_class=20)
    quantized = [{k: v * 0.5 for k, v in w.items()} for w in weights]
    plain = replace(QUANT, qat_epochs=0, calibration=None)
    project = compressed_project(original, Compressed(SPEC, quantized, None, plain,
                                                      figures=AFTER))
    source, run = project.runs
    assert (source.number, source.kind, source.history) == (1, TRAINED, history)
    assert run.number == 2 and run.kind == COMPRESSED and run.source == "Run 1 (shapes)"
    assert run.name == "Run 2: quantized to int8-per-channel"
    assert (run.spec, run.config, run.dataset, run.per_class) == (
        SPEC, original.config, "shapes", 20)
    assert run.history == history and not run.own_history  # its source's curves
    assert run.final() == {"loss": None, "accuracy": None, **AFTER}
    assert run.weights is quantized
    path = tmp_path / "int8.cnnviz"
    save_project(path, project)
    back = load_project(path)
    assert back.runs == project.runs
    np.testing.assert_array_equal(back.runs[1].weights[0]["kernel"], quantized[0]["kernel"])
    runs, current = with_current(back.runs, back.spec, back.config, back.dataset,
                                 back.history, back.per_class, back.weights)
    assert runs == back.runs and current == 2


def test_a_model_fine_tuned_after_compression_is_a_run_of_its_own_training():
    source = Run(4, "mine", SPEC, TrainConfig(epochs=1), "shapes", _trained_history(0.9),
                 steps_per_epoch=2)
    original = Project(SPEC, source.config, "shapes", random_weights(SPEC), source.history,
                       runs=[source])
    tuning, tuned_config = _trained_history(0.8), TrainConfig(epochs=2, learning_rate=1e-4)
    project = compressed_project(original, Compressed(SPEC, random_weights(SPEC, 1), None,
                                                      PRUNE, tuning, tuned_config,
                                                      figures=AFTER))
    assert [r.number for r in project.runs] == [4, 5]
    run = project.runs[1]
    assert run.name == "Run 5: pruned 80.0 %, fine-tuned" and run.source == "mine (shapes)"
    assert run.own_history and run.history == tuning and run.config == tuned_config
    assert run.final()["loss"] == 1.0 and run.final()["val_accuracy"] == 0.85
    assert differences(source, run)["val_accuracy"] == pytest.approx(0.85 - 0.9)
    assert with_current(project.runs, project.spec, project.config, project.dataset,
                        project.history)[1] == 5


def test_weights_no_run_recorded_are_named_by_the_caller():
    original = Project(SPEC, TrainConfig(), "shapes", random_weights(SPEC))  # no history
    structured = replace(PRUNE, structured=True, fine_tune_epochs=0)
    project = compressed_project(original, Compressed(SPEC, original.weights, None, structured,
                                                      figures=AFTER), name="in.cnnviz")
    [run] = project.runs
    assert run.number == 1 and run.source == "in.cnnviz (shapes)"
    assert run.name == "Run 1: pruned 80.0 % of filters" and run.history == History()
    # no history to match it by, but it holds the project's weights: the current run
    assert with_current(project.runs, SPEC, project.config, "shapes", History(),
                        weights=project.weights)[1] == 1
    assert with_current(project.runs, SPEC, project.config, "shapes", History()) == (
        project.runs, None)  # a new run from its settings, untrained: not that run
    assert compressed_project(original, Compressed(SPEC, original.weights, None, PRUNE)
                              ).runs[-1].source == "trained weights (shapes)"
