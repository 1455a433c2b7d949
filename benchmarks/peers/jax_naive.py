"""Straightforward JAX peer: the Keras CIFAR-10 tutorial CNN written the obvious way.

lax.conv_general_dilated in NHWC/HWIO, lax.reduce_window max pooling, and one jax.jit
function doing value_and_grad + optax.adam. No donation, no layout or fusion tricks: this is
the baseline a careful JAX engine should beat. Runs in the project venv:
    uv run python benchmarks/peers/jax_naive.py --batch-size 128 --steps 40 --warmup 5 --repeats 3
Prints one JSON line.
"""

import argparse
import json
import resource
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax

PARAMS = 122_570
CONVS = [(3, 32), (32, 64), (64, 64)]


def args_():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--repeats", type=int, default=3)
    return p.parse_args()


def batch(b):
    # Same scheme in every peer: seed 0, NHWC float32 normal images, then int labels.
    rng = np.random.default_rng(0)
    x = rng.standard_normal((b, 32, 32, 3), dtype=np.float32)
    y = rng.integers(0, 10, size=b).astype(np.int32)
    return x, y


def init(key):
    # He-normal weights, zero biases; the values do not affect speed.
    shapes = [(3, 3, i, o) for i, o in CONVS] + [(4 * 4 * 64, 64), (64, 10)]
    keys = jax.random.split(key, len(shapes))
    return [
        {"w": jax.random.normal(k, s) * np.sqrt(2 / np.prod(s[:-1])), "b": jnp.zeros(s[-1])}
        for k, s in zip(keys, shapes, strict=True)
    ]


def conv(x, p):
    y = lax.conv_general_dilated(x, p["w"], (1, 1), "VALID",
                                 dimension_numbers=("NHWC", "HWIO", "NHWC"))
    return jax.nn.relu(y + p["b"])


def pool(x):
    return lax.reduce_window(x, -jnp.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")


def forward(params, x):
    c1, c2, c3, d1, d2 = params
    x = conv(pool(conv(pool(conv(x, c1)), c2)), c3)
    x = jax.nn.relu(x.reshape(x.shape[0], -1) @ d1["w"] + d1["b"])
    return x @ d2["w"] + d2["b"]


def main():
    a = args_()
    opt = optax.adam(1e-3)
    params = init(jax.random.key(0))
    assert sum(v.size for v in jax.tree.leaves(params)) == PARAMS
    state = opt.init(params)
    x, y = (jnp.asarray(v) for v in batch(a.batch_size))

    def loss_fn(params, x, y):
        return optax.softmax_cross_entropy_with_integer_labels(forward(params, x), y).mean()

    @jax.jit
    def train_step(params, state, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        updates, state = opt.update(grads, state, params)
        return optax.apply_updates(params, updates), state, loss

    # Dispatch is asynchronous: block on the loss to stop the clock at the real end.
    t = time.perf_counter()
    params, state, loss = train_step(params, state, x, y)
    loss.block_until_ready()
    first = time.perf_counter() - t  # trace + XLA compile + one step
    for _ in range(a.warmup - 1):
        params, state, loss = train_step(params, state, x, y)
    loss.block_until_ready()
    rates = []
    for _ in range(a.repeats):
        t = time.perf_counter()
        for _ in range(a.steps):
            params, state, loss = train_step(params, state, x, y)
        loss.block_until_ready()
        rates.append(a.steps * a.batch_size / (time.perf_counter() - t))

    print(json.dumps({
        "framework": "jax_naive",
        "version": f"jax {jax.__version__} / optax {optax.__version__}",
        "batch_size": a.batch_size,
        "images_per_second": statistics.median(rates),
        "all": rates,
        "first_step_seconds": first,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # KiB on Linux
    }))


if __name__ == "__main__":
    main()
