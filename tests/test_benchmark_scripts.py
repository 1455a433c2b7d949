"""The scripts under benchmarks/ run as scripts: their folder comes first on sys.path."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"

# What a script in benchmarks/ does first: JAX with its compilation cache (which imports the
# standard library's `compression` package where Python has one), with benchmarks/ first on
# sys.path as Python puts it for a script run from there.
JAX_FROM_BENCHMARKS = """
import sys
sys.path.insert(0, sys.argv[1])
import jax._src.compilation_cache
import jax.numpy as jnp
print(float(jax.jit(lambda x: x * 2)(jnp.float32(1.5))))
"""


def test_a_script_in_benchmarks_can_load_jax():
    run = subprocess.run([sys.executable, "-c", JAX_FROM_BENCHMARKS, str(BENCHMARKS)],
                         cwd=BENCHMARKS, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.split()[-1] == "3.0"


def test_no_benchmark_shadows_a_standard_module():
    # `compression` joined the standard library in Python 3.14 (compression.zstd)
    standard = set(sys.stdlib_module_names) | {"compression"}
    shadowing = [p.name for p in BENCHMARKS.glob("*.py") if p.stem in standard]
    assert not shadowing
