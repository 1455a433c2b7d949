r"""Overfitting's cures, measured.

`speed`: training speed (images/s) on keras-cifar10, each variant in a subprocess of its
own (benchmarks/peers/cnnviz_engine.py), the variants taking turns round after round so
that the machine's drift hits them alike; medians per variant and ratios side by side:
  - this tree against another checkout (--base DIR, e.g. the commit before the cures,
    unpacked with `git archive COMMIT | tar -x -C DIR`): the engine without the options
    must not have slowed down;
  - BatchNorm after each conv against none;
  - the convs frozen (no gradient computed for them) against all trained.

`early`: early stopping on MNIST (the test images in ../shared/data/mnist/, split 80/20,
when present; else the built-in digits): the epoch it stopped after, the best epoch it
restored, and the restored weights' validation and test accuracy beside the last epoch's
(the same seeded run once more, keeping its last weights).

    uv run python benchmarks/overfitting.py speed --base /tmp/cnnviz-base --rounds 3
    uv run python benchmarks/overfitting.py early
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PEER = Path("benchmarks") / "peers" / "cnnviz_engine.py"
SHARED_MNIST = ROOT.parent / "shared" / "data" / "mnist"


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def run_peer(root: Path, batch: int, flags: list[str], steps: int) -> float:
    """Images per second of one variant, in a process of its own run from `root`."""
    cmd = [sys.executable, str(PEER), "--batch-size", str(batch), "--steps", str(steps),
           "--repeats", "3", *flags]
    out = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=900,
                         env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})
    if out.returncode:
        raise RuntimeError(f"{' '.join(cmd)} in {root}: {out.stderr.strip()[-400:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])["images_per_second"]


def speed(a: argparse.Namespace) -> dict:
    variants = {"this tree": (ROOT, []), "batchnorm": (ROOT, ["--batchnorm"]),
                "frozen base": (ROOT, ["--freeze-base"])}
    if a.base:
        variants = {"base": (Path(a.base), []), **variants}
    results = {}
    for batch in a.batch_sizes:
        rates: dict[str, list[float]] = {name: [] for name in variants}
        for r in range(a.rounds):
            for name, (root, flags) in variants.items():
                rates[name].append(run_peer(root, batch, flags, a.steps))
                print(f"batch {batch} round {r + 1}: {name} {rates[name][-1]:,.0f} img/s",
                      file=sys.stderr, flush=True)
        pairs = [("batchnorm", "this tree"), ("frozen base", "this tree")] + (
            [("this tree", "base")] if a.base else [])
        results[batch] = {
            "median_images_per_second": {n: statistics.median(v) for n, v in rates.items()},
            "all": rates,
            # each round's ratio, then their median: the two ran minutes apart at most,
            # on a machine whose speed drifts far more than that over a whole run
            "ratios": {f"{x} / {y}": statistics.median(
                [p / q for p, q in zip(rates[x], rates[y], strict=True)]) for x, y in pairs}}
    return results


def early(a: argparse.Namespace) -> dict:
    import cnnviz.engine  # noqa: F401  (XLA's flags before JAX starts)
    from cnnviz.core.config import TrainConfig
    from cnnviz.core.layers import Conv2D, Dense, Flatten, MaxPool2D
    from cnnviz.core.network import NetworkSpec
    from cnnviz.data.registry import load_dataset
    from cnnviz.data.standard import load_mnist_test_split
    from cnnviz.engine.trainer import Trainer, evaluate

    if (SHARED_MNIST / "t10k-images-idx3-ubyte.gz").exists():
        data = load_mnist_test_split(SHARED_MNIST, validation_fraction=0.1)
    else:
        data = load_dataset("digits", validation_fraction=0.1)
    h, w, c = data.input_shape
    # a network big enough to overfit a few thousand images, at a rate that soon does
    spec = NetworkSpec((h, w, c), (Conv2D(32, 3), MaxPool2D(2), Conv2D(64, 3), MaxPool2D(2),
                                   Flatten(), Dense(256), Dense(data.num_classes, "none")))
    results = {}
    for restore in (True, False):  # the same seeded run, ending with the best or the last
        config = TrainConfig(epochs=a.epochs, batch_size=64, learning_rate=3e-3,
                             early_stopping=True, patience=a.patience, seed=a.seed,
                             restore_best=restore)
        # one step per dispatch: the k-step dispatch that takes over mid-run is not
        # bit-identical on every network, and the two runs must be the same up to the end
        trainer = Trainer(spec, data, config, steps_per_dispatch=1)
        for _ in trainer.run():
            pass
        results[restore] = trainer
    history, spe = results[True].history, results[True].steps_per_epoch
    halt = history.halts[-1] if history.halts else None

    def accuracy(trainer, x, y) -> float:
        return evaluate(spec, trainer.params, x, y)[1]

    return {"dataset": data.name, "train_images": len(data.x_train),
            "epochs_allowed": a.epochs, "patience": a.patience,
            "epochs_run": len(history.epochs), "stopped": halt is not None and
            halt.reason == "early-stopped",
            "best_epoch": None if halt is None else halt.best_step // spe,
            "val_loss_per_epoch": [e["val_loss"] for e in history.epochs],
            "val_accuracy_per_epoch": [e["val_accuracy"] for e in history.epochs],
            "restored_val_accuracy": accuracy(results[True], data.x_val, data.y_val),
            "restored_test_accuracy": accuracy(results[True], data.x_test, data.y_test),
            "last_epoch_val_accuracy": accuracy(results[False], data.x_val, data.y_val),
            "last_epoch_test_accuracy": accuracy(results[False], data.x_test, data.y_test)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="what", required=True)
    s = sub.add_parser("speed")
    s.add_argument("--base", help="another checkout to compare this tree with")
    s.add_argument("--batch-sizes", type=lambda t: [int(v) for v in t.split(",")],
                   default=[32, 128])
    s.add_argument("--rounds", type=int, default=3)
    s.add_argument("--steps", type=int, default=48)
    e = sub.add_parser("early")
    e.add_argument("--epochs", type=int, default=30)
    e.add_argument("--patience", type=int, default=3)
    e.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    result = {"cpu": cpu_name(), "cores": len(__import__("os").sched_getaffinity(0)),
              a.what: speed(a) if a.what == "speed" else early(a)}
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
