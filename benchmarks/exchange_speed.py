r"""Export and import speed for the Keras CIFAR-10 tutorial network (preset keras-cifar10,
122,570 parameters). Targets: export to every format together within 2 s; import
within 2 s.

    uv run python benchmarks/exchange_speed.py --repeats 5

Each timing is taken twice:

- cold: in a fresh process, after its imports (the window has loaded JAX long before
  anyone exports), so the one compilation of the network for the sample logits counts;
- warm: again in the same process (the network compiled already), as a second export
  or import of the same network in the window.

Imports timed: the tutorial network saved by Keras 3 (.keras, and .weights.h5 with the
network given), the app's ONNX export, and the app's export folder (which runs its
samples through the network to check them). Keras only builds the files, untimed.
Medians of the repeats; the CPU and the load average go with them, since the machine
may be shared.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cnnviz.engine  # noqa: F401  (XLA's flags, set before JAX starts)

TARGET_S = 2.0
IMPORTS = ("keras", "weights.h5", "onnx", "export folder")


def cpu_name() -> str:
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def trained():
    """keras-cifar10 with Glorot kernels and small random biases."""
    import jax
    import numpy as np

    from cnnviz.core.presets import get_preset
    from cnnviz.engine.model import init_params, params_to_numpy
    from cnnviz.io.export import Trained

    spec = get_preset("keras-cifar10").spec
    weights = params_to_numpy(init_params(spec, jax.random.key(0)))
    rng = np.random.default_rng(0)
    for layer in weights:
        if "bias" in layer:
            layer["bias"] = rng.normal(0, 0.1, layer["bias"].shape).astype(np.float32)
    names = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
             "truck")
    return Trained(spec, weights, names, "cifar10")


def make_inputs(folder: Path) -> None:
    """The files the imports read: Keras' own, and the app's export."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras
    from keras import layers

    from cnnviz.io.export import FORMATS, export_model

    model = keras.Sequential([
        keras.Input((32, 32, 3)), layers.Conv2D(32, 3, activation="relu"),
        layers.MaxPooling2D(), layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(),
        layers.Conv2D(64, 3, activation="relu"), layers.Flatten(),
        layers.Dense(64, activation="relu"), layers.Dense(10)])
    model.save(folder / "tutorial.keras")
    model.save_weights(folder / "tutorial.weights.h5")
    export_model(trained(), FORMATS, folder / "export")


def run_once(kind: str, folder: Path, repeats: int) -> list[float]:
    """`repeats` timings of one operation in this process (the first one cold)."""
    from cnnviz.core.presets import get_preset
    from cnnviz.io.export import FORMATS, export_model
    from cnnviz.io.imports import import_model

    model = trained() if kind == "export" else None
    paths = {"keras": folder / "tutorial.keras", "weights.h5": folder / "tutorial.weights.h5",
             "onnx": folder / "export" / "model.onnx", "export folder": folder / "export"}
    spec = get_preset("keras-cifar10").spec
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        if kind == "export":
            export_model(model, FORMATS, folder / f"out-{os.getpid()}-{i}")
        else:
            imported = import_model(paths[kind], spec)
            assert imported.spec.analyze().total_params == 122_570
        times.append(time.perf_counter() - start)
    return times


def child(kind: str, folder: Path, repeats: int) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--dir", str(folder), "--repeats",
         str(repeats)], capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--repeats", type=int, default=5, help="fresh processes per timing")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--dir", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        import jax.numpy  # noqa: F401  (loaded before timing, as in the window)

        times = run_once(args.child, Path(args.dir), 3)
        print(json.dumps({"cold": times[0], "warm": statistics.median(times[1:])}))
        return 0

    load_before = os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory(prefix="cnnviz-exchange-") as tmp:
        folder = Path(tmp)
        make_inputs(folder)
        for kind in ("export", *IMPORTS):
            runs = [child(kind, folder, args.repeats) for _ in range(args.repeats)]
            cold = statistics.median(r["cold"] for r in runs)
            warm = statistics.median(r["warm"] for r in runs)
            rows.append((kind, cold, warm))
    load_after = os.getloadavg()[0]
    print(f"CPU: {cpu_name()}, {os.cpu_count()} cores; load average {load_before:.1f} before, "
          f"{load_after:.1f} after; medians of {args.repeats} fresh processes\n")
    print("| operation | cold (s) | warm (s) | target |")
    print("|---|---|---|---|")
    for kind, cold, warm in rows:
        what = "export, every format" if kind == "export" else f"import {kind}"
        verdict = "met" if cold <= TARGET_S else "MISSED"
        print(f"| {what} | {cold:.2f} | {warm:.2f} | {TARGET_S:.0f} s: {verdict} |")
    return 0 if all(cold <= TARGET_S for _, cold, _ in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
