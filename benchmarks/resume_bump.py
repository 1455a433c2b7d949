"""The loss bump that continuing a run with a fresh optimizer makes, and that keeping
its state removes: the tiny preset on `shapes`, trained one epoch, then continued for a
second one (as Start after more epochs does) three ways: never interrupted, continued
with the state the first epoch left, and continued with a fresh Adam (what cnnviz did
before it kept the state). Prints, per seed and as medians, how much higher the training
loss of the first `--steps` steps after continuing is than the uninterrupted run's:
    uv run python benchmarks/resume_bump.py --seeds 5
"""

import argparse
import statistics
import sys
from dataclasses import replace
from pathlib import Path

import cnnviz.engine  # noqa: F401  (sets XLA flags, so it comes before jax)

# isort: split
import numpy as np

from cnnviz.core.config import TrainConfig
from cnnviz.core.presets import get_preset
from cnnviz.data.registry import load_dataset
from cnnviz.engine.cpu import this_cpu
from cnnviz.engine.inspect import host_tree
from cnnviz.engine.trainer import Trainer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import reference  # noqa: E402  (the tests' helper that cuts a dataset down)


def losses_after(first: int, steps: int, seed: int, data, kept: bool | None) -> np.ndarray:
    """The step losses of steps first+1 .. first+steps: uninterrupted (kept None), or
    continued after `first` steps with the kept optimizer state (True) or a fresh one."""
    preset = get_preset("tiny")
    config = TrainConfig(learning_rate=preset.learning_rate, batch_size=32, epochs=2, seed=seed)
    options = {"snapshot_interval": 1.0}
    if kept is None:
        trainer = Trainer(preset.spec, data, config, **options)
    else:
        before = Trainer(preset.spec, data, replace(config, epochs=1), **options)
        list(before.run())
        assert before.history.steps == first
        trainer = Trainer(preset.spec, data, config, params=before.numpy_params(),
                          history=before.history,
                          opt_state=host_tree(before.opt_state) if kept else None, **options)
    list(trainer.run())
    return np.asarray(trainer.history.step_loss[first:first + steps])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10, help="steps after continuing")
    parser.add_argument("--images", type=int, default=1024, help="training images")
    args = parser.parse_args()
    data = reference.subset(load_dataset("shapes", seed=0), args.images, 64)
    first = args.images // 32
    print(f"CPU: {this_cpu().model}; tiny preset on shapes ({args.images} images, batch 32), "
          f"continued after {first} steps; mean loss excess over the first {args.steps} "
          "steps after continuing, against the uninterrupted run")
    kept_excess, fresh_excess, level = [], [], []
    for seed in range(args.seeds):
        straight = losses_after(first, args.steps, seed, data, None)
        level.append(float(straight.mean()))
        kept = losses_after(first, args.steps, seed, data, True)
        fresh = losses_after(first, args.steps, seed, data, False)
        kept_excess.append(float(np.mean(kept - straight)))
        fresh_excess.append(float(np.mean(fresh - straight)))
        print(f"seed {seed}: uninterrupted {straight.mean():.4f}, kept state "
              f"{kept_excess[-1]:+.4f}, fresh Adam {fresh_excess[-1]:+.4f} "
              f"(max step {np.max(fresh - straight):+.4f})")
    print(f"median excess: kept state {statistics.median(kept_excess):+.4f}, fresh Adam "
          f"{statistics.median(fresh_excess):+.4f} (the uninterrupted run's loss there: "
          f"{statistics.median(level):.4f})")


if __name__ == "__main__":
    main()
