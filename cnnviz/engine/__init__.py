"""JAX + optax: running a NetworkSpec.

Importing this package sets XLA's CPU flags before JAX starts (they are read once, at
backend creation). The flag keeps XLA's YNNPACK fusion from taking convolutions one by
one, which on CPU makes conv training several times slower (benchmarks/train_speed.py
guards it; it is experimental, hence the pinned JAX version). It also keeps the C
allocator from returning XLA's buffers to the OS between steps (see `allocator`).
"""

import os
import sys

from cnnviz.engine.allocator import keep_freed_memory

_CPU_FLAGS = ("--xla_cpu_experimental_ynn_fusion_type=-individual_convolution",)

if "jax" not in sys.modules:
    _flags = os.environ.get("XLA_FLAGS", "")
    os.environ["XLA_FLAGS"] = " ".join([_flags, *(f for f in _CPU_FLAGS if f not in _flags)]
                                       ).strip()

keep_freed_memory()
