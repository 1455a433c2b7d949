"""cnnviz's own training step on the keras-cifar10 preset, as the Trainer runs it.

The training set (random uint8 images) lives on the device; each jitted call trains
`steps_per_dispatch` batches gathered by index, each with its learning rate, exactly as
cnnviz.engine.trainer does.
    uv run python benchmarks/peers/cnnviz_engine.py --batch-size 32 --steps 64 --repeats 3
Prints one JSON line (the same contract as the other peers). --batchnorm puts a
BatchNorm after each conv, --freeze-base freezes the convs (and their BatchNorms).
"""

import argparse
import json
import resource
import statistics
import time

import cnnviz.engine  # noqa: F401  (sets XLA flags, so it comes before jax)

# isort: split
import jax
import jax.numpy as jnp
import numpy as np

from cnnviz.core.config import TrainConfig
from cnnviz.core.layers import BatchNorm, Conv2D
from cnnviz.core.network import NetworkSpec
from cnnviz.core.presets import get_preset
from cnnviz.engine.model import init_params
from cnnviz.engine.steps import config_optimizer, make_train_step
from cnnviz.engine.trainer import default_steps_per_dispatch
from cnnviz.engine.tuning import spec_slice_images

DATASET = 4096


def network(batchnorm: bool, freeze_base: bool) -> NetworkSpec:
    """keras-cifar10, with a BatchNorm after each conv and the convs frozen if asked."""
    spec = get_preset("keras-cifar10").spec
    layers = []
    for layer in spec.layers:
        base = isinstance(layer, Conv2D)
        layers.append(Conv2D(**{**layer.__dict__, "trainable": not freeze_base}) if base
                      else layer)
        if base and batchnorm:
            layers.append(BatchNorm(trainable=not freeze_base))
    return NetworkSpec(spec.input_shape, tuple(layers))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--steps-per-dispatch", type=int, help="default: the Trainer's choice")
    p.add_argument("--slice-images", type=int,
                   help="images per slice of a batch (0: one pass); default: the engine's "
                   "choice for this CPU (engine.tuning)")
    p.add_argument("--part-images", type=int,
                   help="largest part of a batch one jitted call computes (0: the whole "
                   "batch); default: the engine's choice (engine.tuning)")
    p.add_argument("--batchnorm", action="store_true")
    p.add_argument("--freeze-base", action="store_true")
    a = p.parse_args()
    k = a.steps_per_dispatch or default_steps_per_dispatch(a.batch_size)
    spec = network(a.batchnorm, a.freeze_base)
    rng = np.random.default_rng(0)
    x_all = jax.device_put(rng.integers(0, 256, (DATASET, 32, 32, 3), dtype=np.uint8))
    y_all = jax.device_put(rng.integers(0, 10, DATASET).astype(np.int32))
    key = jax.random.PRNGKey(0)
    params = init_params(spec, key)
    optimizer = config_optimizer(TrainConfig(learning_rate=1e-3), spec)
    opt_state = optimizer.init(params)
    slicing = {} if a.slice_images is None else {"slice_images": a.slice_images or None}
    if a.part_images is not None:
        slicing["part_images"] = a.part_images or None
    step_fn = make_train_step(spec, optimizer, **slicing)

    def indices(n):
        return jnp.asarray(rng.integers(0, DATASET, (n, a.batch_size)).astype(np.int32))

    step = 0

    def run(n):
        nonlocal params, opt_state, step
        params, opt_state, losses, _ = step_fn(params, opt_state, x_all, y_all, indices(n),
                                               key, step, np.full(n, 1e-3, np.float32))
        step += n
        return losses

    clock = time.perf_counter()
    run(1).block_until_ready()  # the Trainer's first dispatch is one step
    first = time.perf_counter() - clock
    clock = time.perf_counter()
    run(k).block_until_ready()
    compile_k = time.perf_counter() - clock
    for _ in range(max(1, a.warmup // k)):
        run(k)
    rates = []
    dispatches = max(1, a.steps // k)
    for _ in range(a.repeats):
        clock = time.perf_counter()
        for _ in range(dispatches):
            losses = run(k)
        losses.block_until_ready()
        rates.append(dispatches * k * a.batch_size / (time.perf_counter() - clock))
    print(json.dumps({
        "framework": f"cnnviz (k={k}){' batchnorm' * a.batchnorm}"
                     f"{' frozen base' * a.freeze_base}",
        "version": jax.__version__, "batch_size": a.batch_size,
        "device": jax.devices()[0].device_kind if jax.default_backend() != "cpu" else "cpu",
        "images_per_second": statistics.median(rates), "all": rates,
        "first_step_seconds": first, "compile_k_seconds": compile_k,
        "slice_images": a.slice_images if a.slice_images is not None else spec_slice_images(
            spec, jax.default_backend()),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == "__main__":
    main()
