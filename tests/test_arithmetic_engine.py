"""Every number the step-through shows (core.arithmetic, read from an Inspection) equals
the engine's own forward pass at that position: for every layer type, stride 2, 'same'
padding, multi-channel inputs, every preset and random networks, at random positions."""

import cnnviz.engine  # noqa: F401, I001  (first: sets XLA's flags before JAX starts)

from functools import partial

import jax
import numpy as np
import pytest
import reference

from cnnviz.core import arithmetic as ar
from cnnviz.core.layers import (
    AvgPool2D,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    GlobalAvgPool,
    MaxPool2D,
)
from cnnviz.core.network import NetworkSpec
from cnnviz.core.presets import PRESETS
from cnnviz.engine.inspect import Inspector
from cnnviz.engine.model import apply_with_activations, init_params, to_float

RTOL = 1e-5


def assert_matches(shown: float, engine: float, scale: float) -> None:
    """shown == engine to RTOL relative. The engine sums in float32, whose rounding error
    is relative to the sum of the terms' sizes (`scale`), not to the sum: a sum that
    cancels to near 0 is compared on the scale of its terms."""
    assert abs(shown - engine) <= RTOL * max(abs(engine), scale), (shown, engine, scale)


def scale_of(close_up) -> float:
    if isinstance(close_up, ar.ConvOutput):
        return float(np.abs(close_up.products).sum() + abs(close_up.bias))
    if isinstance(close_up, ar.DenseUnit):
        return float(np.abs(close_up.contributions.terms).sum() + abs(close_up.bias))
    if isinstance(close_up, ar.PoolWindow):
        return float(np.abs(close_up.values).max())
    return abs(close_up.value)


def random_positions(shape, rng, count=6):
    return [tuple(int(rng.integers(0, s)) for s in shape) for _ in range(count)]


def check_every_layer(spec: NetworkSpec, seed: int, positions: int = 6) -> None:
    """Random weights (biases too) and a random image; every layer at random outputs."""
    rng = np.random.default_rng(seed)
    params = init_params(spec, jax.random.PRNGKey(seed))
    params = [{k: v + (0.1 * rng.standard_normal(v.shape)).astype(np.float32) for k, v in p.items()}
              for p in params]  # non-zero biases
    image = rng.integers(0, 256, spec.input_shape, dtype=np.uint8)
    inspection = Inspector(spec).inspect(params, image[None], np.array([0]))
    _, engine = jax.jit(partial(apply_with_activations, spec))(params, to_float(image[None]))
    for index, layer in enumerate(spec.layers):
        out = np.asarray(engine[index][0])
        np.testing.assert_allclose(inspection.post[index][0], out, rtol=1e-5, atol=1e-6)
        for position in random_positions(out.shape, rng, positions):
            close_up = inspection.close_up(index, position)
            want = float(out[position])
            if isinstance(layer, Flatten):
                assert close_up.value == want
                assert inspection.layer_input(index)[(0, *close_up.source)] == want
            elif isinstance(layer, Dropout):
                assert close_up is None  # passes its input on unchanged at evaluation
            else:
                assert_matches(close_up.value, want, scale_of(close_up))
            if isinstance(layer, Conv2D | Dense):
                assert_matches(close_up.pre_activation,
                               float(inspection.pre[index][(0, *position)]), scale_of(close_up))
    softmax = inspection.softmax()
    np.testing.assert_allclose(softmax.probabilities, inspection.probabilities[0], rtol=RTOL,
                               atol=1e-7)
    assert_matches(softmax.loss, float(inspection.losses[0]), 1.0)


EVERY_LAYER = NetworkSpec((11, 9, 3), (
    Conv2D(4, 3, 2, "same", "tanh"), MaxPool2D(2, 1), Conv2D(3, 2, 1, "valid", "sigmoid"),
    AvgPool2D(2), Dropout(0.5), Conv2D(5, 1, 1, "same", "none"), GlobalAvgPool(),
    Dense(6, "relu"), Dense(3, "none")))
STRIDES_AND_PADDING = NetworkSpec((13, 13, 2), (
    Conv2D(3, 3, 2, "valid"), Conv2D(4, 4, 2, "same"), MaxPool2D(2, 2), Flatten(),
    Dropout(0.25), Dense(4, "none")))


@pytest.mark.parametrize("spec", [EVERY_LAYER, STRIDES_AND_PADDING], ids=["every-layer",
                                                                         "strides-padding"])
def test_every_layer_type_stride_2_and_same_padding(spec):
    check_every_layer(spec, seed=1, positions=12)


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset(name):
    check_every_layer(PRESETS[name].spec, seed=2)


def test_random_networks():
    rng = np.random.default_rng(7)
    specs = []
    while len(specs) < 3:
        spec = reference.random_spec(rng)
        if spec.analyze().ok:
            specs.append(spec)
    for i, spec in enumerate(specs):
        check_every_layer(spec, seed=10 + i)


def test_a_position_the_layer_does_not_have_is_refused_with_what_would_fit():
    from cnnviz.core.inspection import PositionError

    spec = PRESETS["worked-example"].spec
    params = init_params(spec, jax.random.PRNGKey(0))
    inspection = Inspector(spec).inspect(params, np.zeros((1, 32, 32, 1), np.uint8), [0])
    with pytest.raises(PositionError, match=r"30,0,0 is not an output of conv1, whose output "
                       r"is 30x30x4 \(rows 0-29, columns 0-29, filters 0-3\)"):
        inspection.close_up(0, (30, 0, 0))
    with pytest.raises(PositionError, match="no layer conv9; the layers are conv1, maxpool1"):
        inspection.index("conv9")
    with pytest.raises(PositionError, match="not a weight of dense1's kernel, which is 900x10"):
        inspection.weight_gradient(3, "kernel", (900, 0))
    with pytest.raises(PositionError, match="maxpool1 has no weights"):
        inspection.weight_gradient(1, "kernel", (0, 0))
