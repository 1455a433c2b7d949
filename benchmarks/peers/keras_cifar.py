"""Keras 3 (TensorFlow backend) peer: the Keras CIFAR-10 tutorial CNN, timed with train_on_batch.

Run with a Python that has tensorflow (never the project venv):
    python benchmarks/peers/keras_cifar.py --batch-size 128 --steps 40 --warmup 5 --repeats 3
Prints one JSON line. Keras turns XLA off on CPU-only machines by default (jit_compile="auto"),
so both the default and jit_compile=True are measured; images_per_second is the better one.
"""

# Keras reads KERAS_BACKEND at import time, so the environment is set before the imports.
# ruff: noqa: E402
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep stdout/stderr readable

import argparse
import json
import resource
import statistics
import time

import keras
import numpy as np
import tensorflow as tf

PARAMS = 122_570


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
    y = rng.integers(0, 10, size=b).astype(np.int64)
    return x, y


def model():
    L = keras.layers
    return keras.Sequential([
        keras.Input((32, 32, 3)),
        L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(2),
        L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(2),
        L.Conv2D(64, 3, activation="relu"),
        L.Flatten(), L.Dense(64, activation="relu"), L.Dense(10),
    ])


def measure(step, a):
    """Time the first step alone (tf.function tracing, XLA compile), then repeats of steps."""
    t = time.perf_counter()
    step()  # train_on_batch returns numpy, so every call is synchronous
    first = time.perf_counter() - t
    for _ in range(a.warmup - 1):
        step()
    rates = []
    for _ in range(a.repeats):
        t = time.perf_counter()
        for _ in range(a.steps):
            step()
        rates.append(a.steps * a.batch_size / (time.perf_counter() - t))
    return first, rates


def run(jit, a):
    keras.utils.set_random_seed(0)
    # Tensors, not numpy: train_on_batch would otherwise convert the batch on every step.
    x, y = (tf.constant(v) for v in batch(a.batch_size))
    net = model()
    assert net.count_params() == PARAMS
    net.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=jit,
    )
    first, rates = measure(lambda: net.train_on_batch(x, y), a)
    return {"images_per_second": statistics.median(rates), "all": rates,
            "first_step_seconds": first}


def main():
    a = args_()
    variants = {"default": run("auto", a), "xla": run(True, a)}
    best = max(variants, key=lambda k: variants[k]["images_per_second"])
    print(json.dumps({
        "framework": "keras",
        "version": f"keras {keras.__version__} / tensorflow {tf.__version__}",
        "batch_size": a.batch_size,
        **variants[best],
        "best_variant": best,
        "variants": variants,
        # Linux reports ru_maxrss in KiB; covers both variants (same process).
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == "__main__":
    main()
