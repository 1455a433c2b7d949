"""The training runs a project keeps, to compare: what each ran (network, data and
settings), its curves, its final figures and, optionally, its weights.

A run is recorded as it trains and kept when the next one begins, so scratch against
fine-tuned, or a network with against without dropout, can be put side by side. Runs are
plain data here; io/project.py saves them, the window and `cnnviz runs` show them.
Everything read back is checked: a project file is outside data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from cnnviz.core.columns import pad, text_width
from cnnviz.core.config import ConfigError, TrainConfig
from cnnviz.core.history import History, HistoryError
from cnnviz.core.i18n import Message, marked, message_of, tr, translate
from cnnviz.core.json_text import brief
from cnnviz.core.layers import Dropout, LayerFormatError, is_frozen
from cnnviz.core.network import NetworkError, NetworkSpec

TRAINED, FINE_TUNED, COMPRESSED = "trained", "fine-tuned", "compressed"
KINDS = (TRAINED, FINE_TUNED, COMPRESSED)
MAX_RUNS = 10_000  # far more than anyone compares; bounds what a file may ask for
MAX_NAME = 200  # characters of a name or a source
MAX_PER_CLASS = 1 << 20  # training images per class a slice may ask for
# The final figures, in the order tables show them: training (the last epoch's mean over
# its batches), validation (at the last epoch's end), test (the final weights).
METRICS = ("loss", "accuracy", "val_loss", "val_accuracy", "test_loss", "test_accuracy")
ACCURACIES = frozenset(("accuracy", "val_accuracy", "test_accuracy"))

Weights = list[dict[str, np.ndarray]]


class RunError(ValueError):
    """A recorded run that cannot be read, and why."""


@dataclass(frozen=True)
class Run:
    """One training run. `number` is unique within its project (from 1) and never reused;
    `source` says in words where its starting weights came from ("" for fresh ones);
    `test_loss` / `test_accuracy` are its final weights' on the test split, None until
    measured (or without test images); `steps_per_epoch` places its epochs' ends on a
    curve of steps. `weights` (None if not kept) are its final ones.

    A compressed model's figures are measured once it is compressed: `val_loss` /
    `val_accuracy`, when not None, are its final weights' on the validation split and
    stand in place of its last epoch's. `own_history` is False when its history is its
    source's (compressed without training after: the project keeps the curves that led
    to it): none of that training is its own, so it has no training figures."""

    number: int
    name: str
    spec: NetworkSpec
    config: TrainConfig
    dataset: str
    history: History = field(default_factory=History)
    per_class: int | None = None
    kind: str = TRAINED
    source: str = ""
    test_loss: float | None = None
    test_accuracy: float | None = None
    steps_per_epoch: int | None = None
    val_loss: float | None = None
    val_accuracy: float | None = None
    own_history: bool = True
    weights: Weights | None = field(default=None, compare=False, repr=False)

    def final(self) -> dict[str, float | None]:
        """The run's final figures by METRICS key: its last epoch's, or the best one's
        when early stopping put that epoch's weights back (validation: those measured
        after compression, if any); None where it has none (no epoch of its own
        finished, no validation or test images)."""
        last = self._final_epoch() if self.own_history else {}
        val_loss, val_accuracy = (_finite_or_none(self.val_loss),
                                  _finite_or_none(self.val_accuracy))
        return {"loss": last.get("loss"), "accuracy": last.get("accuracy"),
                "val_loss": last.get("val_loss") if val_loss is None else val_loss,
                "val_accuracy": last.get("val_accuracy") if val_accuracy is None
                else val_accuracy,
                "test_loss": _finite_or_none(self.test_loss),
                "test_accuracy": _finite_or_none(self.test_accuracy)}

    def training(self) -> History:
        """The training of its own: its history, or none when that is its source's."""
        return self.history if self.own_history else History()

    def _final_epoch(self) -> dict[str, float | None]:
        epochs, halts = self.history.epochs, self.history.halts
        if not epochs:
            return {}
        halt = halts[-1] if halts else None
        if halt is not None and halt.best_step is not None and (
                halt.weights_step == halt.best_step):
            ends = epoch_ends(self)
            if halt.best_step in ends:
                return epochs[ends.index(halt.best_step)]
        return epochs[-1]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON, the weights left out (`has_weights` says whether it had them)."""
        return {"number": self.number, "name": self.name, "kind": self.kind,
                "source": self.source, "dataset": self.dataset, "per_class": self.per_class,
                "network": self.spec.to_dict(), "config": self.config.to_dict(),
                "history": self.history.to_dict(),
                "test_loss": _finite_or_none(self.test_loss),
                "test_accuracy": _finite_or_none(self.test_accuracy),
                "steps_per_epoch": self.steps_per_epoch,
                "val_loss": _finite_or_none(self.val_loss),
                "val_accuracy": _finite_or_none(self.val_accuracy),
                "own_history": self.own_history, "has_weights": self.weights is not None}

    @classmethod
    def from_dict(cls, data: Any) -> Run:
        """The run `data` records (as to_dict writes it), without weights; RunError,
        naming the run, if it is not one."""
        if not isinstance(data, dict):
            raise RunError(Message("a run must be a JSON object, got {value}",
                                   value=brief(data)))
        for key, default in (("has_weights", False), ("own_history", True)):
            if not isinstance(data.get(key, default), bool):
                raise RunError(Message("{key} must be true or false, got {value}", key=key,
                                       value=brief(data.get(key))))
        number = data.get("number")
        if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= (
                1 << 31):
            raise RunError(Message("a run's number must be a whole number from 1, got {value}",
                                   value=brief(number)))
        try:
            return cls(number, _text(data, "name", required=True),
                       NetworkSpec.from_dict(data.get("network")),
                       TrainConfig.from_dict(data.get("config")),
                       _text(data, "dataset", required=True),
                       History.from_dict(data.get("history", {})),
                       check_per_class(data.get("per_class")), _kind(data.get("kind", TRAINED)),
                       _text(data, "source"), _metric(data, "test_loss"),
                       _metric(data, "test_accuracy"), _steps(data.get("steps_per_epoch")),
                       _metric(data, "val_loss"), _metric(data, "val_accuracy"),
                       data.get("own_history", True))
        except (RunError, LayerFormatError, NetworkError, ConfigError, HistoryError,
                TypeError) as exc:
            raise RunError(Message("run {number}: {reason}", number=number,
                                   reason=message_of(exc) or exc)) from None


def _finite_or_none(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _text(data: dict, key: str, required: bool = False) -> str:
    value = data.get(key, None if required else "")
    if not isinstance(value, str) or len(value) > MAX_NAME or (required and not value):
        raise RunError(Message("{key} must be text of 1 to {most} characters, got {value}",
                               key=key, most=MAX_NAME, value=brief(value)))
    return value


def check_per_class(value: object) -> int | None:
    """`value` if it is None (all the training images) or a whole number of training
    images per class, 1 to MAX_PER_CLASS; else RunError."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                              or not 1 <= value <= MAX_PER_CLASS):
        raise RunError(Message("images per class must be a whole number from 1 to {most:,}, "
                               "got {value}", most=MAX_PER_CLASS, value=brief(value)))
    return value


def _steps(value: object) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                              or not 1 <= value <= 1 << 40):
        raise RunError(Message("steps_per_epoch must be a whole number from 1, or null, got "
                               "{value}", value=brief(value)))
    return value


def epoch_ends(run: Run) -> list[int]:
    """The step at which each of the run's epochs ended (where its validation points
    sit on a curve of steps)."""
    epochs = len(run.history.epochs)
    spe = run.steps_per_epoch or (run.history.steps // epochs if epochs else 1)
    return [(i + 1) * spe for i in range(epochs)]


def _kind(value: object) -> str:
    if value not in KINDS:
        raise RunError(Message("kind must be one of {kinds}, got {value}", kinds=", ".join(KINDS),
                               value=brief(value)))
    return value  # type: ignore[return-value]


def _metric(data: dict, key: str) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(
            value):
        raise RunError(Message("{key} must be a number or null, got {value}", key=key,
                               value=brief(value)))
    return float(value)


def runs_to_list(runs: list[Run]) -> list[dict[str, Any]]:
    return [run.to_dict() for run in runs]


def runs_from_list(data: Any) -> list[Run]:
    """The runs a project records: at most MAX_RUNS, their numbers all different."""
    if not isinstance(data, list):
        raise RunError(Message("the runs must be a JSON list, not {kind}",
                               kind=type(data).__name__))
    if len(data) > MAX_RUNS:
        raise RunError(Message("{count:,} runs, more than the {most:,} a project may keep",
                               count=len(data), most=MAX_RUNS))
    runs = [Run.from_dict(item) for item in data]
    numbers = [run.number for run in runs]
    if len(set(numbers)) != len(numbers):
        raise RunError(Message("two runs have the same number"))
    return runs


def next_number(runs: list[Run]) -> int:
    return max((run.number for run in runs), default=0) + 1


def default_name(number: int) -> str:
    return tr("Run {number}", number=number)


def renamed(run: Run, name: str) -> Run:
    """`run` under `name` (stripped); RunError if that is empty or too long."""
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise RunError(Message("a run's name must be 1 to {most} characters", most=MAX_NAME))
    return replace(run, name=name)


def differences(reference: Run, run: Run) -> dict[str, float | None]:
    """`run`'s final figures minus `reference`'s, by METRICS key (None where either has
    none): what a change did."""
    a, b = reference.final(), run.final()
    return {key: None if a[key] is None or b[key] is None else b[key] - a[key]
            for key in METRICS}


def source_text(name: str, dataset: str) -> str:
    """How a run fine-tuned from another network names it: 'Run 1 (shapes)'."""
    return tr("{name} ({dataset})", name=name, dataset=dataset)


def data_text(run: Run) -> str:
    """'digits' or 'digits, 10 per class'."""
    if run.per_class is None:
        return run.dataset
    return tr("{dataset}, {n} per class", dataset=run.dataset, n=run.per_class)


def settings_text(config: TrainConfig) -> str:
    """The settings that tell runs apart, in one short line."""
    text = tr("{optimizer}, lr {rate:g}, batch {batch}, {epochs} epochs, seed {seed}",
              optimizer=config.optimizer, rate=config.learning_rate, batch=config.batch_size,
              epochs=config.epochs, seed=config.seed)
    if config.augment:
        text += tr(", augment {names}", names="+".join(config.augment))
    if config.weight_decay:
        text += tr(", weight decay {value:g}", value=config.weight_decay)
    if config.early_stopping:
        text += tr(", early stopping (patience {n})", n=config.patience)
    if config.schedule != "constant":
        text += tr(", {name} schedule", name=config.schedule)
    return text


def format_metric(key: str, value: float | None, signed: bool = False) -> str:
    """A figure as tables show it: accuracies in % (a difference in percentage points),
    losses to 4 significant digits; a dash for none."""
    if value is None:
        return "—"
    if key in ACCURACIES:
        return f"{100 * value:+.1f}" if signed else f"{100 * value:.1f} %"
    return f"{value:+.4g}" if signed else f"{value:.4g}"


def new_run(runs: list[Run], spec: NetworkSpec, config: TrainConfig, dataset: str,
            history: History, **fields: Any) -> Run:
    """A run to add to `runs`: the next number, named after it unless `fields` name it."""
    number = next_number(runs)
    fields.setdefault("name", default_name(number))
    return Run(number, spec=spec, config=config, dataset=dataset, history=history, **fields)


def with_current(runs: list[Run], spec: NetworkSpec, config: TrainConfig, dataset: str,
                 history: History, per_class: int | None = None,
                 weights: Weights | None = None) -> tuple[list[Run], int | None]:
    """`runs` with a project's current training among them, and that run's number (None
    when nothing was trained): the run that recorded this network's history, or one
    recorded now from it (a file written before runs were kept). Weights without a
    history are a run's only if it recorded them so (a model compressed from weights
    no run had trained)."""
    if not history.steps and weights is None:
        return runs, None
    for run in reversed(runs):
        # a compressed run shares its source's history: only its weights tell it apart
        if run.spec == spec and run.history == history and (
                run.own_history or same_weights(run.weights, weights)):
            return runs, run.number
    if not history.steps:
        return runs, None
    run = new_run(runs, spec, config, dataset, history, per_class=per_class, weights=weights)
    return [*runs, run], run.number


def same_weights(a: Weights | None, b: Weights | None) -> bool:
    """Whether `a` and `b` are the same weights: one object, or equal arrays under the
    same names (as read back from a file). None, no weights, is never the same."""
    if a is None or b is None:
        return False
    return a is b or len(a) == len(b) and all(
        x.keys() == y.keys() and all(np.array_equal(x[k], y[k]) for k in x)
        for x, y in zip(a, b, strict=True))


def frozen_names(spec: NetworkSpec) -> list[str]:
    """The layers training leaves as they are."""
    return [name for name, layer in zip(spec.names, spec.layers, strict=True)
            if is_frozen(layer)]


def about(run: Run) -> str:
    """How the run came about and what it ran with, in one line: its kind and source,
    its frozen layers, its settings."""
    parts = [tr("fine-tuned from {source}", source=run.source) if run.kind == FINE_TUNED
             else tr("compressed from {source}", source=run.source) if run.kind == COMPRESSED
             else tr("from {source}", source=run.source) if run.source else tr("from scratch")]
    frozen = frozen_names(run.spec)
    if frozen:
        parts.append(tr("frozen: {names}", names=", ".join(frozen)))
    rates = [f"{layer.rate:g}" for layer in run.spec.layers if isinstance(layer, Dropout)]
    if rates:
        parts.append(tr("dropout {rates}", rates=", ".join(rates)))
    parts.append(settings_text(run.config))
    return tr("; ").join(parts)


HEADERS = {"loss": marked("train loss"), "accuracy": marked("train acc"),
           "val_loss": marked("val loss"), "val_accuracy": marked("val acc"),
           "test_loss": marked("test loss"), "test_accuracy": marked("test acc")}


def runs_table(runs: list[Run], against: Run | None = None) -> str:
    """The runs as a text table: number, name, data, epochs and the final figures (with
    `against`, each figure's difference to that run's instead), then a line per run on
    how it came about."""
    head = ["#", tr("name"), tr("data"), tr("epochs"), *(translate(HEADERS[k]) for k in METRICS)]
    rows = []
    for run in runs:
        figures = (differences(against, run) if against is not None else run.final())
        rows.append([str(run.number), run.name, data_text(run),
                     str(len(run.training().epochs)),
                     *(format_metric(k, figures[k], signed=against is not None)
                       for k in METRICS)])
    widths = [max(text_width(row[i]) for row in (head, *rows)) for i in range(len(head))]
    lines = ["  ".join(pad(cell, w, right=i >= 3)
                       for i, (cell, w) in enumerate(zip(row, widths, strict=True))).rstrip()
             for row in (head, *rows)]
    lines += [f"{run.number:>{widths[0]}}  {about(run)}" for run in runs]
    return "\n".join(lines)
