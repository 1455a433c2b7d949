"""The learner's own numbers, as a lesson's text quotes them ({shape[conv1]}, {loss}).

Nothing is computed here: the shapes and parameter counts are the network analysis's
(core.network), the loss and accuracy the trainer's (the history, or the run's latest
snapshot when it is further on). This only picks them and writes them as the rest of the
window does (shapes as 30 × 30 × 4, counts with thousands separators, accuracy in %).
"""

from __future__ import annotations

from cnnviz.core.config import TrainConfig
from cnnviz.core.history import History
from cnnviz.core.layers import AvgPool2D, Conv2D, MaxPool2D
from cnnviz.core.network import Analysis, NetworkSpec
from cnnviz.core.snapshot import Snapshot


def _shape(shape: tuple[int, ...] | None) -> str | None:
    """As the network panel writes it (30 × 30 × 4), for the text points at it."""
    return " × ".join(map(str, shape)) if shape is not None else None


def _percent(fraction: float | None) -> str | None:
    return None if fraction is None else f"{100 * fraction:.1f} %"


def steps_trained(history: History, latest: Snapshot | None) -> int:
    """Batches trained so far: the history's, or the running run's if it is further on."""
    return max(history.steps, latest.step if latest is not None else 0)


def epochs_trained(history: History, latest: Snapshot | None) -> int:
    done = len(history.epochs)
    if latest is not None and latest.steps_per_epoch:
        done = max(done, latest.step // latest.steps_per_epoch)
    return done


def quote_values(spec: NetworkSpec, analysis: Analysis, config: TrainConfig,
                 dataset: str, classes: int | None, history: History,
                 latest: Snapshot | None) -> dict[str, object]:
    """Every quote of lesson_vocabulary.QUOTES and LAYER_QUOTES; None where there is no
    such number now (no loss before training), which the text shows as a dash."""
    infos = analysis.layers
    if latest is not None and latest.step > history.steps and latest.loss is not None:
        loss, accuracy = latest.loss, latest.accuracy
    elif history.steps:
        loss, accuracy = history.step_loss[-1], history.step_accuracy[-1]
    else:
        loss = accuracy = None
    val = history.epochs[-1].get("val_accuracy") if history.epochs else None
    if latest is not None and latest.epoch_done and latest.val_accuracy is not None:
        val = latest.val_accuracy
    values: dict[str, object] = {
        "input": _shape(spec.input_shape),
        "output": _shape(analysis.output_shape),
        "layers": len(spec.layers),
        "total_params": f"{analysis.total_params:,}",
        "dataset": dataset,
        "classes": classes,
        "optimizer": config.optimizer,
        "learning_rate": f"{config.learning_rate:g}",
        "batch_size": config.batch_size,
        "steps": steps_trained(history, latest),
        "epochs": epochs_trained(history, latest),
        "loss": None if loss is None else f"{loss:.3f}",
        "accuracy": _percent(accuracy),
        "val_accuracy": _percent(val),
        "shape": {i.name: _shape(i.out_shape) for i in infos},
        "in_shape": {i.name: _shape(i.in_shape) for i in infos},
        "params": {i.name: f"{i.params:,}" for i in infos},
        "kernel": {i.name: (i.layer.kernel_size if isinstance(i.layer, Conv2D) else
                            i.layer.pool_size) for i in infos
                   if isinstance(i.layer, Conv2D | MaxPool2D | AvgPool2D)},
        "filters": {i.name: i.layer.filters for i in infos if isinstance(i.layer, Conv2D)},
    }
    return values
