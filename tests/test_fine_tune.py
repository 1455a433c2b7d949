"""Fine-tuning (core.fine_tune): the plan for new data (a new head when the classes
differ, the first layers frozen, the suggested rate), refusals that say what fits, the
engine leaving the frozen layers as they were; and the outlines, the data it is shown on."""

import numpy as np
import pytest
from reference import random_weights

from cnnviz.core.fine_tune import (
    FineTuneError,
    InputMismatch,
    fresh_dense,
    needs_new_head,
    plan_fine_tune,
    suggested_learning_rate,
)
from cnnviz.core.layers import Conv2D, Dense, Flatten, GlobalAvgPool, MaxPool2D, is_frozen
from cnnviz.core.network import NetworkSpec
from cnnviz.data.registry import load_dataset
from cnnviz.data.shapes import OUTLINE_CLASSES, draw_shapes

NET = NetworkSpec((12, 12, 1), (Conv2D(4, 3), MaxPool2D(2), Flatten(), Dense(8), Dense(5, "none")))
GAP = NetworkSpec((12, 12, 1), (Conv2D(4, 3), GlobalAvgPool(), Dense(3, "none")))


def _same(a, b):
    return all(a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
               for a, b in zip(a, b, strict=True))


def test_same_classes_keep_every_weight_and_freeze_all_but_the_head():
    weights = random_weights(NET, seed=1)
    plan = plan_fine_tune(NET, weights, (12, 12, 1), 5)
    assert not plan.new_head and plan.head == "dense2"
    assert plan.weighted == ("conv1", "dense1", "dense2") and plan.frozen == 2
    assert plan.frozen_names == ("conv1", "dense1") and not plan.trains_base
    assert [is_frozen(layer) for layer in plan.spec.layers] == [True, False, False, True,
                                                                 False]
    assert _same(plan.weights, weights)


def test_other_classes_get_a_fresh_head_and_keep_the_rest():
    weights = random_weights(NET, seed=1)
    plan = plan_fine_tune(NET, weights, (12, 12, 1), 10, seed=7)
    assert plan.new_head and plan.spec.layers[-1].units == 10
    head = plan.weights[-1]
    limit = np.sqrt(6 / (8 + 10))  # Glorot-uniform, as Keras starts a Dense layer
    assert head["kernel"].shape == (8, 10) and head["kernel"].dtype == np.float32
    assert np.abs(head["kernel"]).max() <= limit and head["kernel"].std() > limit / 3
    assert not head["bias"].any()
    assert _same(plan.weights[:-1], weights[:-1])
    again = plan_fine_tune(NET, weights, (12, 12, 1), 10, seed=7)
    assert np.array_equal(again.weights[-1]["kernel"], head["kernel"])  # seeded
    assert not np.array_equal(fresh_dense(8, 10, 8)["kernel"], head["kernel"])


def test_as_many_classes_named_otherwise_ask_for_a_new_head():
    assert needs_new_head(("circle", "square"), ("ring", "square outline"))
    assert not needs_new_head(tuple("0123456789"), tuple("0123456789"))
    assert not needs_new_head(None, ("a", "b"))  # unknown: the units decide
    plan = plan_fine_tune(NET, random_weights(NET), (12, 12, 1), 5, new_head=True)
    assert plan.new_head and plan.weights[-1]["bias"].shape == (5,)


def test_frozen_counts_from_the_input_and_freezing_everything_is_refused():
    weights = random_weights(NET)
    assert plan_fine_tune(NET, weights, (12, 12, 1), 5, frozen=0).frozen_names == ()
    assert plan_fine_tune(NET, weights, (12, 12, 1), 5, frozen=1).trains_base
    for bad in (3, 4, -1):
        with pytest.raises(FineTuneError, match="leaves nothing to train") as info:
            plan_fine_tune(NET, weights, (12, 12, 1), 5, frozen=bad)
        assert "\n" not in str(info.value) and not isinstance(info.value, InputMismatch)


def test_suggested_rate_is_lower_when_trained_layers_train_again():
    weights = random_weights(NET)
    head_only = plan_fine_tune(NET, weights, (12, 12, 1), 5)
    assert suggested_learning_rate(3e-3, head_only) == 3e-3
    base = plan_fine_tune(NET, weights, (12, 12, 1), 5, frozen=1)
    assert suggested_learning_rate(3e-3, base) == pytest.approx(3e-4)


@pytest.mark.parametrize(("shape", "fragment"), [
    ((16, 16, 1), "dense1 was trained on 12x12x1 images and its kernel has shape 100x8; on "
                  "16x16x1 images it needs 196x8"),
    ((12, 12, 3), "conv1 was trained on 12x12x1 images and its kernel has shape 3x3x1x4; on "
                  "12x12x3 images it needs 3x3x3x4"),
    ((2, 2, 1), "does not take 2x2x1 images: conv1: kernel 3 > input"),
])
def test_images_the_trained_layers_do_not_fit_are_refused_saying_why(shape, fragment):
    with pytest.raises(InputMismatch) as info:
        plan_fine_tune(NET, random_weights(NET), shape, 5)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_a_network_that_pools_globally_takes_other_image_sizes():
    plan = plan_fine_tune(GAP, random_weights(GAP), (20, 20, 1), 3)
    assert plan.spec.input_shape == (20, 20, 1) and not plan.new_head


def test_a_network_without_a_dense_layer_has_no_head_to_replace():
    spec = NetworkSpec((8, 8, 1), (Conv2D(2, 3), Flatten()))
    with pytest.raises(FineTuneError, match="no Dense layer"):
        plan_fine_tune(spec, random_weights(spec), (8, 8, 1), 2)


def test_training_the_plan_leaves_the_frozen_layers_as_they_were():
    from cnnviz.core.config import TrainConfig
    from cnnviz.data.dataset import Dataset
    from cnnviz.engine.trainer import Trainer

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (64, 12, 12, 1), dtype=np.uint8)
    y = rng.integers(0, 3, 64).astype(np.int32)
    data = Dataset("toy", ("a", "b", "c"), x, y, x[:8], y[:8], x[:8], y[:8])
    weights = random_weights(NET, seed=3)
    plan = plan_fine_tune(NET, weights, data.input_shape, data.num_classes)
    trainer = Trainer(plan.spec, data, TrainConfig(epochs=1, batch_size=16), params=plan.weights)
    for _ in trainer.run():
        pass
    after = trainer.numpy_params()
    assert _same(after[:4], weights[:4])  # conv1 and dense1: bit for bit
    assert not np.array_equal(after[4]["kernel"], plan.weights[4]["kernel"])  # the head learnt


def test_outlines_are_the_shapes_edges_only():
    labels = np.arange(5, dtype=np.int32).repeat(4)
    filled = draw_shapes(labels, np.random.default_rng(5)).astype(int)
    outline = draw_shapes(labels, np.random.default_rng(5), outline=True).astype(int)
    assert np.all(outline <= filled)  # the same figures and noise, less of each figure
    bright = (filled > 128).sum(axis=(1, 2, 3)), (outline > 128).sum(axis=(1, 2, 3))
    assert np.all(bright[1] <= bright[0])
    assert np.all(bright[1][:12] < 0.6 * bright[0][:12])  # circles, squares, triangles: hollow
    data = load_dataset("outlines", seed=0)
    assert data.class_names == OUTLINE_CLASSES and data.input_shape == (28, 28, 1)
    assert len(data.x_test) == 1000 and np.array_equal(
        data.x_test, load_dataset("outlines", seed=1).x_test)  # the test split is fixed


def test_every_example_is_a_valid_chain_of_runs():
    from dataclasses import replace

    from cnnviz.core.config import TrainConfig
    from cnnviz.core.examples import EXAMPLES
    from cnnviz.data.registry import DATASETS

    for example in EXAMPLES.values():
        for i, run in enumerate(example.runs):
            info = DATASETS[run.dataset].info
            assert info.builtin  # offline, out of the box
            replace(TrainConfig(), **run.config)  # settings TrainConfig takes
            if run.fine_tune is None:
                spec = NetworkSpec(info.input_shape, run.layers).adapted(info.input_shape,
                                                                         info.num_classes)
                spec.check(info.num_classes)
            else:
                assert 0 <= run.fine_tune < i
        assert all(0 <= i < len(example.runs) for i in example.shown)
