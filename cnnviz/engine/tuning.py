"""How many images of a batch go through the network at once, chosen from the CPU.

On CPU a batch's gradient is summed over slices taken one after the other (steps.py), so
that one slice's activations stay in the caches while its backward pass reads them. The
slice is the largest power of two whose activations (core.memory's estimate of what a
training step keeps per image) and their gradients (as large again) fit in the CPU's
caches: its L3 and every core's L2. A batch computed in one call (no parts, below) has
at most MAX_SLICES slices: a larger one gets larger slices.

The figures behind it (keras-cifar10, 326 KB of activations per image by the estimate;
in-process A/B, alternating rounds, idle machine; a 2-core AMD EPYC, Zen 4, 1 MiB L2 per
core, 32 MiB L3: budget 34 MiB, 54 images -> slices of 32; benchmarks/README.md): at
batch 128, 4 slices of 32 trained 5 % faster than 2 of 64 (rounds 0.95, 0.94, 0.99) and
14 % faster than a plain one-pass step; at batch 512, 8 slices of 64 trained 3 % faster
than 4 of 128 and 13 % faster than one pass. Slicing only pays while a slice overflows
no cache, so the size follows the cache, and a CPU whose caches are unknown gets
DEFAULT_CACHE's.

One jitted call computes at most `call_images`: whole slices whose activations and
gradients together stay within CALL_BYTES, and at most DISPATCH_SLICES of them. A larger
batch is computed in parts, one call each, whose gradients are summed before the
optimizer's update (engine.steps). It is the images a call holds, not its slices, that
slow a call down: on the EPYC above (benchmarks/batch_parts.py, 5 rounds, ratios to
batch 128 as one call of 4 slices of 32), batch 512 as one call of 8 slices of 64 ran
0.75x (rounds 0.74, 0.79, 0.69, 0.89, 0.75); with slices of 128, as a Xeon's caches
choose (2 cores, 2 MiB L2 each, 105 MiB L3), one call of 4 slices ran 0.72x, 2 parts of
2 slices 0.66x, and 4 parts of one slice 0.89x (0.96, 1.13, 0.84, 0.89, 0.87). Calls of
128 images (83 MB of keras-cifar10's activations and gradients) keep batch 128's speed;
calls of 256 or 512 images do not. The Xeon's own figures agree: there a plain one-pass
step at batch 512 outran the engine's one call of 4 slices of 128 (4,189 against 3,457
img/s).

On a GPU there is no cache to fit and the batch goes through in one pass.
"""

from __future__ import annotations

from functools import cache

from cnnviz.core.memory import training_memory
from cnnviz.core.network import NetworkSpec
from cnnviz.engine.cpu import Cpu, this_cpu

MIN_SLICE, MAX_SLICE = 16, 256
# Each slice is compiled as its own copy of the network, so the first step's compile
# time grows with the count: with 8 (batch 512 in slices of 64) it was 2.24 s on the
# 2-core EPYC, idle (1.25 s for batch 32 in one slice).
MAX_SLICES = 8
# Slices one jitted call computes at most (each is compiled as its own copy, above).
DISPATCH_SLICES = 4
# Activations and gradients one jitted call may hold: 128 images of keras-cifar10 (83 MB)
# kept batch 128's speed, 256 (167 MB) did not (docstring)
CALL_BYTES = 96 << 20
DEFAULT_CACHE = 32 << 20  # a CPU that does not say: a typical desktop or server L3


def cache_budget(cpu: Cpu) -> int:
    """Bytes of cache one slice's activations and their gradients may fill: the L3 and
    every core's L2."""
    total = cpu.l3 + cpu.l2 * cpu.cores
    return total or DEFAULT_CACHE


def slice_images(cpu: Cpu, image_bytes: int) -> int:
    """Images per slice for a network that keeps `image_bytes` of activations per
    image: the largest power of two whose slice, activations and their gradients, fits
    `cache_budget`, within [MIN_SLICE, MAX_SLICE]."""
    fit = cache_budget(cpu) // max(1, 2 * image_bytes)
    size = MIN_SLICE
    while size * 2 <= min(fit, MAX_SLICE):
        size *= 2
    return size


def call_images(slice_images: int, image_bytes: int) -> int:
    """Images one jitted call computes at most, in slices of `slice_images` for a network
    that keeps `image_bytes` per image: the whole slices whose activations and gradients
    fit CALL_BYTES, at least one and at most DISPATCH_SLICES."""
    fit = CALL_BYTES // max(1, 2 * image_bytes * slice_images)
    return slice_images * max(1, min(DISPATCH_SLICES, fit))


def activation_bytes(spec: NetworkSpec) -> int:
    """What a training step keeps per image of `spec` (core.memory's estimate)."""
    return training_memory(spec.check(), tuple(spec.input_shape), 1, "adam").activations


@cache
def _cpu() -> Cpu:
    return this_cpu()


def spec_slice_images(spec: NetworkSpec, backend: str) -> int | None:
    """The slice size for `spec` on this machine; None (one pass) off the CPU."""
    if backend != "cpu":
        return None
    return slice_images(_cpu(), activation_bytes(spec))


def spec_call_images(spec: NetworkSpec, slice_size: int | None) -> int | None:
    """The most images one call computes for `spec` in slices of `slice_size`; None (no
    limit) when the batch goes through in one pass."""
    return None if slice_size is None else call_images(slice_size, activation_bytes(spec))
