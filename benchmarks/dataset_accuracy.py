"""Dataset accuracy benchmark: real networks reach real accuracy on the built-in data.

Trains lenet5 with the engine's Trainer and reports test accuracy against a target:

- `digits` (UCI digits upscaled to 28x28, 1,438 train / 359 test), 40 epochs with
  small random rotations (1,438 images are few; rotation is what helps): >= 97 %
- the MNIST test set from shared/data/mnist split 8,000 / 2,000, 2 epochs: >= 97 %
  (skipped when shared/ is not there)

    uv run python benchmarks/dataset_accuracy.py [--out results.json]

Exits non-zero when a run misses its target.
"""

import argparse
import json
import sys
import time
from collections import deque
from pathlib import Path

import cnnviz.engine  # noqa: F401  (sets XLA's CPU flags before JAX starts)
from cnnviz.core.config import TrainConfig
from cnnviz.core.presets import get_preset
from cnnviz.core.snapshot import FINISHED
from cnnviz.data.dataset import Dataset
from cnnviz.data.registry import load_dataset
from cnnviz.data.standard import load_mnist_test_split
from cnnviz.engine.trainer import Trainer, evaluate

SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
TARGET = 0.97


def run(label: str, dataset: Dataset, load_seconds: float, config: TrainConfig) -> dict:
    spec = get_preset("lenet5").spec
    trainer = Trainer(spec, dataset, config)
    started = time.perf_counter()
    last = deque(trainer.run(), maxlen=1)[0]  # only the final snapshot matters
    assert last.state == FINISHED, last
    seconds = time.perf_counter() - started
    _, accuracy = evaluate(spec, trainer.params, dataset.x_test, dataset.y_test)
    result = {"run": label, "dataset": dataset.name, "train": len(dataset.x_train),
              "val": len(dataset.x_val), "test": len(dataset.x_test), "epochs": config.epochs,
              "batch_size": config.batch_size, "test_accuracy": round(accuracy, 4),
              "target": TARGET, "passed": accuracy >= TARGET,
              "load_seconds": round(load_seconds, 2), "train_seconds": round(seconds, 1)}
    print(f"{label:>22}: test accuracy {accuracy:.2%} (target {TARGET:.0%}) "
          f"{'ok' if result['passed'] else 'MISSED'}; {result['train']} train / "
          f"{result['test']} test, {config.epochs} epochs, load {load_seconds:.2f} s, "
          f"train {seconds:.1f} s", flush=True)
    return result


def timed(load):
    started = time.perf_counter()
    dataset = load()
    return dataset, time.perf_counter() - started


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, help="write the results as JSON here")
    args = p.parse_args()
    # No validation split: nothing here early-stops or tunes, so every image trains.
    results = [run("lenet5 on digits", *timed(lambda: load_dataset("digits",
                                                                   validation_fraction=0)),
                   TrainConfig(epochs=40, batch_size=16, augment=("rotate",)))]
    if SHARED_MNIST.is_dir():
        results.append(run("lenet5 on MNIST 8k/2k",
                           *timed(lambda: load_mnist_test_split(SHARED_MNIST)),
                           TrainConfig(epochs=2, batch_size=32)))
    else:
        print(f"MNIST 8k/2k: skipped, {SHARED_MNIST} is not there")
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))
    return 0 if all(r["passed"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
