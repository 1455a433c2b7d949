"""Paired A/B in one process: how a batch is split for the CPU (slices within one jitted
call, parts one call each; engine.steps) against training speed, on keras-cifar10.

Each round trains every variant for about `--seconds` in turn and divides each one's
images/second by the first variant's in that round, so the machine's drift cancels out:
    uv run python benchmarks/batch_parts.py --rounds 5
Variants are written BATCH[/sSLICE][/pPART][/kSTEPS] (slice and part 0: none; left
out: the engine's choice, and the Trainer's steps per call); the first is the reference.
Prints the CPU, each round's ratios and their medians.
"""

import argparse
import os
import statistics
import time

import cnnviz.engine  # noqa: F401  (sets XLA flags, so it comes before jax)

# isort: split
import jax
import jax.numpy as jnp
import numpy as np

from cnnviz.core.config import TrainConfig
from cnnviz.core.presets import get_preset
from cnnviz.engine.cpu import this_cpu
from cnnviz.engine.model import init_params
from cnnviz.engine.steps import batch_parts, batch_slices, config_optimizer, make_train_step
from cnnviz.engine.trainer import default_steps_per_dispatch
from cnnviz.engine.tuning import spec_call_images, spec_slice_images

DATASET = 4096
DEFAULT = ["128", "512", "512/p0", "512/p64", "512/p32"]


def parse(variant: str) -> tuple[int, dict]:
    """'512/s32/p128/k1' -> (512, {"slice_images": 32, "part_images": 128, "k": 1})."""
    batch, *rest = variant.split("/")
    options = {}
    for item in rest:
        key = {"s": "slice_images", "p": "part_images", "k": "k"}[item[0]]
        options[key] = int(item[1:]) or None
    return int(batch), options


class Variant:
    def __init__(self, name: str, spec, x_all, y_all, rng):
        self.name = name
        self.batch, options = parse(name)
        self.k = options.pop("k", None) or default_steps_per_dispatch(self.batch)
        optimizer = config_optimizer(TrainConfig(learning_rate=1e-3), spec)
        self.params = init_params(spec, jax.random.PRNGKey(0))
        self.opt_state = optimizer.init(self.params)
        self.fn = make_train_step(spec, optimizer, **options)
        self.x_all, self.y_all, self.rng, self.step = x_all, y_all, rng, 0
        slice_images = options.get("slice_images", spec_slice_images(spec, "cpu"))
        part = options.get("part_images", "auto")
        if part == "auto":
            part = spec_call_images(spec, slice_images)
        parts = batch_parts(self.batch, part)
        self.layout = (f"{len(parts)} part(s) x "
                       f"{len(batch_slices(parts[0][1], slice_images))} slice(s), k={self.k}")
        clock = time.perf_counter()
        self.run().block_until_ready()
        self.first = time.perf_counter() - clock

    def run(self):
        idx = jnp.asarray(self.rng.integers(0, DATASET, (self.k, self.batch)).astype(np.int32))
        self.params, self.opt_state, losses, _ = self.fn(
            self.params, self.opt_state, self.x_all, self.y_all, idx, jax.random.PRNGKey(1),
            self.step, np.full(self.k, 1e-3, np.float32))
        self.step += self.k
        return losses

    def rate(self, seconds: float) -> float:
        self.run().block_until_ready()  # warm
        images, clock = 0, time.perf_counter()
        while time.perf_counter() - clock < seconds:
            losses = self.run()
            images += self.k * self.batch
        losses.block_until_ready()
        return images / (time.perf_counter() - clock)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("variants", nargs="*", default=DEFAULT)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--seconds", type=float, default=3.0)
    a = p.parse_args()
    cpu = this_cpu()
    print(f"CPU: {cpu.model}, {cpu.cores} cores, load average {os.getloadavg()[0]:.1f}")
    spec = get_preset("keras-cifar10").spec
    rng = np.random.default_rng(0)
    x_all = jax.device_put(rng.integers(0, 256, (DATASET, 32, 32, 3), dtype=np.uint8))
    y_all = jax.device_put(rng.integers(0, 10, DATASET).astype(np.int32))
    variants = [Variant(name, spec, x_all, y_all, rng) for name in a.variants]
    for v in variants:
        print(f"{v.name:>14}: {v.layout}, first call {v.first:.2f} s")
    ratios = {v.name: [] for v in variants}
    rates = {v.name: [] for v in variants}
    for r in range(a.rounds):
        measured = [v.rate(a.seconds) for v in variants]
        for v, value in zip(variants, measured, strict=True):
            ratios[v.name].append(value / measured[0])
            rates[v.name].append(value)
        print(f"round {r + 1}: " + ", ".join(f"{v.name} {value:,.0f}" for v, value in zip(
            variants, measured, strict=True)) + f" (load {os.getloadavg()[0]:.1f})", flush=True)
    print("median img/s and ratio to the first (per round):")
    for v in variants:
        print(f"{v.name:>14}: {statistics.median(rates[v.name]):7,.0f}  "
              f"{statistics.median(ratios[v.name]):.2f} "
              f"({', '.join(f'{x:.2f}' for x in ratios[v.name])})")


if __name__ == "__main__":
    main()
