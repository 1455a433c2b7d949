"""The training-memory estimate: the formula written out independently, held within a
factor of two of XLA's own accounting of the compiled train step, shown in the summary
and the builder, and a network that cannot fit refused before anything is allocated."""

import cnnviz.engine  # noqa: F401, I001  (first: sets XLA's flags before JAX starts)
import json
import math

import jax
import jax.numpy as jnp
import pytest
from test_cli import _main
from test_qt_support import make_window

from cnnviz.core.config import TrainConfig
from cnnviz.core.layers import Conv2D, Dense, Flatten, MaxPool2D
from cnnviz.core.memory import available_memory, format_bytes, too_much, training_memory
from cnnviz.core.network import NetworkSpec
from cnnviz.core.presets import get_preset
from cnnviz.engine.steps import config_optimizer, make_train_step
from cnnviz.engine.trainer import initial_params

CIFAR = get_preset("keras-cifar10").spec.adapted((32, 32, 3), 10)
DENSE = NetworkSpec((28, 28, 1), (Flatten(), Dense(2048), Dense(2048), Dense(10, "none")))
WIDE = NetworkSpec((48, 48, 3), (Conv2D(48, 3, padding="same"), MaxPool2D(2), Flatten(),
                                 Dense(10, "none")))


def naive(spec: NetworkSpec, batch: int, optimizer: str, images: int) -> int:
    """The module docstring's sum, layer by layer, in plain Python."""
    weights = 0
    outputs = math.prod(spec.input_shape)
    shape = spec.input_shape
    for layer in spec.layers:
        if isinstance(layer, Conv2D):
            weights += layer.kernel_size**2 * shape[-1] * layer.filters + layer.filters
            h = shape[0] if layer.padding == "same" else shape[0] - layer.kernel_size + 1
            w = shape[1] if layer.padding == "same" else shape[1] - layer.kernel_size + 1
            shape = (h, w, layer.filters)
        elif isinstance(layer, MaxPool2D):
            shape = (shape[0] // 2, shape[1] // 2, shape[2])
        elif isinstance(layer, Flatten):
            shape = (math.prod(shape),)
        elif isinstance(layer, Dense):
            weights += shape[0] * layer.units + layer.units
            shape = (layer.units,)
        outputs += math.prod(shape)
    slots = {"adam": 2, "sgd-momentum": 1, "rmsprop": 1}[optimizer]
    return (4 * weights * (1 + slots + 3) + int(1.5 * 4 * batch * outputs)
            + images * math.prod(spec.input_shape))


@pytest.mark.parametrize("spec", [get_preset("tiny").spec, CIFAR, DENSE, WIDE],
                         ids=["tiny", "cifar", "dense", "wide"])
@pytest.mark.parametrize("optimizer", ["adam", "sgd-momentum"])
def test_the_estimate_is_the_documented_sum(spec, optimizer):
    memory = training_memory(spec.analyze(), spec.input_shape, 64, optimizer, 1000)
    assert memory.total == naive(spec, 64, optimizer, 1000)


@pytest.mark.parametrize(("spec", "batch", "optimizer"), [
    (get_preset("tiny").spec, 32, "adam"), (CIFAR, 128, "sgd-momentum"),
    (DENSE, 64, "rmsprop"), (WIDE, 256, "adam")], ids=["tiny", "cifar", "dense", "wide"])
def test_the_estimate_is_within_a_factor_of_two_of_what_xla_allocates(spec, batch, optimizer):
    images = 1000
    optax_optimizer = config_optimizer(TrainConfig(optimizer, 1e-3, batch))
    params = initial_params(spec, 0)
    state = optax_optimizer.init(params)
    compiled = make_train_step(spec, optax_optimizer).lower(
        params, state, jax.ShapeDtypeStruct((images, *spec.input_shape), jnp.uint8),
        jax.ShapeDtypeStruct((images,), jnp.int32), jax.ShapeDtypeStruct((1, batch), jnp.int32),
        jax.random.PRNGKey(0), 0).compile()
    xla = compiled.memory_analysis()
    held = xla.argument_size_in_bytes + xla.temp_size_in_bytes  # outputs alias the inputs
    estimate = training_memory(spec.analyze(), spec.input_shape, batch, optimizer, images)
    assert 0.5 <= estimate.total / held <= 2.0, (format_bytes(estimate.total),
                                                  format_bytes(held))


def test_what_cannot_fit_is_refused_with_the_numbers():
    spec = NetworkSpec((28, 28, 1), (Conv2D(10**9, 3), Flatten(), Dense(5, "none")))
    memory = training_memory(spec.analyze(), spec.input_shape, 32, "adam", 9000)
    message = too_much(memory, 8 << 30)
    assert message.startswith(f"training needs about {format_bytes(memory.total)} of memory "
                              "(parameters 12.3 TiB, optimizer state 24.7 TiB")
    assert "more than the 8.0 GiB free" in message
    assert too_much(training_memory(CIFAR.analyze(), CIFAR.input_shape, 32, "adam"),
                    8 << 30) is None
    assert too_much(memory, None) is None  # a system that does not say
    free = available_memory()
    assert free is None or free > 0


def test_the_cli_refuses_a_network_that_cannot_fit_before_allocating_it(tmp_path):
    path = tmp_path / "huge.json"
    path.write_text(NetworkSpec((28, 28, 1), (Conv2D(10**9, 3), Flatten(),
                                              Dense(5, "none"))).to_json())
    code, out, err = _main("train", "--network", path, "--dataset", "shapes")
    assert code == 2 and "Traceback" not in err
    assert "cnnviz train: error: training needs about" in err and "TiB of memory" in err


def test_the_summary_shows_the_estimate_and_warns_past_what_is_free(tmp_path):
    code, out, _ = _main("summary", "--preset", "tiny")
    assert code == 0
    memory = training_memory(get_preset("tiny").spec.analyze(), (28, 28, 1), 32, "adam")
    assert f"Training memory (batch 32, adam): about {format_bytes(memory.total)} (" in out
    huge = tmp_path / "huge.json"  # 3.39e12 parameters
    huge.write_text(NetworkSpec((64, 64, 3), (Flatten(), Dense(10**6), Dense(10**6),
                                              Dense(3_390_000), Dense(10, "none"))).to_json())
    code, out, _ = _main("summary", huge)
    assert "WARNING training would not fit" in out
    code, out, _ = _main("summary", huge, "--json")
    (event,) = [json.loads(line) for line in out.splitlines()]
    assert event["training_memory"]["total"] > event["training_memory"]["free"]


def test_the_window_says_it_too(qtbot, tmp_path, monkeypatch):
    window = make_window(qtbot, tmp_path, monkeypatch)
    s = window.session
    memory = s.training_memory()
    assert f"training needs about {format_bytes(memory.total)} at batch 32" in (
        window.builder._totals.text())
    window.network.reset(NetworkSpec((16, 16, 1), (Conv2D(10**8, 3), Flatten(),
                                                   Dense(3, "none"))))
    assert s.blocker().startswith("training needs about")
    assert "color" in window.builder._totals.text()  # shown in red
    assert not window.actions.start_pause.isEnabled()
