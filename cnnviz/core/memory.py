"""Memory: what training a network needs, how much the machine has free, and sizes as a
person reads them. Every number about memory the app shows comes from here.

The estimate counts what a training step holds at once, in 32-bit floats:
  parameters     the weights, 4 bytes each;
  optimizer      its state per weight: Adam two running averages, SGD with momentum and
                 RMSprop one;
  gradients      the gradient, and while it is summed over the slices of a batch two
                 more of its size (the running sum and the next slice's);
  activations    every layer's output for each image of the batch, kept from the forward
                 pass for the backward pass: before and after the activation function
                 where XLA keeps both, after it alone where it fuses them, one and a half
                 copies on average (as measured on the presets);
  data           the training images, which go to the device once for the whole run
                 (uint8, one byte a pixel).
XLA fuses operations and reuses buffers, so the real figure differs; the tests hold the
estimate within a factor of two of XLA's own accounting of the compiled step.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from cnnviz.core.i18n import tr
from cnnviz.core.network import Analysis

FLOAT = 4  # bytes
OPTIMIZER_SLOTS = {"adam": 2, "sgd-momentum": 1, "rmsprop": 1}
GRADIENT_COPIES = 3
ACTIVATION_COPIES = 1.5


@dataclass(frozen=True)
class TrainingMemory:
    """Bytes a training step holds, by what holds them (see the module's docstring)."""

    parameters: int
    optimizer: int
    gradients: int
    activations: int
    data: int = 0

    @property
    def total(self) -> int:
        return self.parameters + self.optimizer + self.gradients + self.activations + self.data

    def parts(self) -> str:
        """'parameters 220.3 KiB, optimizer state ...' for a message."""
        text = tr("parameters {p}, optimizer state {o}, gradients {g}, activations {a}",
                  p=format_bytes(self.parameters), o=format_bytes(self.optimizer),
                  g=format_bytes(self.gradients), a=format_bytes(self.activations))
        if self.data:
            text += tr(", training images {d}", d=format_bytes(self.data))
        return text

    def fits(self, free: int | None) -> bool:
        """Whether it fits in `free` bytes (True when nobody knows what is free)."""
        return free is None or self.total <= free


def training_memory(analysis: Analysis, input_shape: tuple[int, ...], batch_size: int,
                    optimizer: str, train_images: int = 0) -> TrainingMemory:
    """The estimate for a network (its analysis; layers past an error count as none)
    trained at `batch_size` with `optimizer` on `train_images` images of `input_shape`."""
    params = analysis.total_params * FLOAT
    per_image = sum(math.prod(info.out_shape) for info in analysis.layers
                    if info.out_shape is not None)
    return TrainingMemory(
        parameters=params,
        optimizer=OPTIMIZER_SLOTS.get(optimizer, 2) * params,
        gradients=GRADIENT_COPIES * params,
        activations=int(ACTIVATION_COPIES * FLOAT * batch_size
                        * (per_image + math.prod(input_shape))),
        data=train_images * math.prod(input_shape))


def too_much(memory: TrainingMemory, free: int | None) -> str | None:
    """Why training cannot fit in `free` bytes (None: it fits, or nobody knows)."""
    if memory.fits(free):
        return None
    return tr("training needs about {need} of memory ({parts}), more than the {free} free; "
              "use a smaller batch, fewer or smaller layers, or smaller images",
              need=format_bytes(memory.total), parts=memory.parts(), free=format_bytes(free))


def format_bytes(n: float) -> str:
    """1536 -> '1.5 KiB': sizes as a person reads them."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def _meminfo_available() -> int | None:
    """Linux: MemAvailable, which counts the caches the kernel gives back."""
    try:
        with open("/proc/meminfo", "rb") as f:
            for line in f:
                if line.startswith(b"MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _cgroup_room() -> int | None:
    """A container's own limit (cgroup v2) less what it uses, where there is one."""
    try:
        with open("/sys/fs/cgroup/memory.max") as f:
            limit = f.read().strip()
        with open("/sys/fs/cgroup/memory.current") as f:
            used = int(f.read().strip())
    except (OSError, ValueError):
        return None
    return None if limit == "max" else max(int(limit) - used, 0)


def available_memory() -> int | None:
    """Bytes of memory free for a new allocation now, or None where the system does not
    say: the smaller of what the machine and the process's container have free."""
    free = _meminfo_available()
    if free is None:
        try:
            free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            free = None
    room = _cgroup_room()
    return room if free is None else free if room is None else min(free, room)
