"""Fine-tuning against training from scratch on 10 images per class.

Each pair trains the `tiny` network (conv1, conv2, dense1, then the head dense2) on 10
images per class of a target, from fresh weights and from weights pre-trained on a
source (core.fine_tune's plan: a new head when the classes differ), once with every
layer before the head frozen (the default) and once with the two conv layers frozen
only (dense1 trains again), all with the same settings (learning rate 0.01, batch 16,
30 epochs, as Train > Examples > Fine-tuning) and seed; the seed draws the slice, the
fresh weights and the batches. Reported: test accuracy on the target's whole test
split, the median of 3 seeds and each seed's.

- MNIST (the 10,000 test images of shared/data/mnist split 8,000 / 2,000; skipped when
  absent, the built-in digits then stand in) from the built-in digits (the same ten
  classes: the head is kept) and from shapes (a new head);
- MNIST 5-9 from MNIST 0-4 (other classes of the same kind of images: a new head);
- outlines from shapes, the built-in pair of the one-click example.

    uv run python benchmarks/fine_tuning.py [--seeds 3] [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

import cnnviz.engine  # noqa: F401  (sets XLA's CPU flags before JAX starts)
from cnnviz.core.config import TrainConfig
from cnnviz.core.fine_tune import needs_new_head, plan_fine_tune
from cnnviz.core.presets import get_preset
from cnnviz.data.dataset import Dataset
from cnnviz.data.per_class import per_class_slice
from cnnviz.data.registry import load_dataset
from cnnviz.data.standard import load_mnist_test_split
from cnnviz.engine.trainer import Trainer, evaluate

SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
PER_CLASS = 10
SLICE = TrainConfig(learning_rate=1e-2, batch_size=16, epochs=30)
PRETRAIN = TrainConfig(learning_rate=3e-3, epochs=6, seed=0)


def classes(dataset: Dataset, keep: list[int], name: str) -> Dataset:
    """Only the images of the classes `keep`, relabelled 0..len(keep) - 1."""
    def split(x, y):
        mask = np.isin(y, keep)
        return x[mask], np.searchsorted(keep, y[mask]).astype(np.int32)

    parts = [split(getattr(dataset, f"x_{s}"), getattr(dataset, f"y_{s}"))
             for s in ("train", "val", "test")]
    return Dataset(name, tuple(dataset.class_names[k] for k in keep),
                   *(a for part in parts for a in part))


def train(spec, dataset: Dataset, config: TrainConfig, params=None):
    trainer = Trainer(spec, dataset, config, params=params)
    for _ in trainer.run():
        pass
    return trainer


def pretrained(source: Dataset):
    spec = get_preset("tiny").spec.adapted(source.input_shape, source.num_classes)
    started = time.perf_counter()
    trainer = train(spec, source, PRETRAIN)
    _, accuracy = evaluate(spec, trainer.params, source.x_test, source.y_test)
    print(f"  pre-trained on {source.name}: test accuracy {accuracy:.1%} "
          f"({time.perf_counter() - started:.0f} s)", flush=True)
    return spec, trainer.numpy_params()


def compare(label: str, source: Dataset, target: Dataset, seeds: int) -> dict:
    print(f"{label}:", flush=True)
    spec, weights = pretrained(source)
    fresh = get_preset("tiny").spec.adapted(target.input_shape, target.num_classes)
    new_head = needs_new_head(source.class_names, target.class_names)
    accuracy: dict[str, list[float]] = {"scratch": [], "fine_tuned": [], "convs_frozen": []}
    for seed in range(seeds):
        data = per_class_slice(target, PER_CLASS, seed)
        config = replace(SLICE, seed=seed)
        model = train(fresh, data, config)
        accuracy["scratch"].append(evaluate(fresh, model.params, data.x_test, data.y_test)[1])
        for key, frozen in (("fine_tuned", None), ("convs_frozen", 2)):
            plan = plan_fine_tune(spec, weights, target.input_shape, target.num_classes,
                                  new_head=new_head, frozen=frozen, seed=seed)
            model = train(plan.spec, data, config, plan.weights)
            accuracy[key].append(evaluate(plan.spec, model.params, data.x_test,
                                          data.y_test)[1])
        print(f"  seed {seed}: scratch {accuracy['scratch'][-1]:.1%}, fine-tuned "
              f"{accuracy['fine_tuned'][-1]:.1%}, convs frozen only "
              f"{accuracy['convs_frozen'][-1]:.1%} (head {'new' if new_head else 'kept'})",
              flush=True)
    result = {"pair": label, "source": source.name, "target": target.name,
              "per_class": PER_CLASS, "test_images": len(target.x_test), "new_head": new_head,
              **{key: [round(a, 4) for a in values] for key, values in accuracy.items()},
              **{f"{key}_median": round(statistics.median(values), 4)
                 for key, values in accuracy.items()}}
    print(f"  median of {seeds} seeds: scratch {result['scratch_median']:.1%}, fine-tuned "
          f"{result['fine_tuned_median']:.1%}, convs frozen only "
          f"{result['convs_frozen_median']:.1%}", flush=True)
    return result


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", help="write the results here as JSON")
    args = parser.parse_args()
    print(f"CPU: {cpu_name()}", flush=True)
    shapes, digits = load_dataset("shapes", seed=0), load_dataset("digits", seed=0)
    if (SHARED_MNIST / "t10k-images-idx3-ubyte.gz").exists():
        mnist = load_mnist_test_split(SHARED_MNIST, seed=0, validation_fraction=0.1)
        pairs = [("mnist from digits", digits, mnist), ("mnist from shapes", shapes, mnist),
                 ("mnist 5-9 from mnist 0-4", classes(mnist, [0, 1, 2, 3, 4], "mnist 0-4"),
                  classes(mnist, [5, 6, 7, 8, 9], "mnist 5-9"))]
    else:
        print("shared MNIST not found: the built-in digits stand in", flush=True)
        pairs = [("digits from shapes", shapes, digits),
                 ("digits 5-9 from digits 0-4", classes(digits, [0, 1, 2, 3, 4], "digits 0-4"),
                  classes(digits, [5, 6, 7, 8, 9], "digits 5-9"))]
    pairs.append(("outlines from shapes", shapes, load_dataset("outlines", seed=0)))
    results = [compare(label, source, target, args.seeds) for label, source, target in pairs]
    if args.out:
        Path(args.out).write_text(json.dumps({"cpu": cpu_name(), "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
