"""Training hyper-parameters, validated with messages a learner can act on."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

from cnnviz.core.i18n import Message, tr
from cnnviz.core.json_text import brief

OPTIMIZERS = ("adam", "sgd-momentum", "rmsprop")
AUGMENTATIONS = ("flip", "shift", "rotate", "noise")
# How the learning rate moves over a run (core.schedules works each one out).
SCHEDULES = ("constant", "step", "exponential", "cosine", "warmup-cosine", "plateau")
MONITORS = ("val_loss", "val_accuracy")  # what early stopping and "plateau" watch
# Upper bounds of the whole-number settings: far past any useful value, low enough that
# every number stays exact in the engine's integers and fits the window's spin boxes.
MAX_BATCH_SIZE = 1 << 16
MAX_EPOCHS = 100_000
MAX_SEED = 2**31 - 1
MAX_LEARNING_RATE = 10.0  # and above 0


class ConfigError(ValueError):
    pass


# The settings' names as error messages say them, in the learner's language.
_LABELS = {"batch_size": Message("batch size"), "epochs": Message("epochs"),
           "seed": Message("seed"), "schedule": Message("schedule"),
           "monitor": Message("monitor"), "early_stopping": Message("early stopping"),
           "restore_best": Message("restore best"), "patience": Message("patience"),
           "decay_epochs": Message("decay epochs"), "warmup_epochs": Message("warmup epochs")}


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class TrainConfig:
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    batch_size: int = 32
    epochs: int = 5
    seed: int = 0
    validation_fraction: float = 0.1
    augment: tuple[str, ...] = ()
    # against overfitting: weight decay (kernels only) and early stopping
    weight_decay: float = 0.0
    early_stopping: bool = False
    monitor: str = "val_loss"
    patience: int = 3
    min_delta: float = 0.0
    restore_best: bool = True
    # the learning-rate schedule: decay_factor and decay_epochs are "x factor every
    # (step) / per (exponential) N epochs", and for "plateau" "x factor after N epochs
    # without improvement"; warmup_epochs is warmup-cosine's linear start
    schedule: str = "constant"
    decay_factor: float = 0.5
    decay_epochs: int = 2
    warmup_epochs: int = 1

    # written to a file only when not their default, so a project that uses none of
    # them is written as before they existed
    OPTIONAL: ClassVar[tuple[str, ...]] = (
        "weight_decay", "early_stopping", "monitor", "patience", "min_delta", "restore_best",
        "schedule", "decay_factor", "decay_epochs", "warmup_epochs")

    def __post_init__(self) -> None:
        if isinstance(self.augment, str):  # "flip,shift" as typed on a command line
            object.__setattr__(self, "augment", tuple(a for a in self.augment.split(",") if a))
        if not isinstance(self.augment, list | tuple) or not all(
                isinstance(a, str) for a in self.augment):
            raise ConfigError(Message("augment must be a list of names ({known}), got {value}",
                                      known=", ".join(AUGMENTATIONS), value=brief(self.augment)))
        object.__setattr__(self, "augment", tuple(self.augment))
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(Message("optimizer must be one of {known}, got {value}",
                                      known=", ".join(OPTIMIZERS), value=repr(self.optimizer)))
        if not (_is_number(self.learning_rate) and 0 < self.learning_rate <= MAX_LEARNING_RATE):
            raise ConfigError(Message("learning rate must be in (0, {most:g}], got {value}",
                                      most=MAX_LEARNING_RATE, value=repr(self.learning_rate)))
        for name, low, high in (("batch_size", 1, MAX_BATCH_SIZE), ("epochs", 1, MAX_EPOCHS),
                                ("seed", 0, MAX_SEED)):
            value, label = getattr(self, name), _LABELS[name]
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(Message("{name} must be a whole number >= {low}, got {value}",
                                          name=label, low=low, value=brief(value)))
            if value > high:
                raise ConfigError(Message("{name} must be at most {high:,}, got {value:,}",
                                          name=label, high=high, value=value))
        if not (_is_number(self.validation_fraction) and 0 <= self.validation_fraction < 1):
            raise ConfigError(Message("validation fraction must be in [0, 1), got {value}",
                                      value=repr(self.validation_fraction)))
        unknown = [a for a in self.augment if a not in AUGMENTATIONS]
        if unknown:
            raise ConfigError(Message("unknown augmentation {names} (known: {known})",
                                      names=", ".join(unknown), known=", ".join(AUGMENTATIONS)))
        self._check_cures()

    def _check_cures(self) -> None:
        """Weight decay, early stopping and the schedule."""
        for name, choices in (("schedule", SCHEDULES), ("monitor", MONITORS)):
            if getattr(self, name) not in choices:
                raise ConfigError(Message("{name} must be one of {known}, got {value}",
                                          name=_LABELS[name], known=", ".join(choices),
                                          value=brief(getattr(self, name))))
        for name in ("early_stopping", "restore_best"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(Message("{name} must be true or false, got {value}",
                                          name=_LABELS[name], value=brief(getattr(self, name))))
        if not (_is_number(self.weight_decay) and 0 <= self.weight_decay <= 1):
            raise ConfigError(Message("weight decay must be in [0, 1], got {value}",
                                      value=brief(self.weight_decay)))
        if not (_is_number(self.min_delta) and 0 <= self.min_delta < math.inf):
            raise ConfigError(Message("min delta must be a number >= 0, got {value}",
                                      value=brief(self.min_delta)))
        if not (_is_number(self.decay_factor) and 0 < self.decay_factor < 1):
            raise ConfigError(Message("the decay factor must be in (0, 1): each decay "
                                      "multiplies the learning rate by it, got {value}",
                                      value=brief(self.decay_factor)))
        for name, low in (("patience", 1), ("decay_epochs", 1), ("warmup_epochs", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not (
                    low <= value <= MAX_EPOCHS):
                raise ConfigError(Message("{name} must be a whole number of epochs from {low} "
                                          "to {high:,}, got {value}", name=_LABELS[name],
                                          low=low, high=MAX_EPOCHS, value=brief(value)))

    @property
    def watches_validation(self) -> bool:
        """Whether the run's course depends on the validation metrics."""
        return self.early_stopping or self.schedule == "plateau"

    def validation_problem(self, validation_images: int) -> str | None:
        """Why this config cannot train on data with that many validation images."""
        if self.watches_validation and not validation_images:
            return tr("early stopping and the plateau schedule watch the validation set, "
                      "and it is empty: set a validation fraction above 0")
        return None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["augment"] = list(self.augment)
        default = TrainConfig()
        for name in self.OPTIONAL:
            if d[name] == getattr(default, name):
                del d[name]
        return d

    @classmethod
    def from_dict(cls, data: Any) -> TrainConfig:
        if not isinstance(data, dict):
            raise ConfigError(Message("the training config must be a JSON object, not {kind}",
                                      kind=type(data).__name__))
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
