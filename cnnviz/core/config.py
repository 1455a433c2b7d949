"""Training hyper-parameters, validated with messages a learner can act on."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from cnnviz.core.i18n import tr
from cnnviz.core.json_text import brief

OPTIMIZERS = ("adam", "sgd-momentum", "rmsprop")
AUGMENTATIONS = ("flip", "shift", "rotate", "noise")
# Upper bounds of the whole-number settings: far past any useful value, low enough that
# every number stays exact in the engine's integers and fits the window's spin boxes.
MAX_BATCH_SIZE = 1 << 16
MAX_EPOCHS = 100_000
MAX_SEED = 2**31 - 1


class ConfigError(ValueError):
    pass


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

    def __post_init__(self) -> None:
        if isinstance(self.augment, str):  # "flip,shift" as typed on a command line
            object.__setattr__(self, "augment", tuple(a for a in self.augment.split(",") if a))
        if not isinstance(self.augment, list | tuple) or not all(
                isinstance(a, str) for a in self.augment):
            raise ConfigError(tr("augment must be a list of names ({known}), got {value}",
                                 known=", ".join(AUGMENTATIONS), value=brief(self.augment)))
        object.__setattr__(self, "augment", tuple(self.augment))
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, "
                              f"got {self.optimizer!r}")
        if not (_is_number(self.learning_rate) and 0 < self.learning_rate <= 10):
            raise ConfigError(f"learning rate must be in (0, 10], got {self.learning_rate!r}")
        for name, low, high in (("batch_size", 1, MAX_BATCH_SIZE), ("epochs", 1, MAX_EPOCHS),
                                ("seed", 0, MAX_SEED)):
            value, name = getattr(self, name), name.replace("_", " ")
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(tr("{name} must be a whole number >= {low}, got {value}",
                                     name=name, low=low, value=brief(value)))
            if value > high:
                raise ConfigError(tr("{name} must be at most {high:,}, got {value:,}",
                                     name=name, high=high, value=value))
        if not (_is_number(self.validation_fraction) and 0 <= self.validation_fraction < 1):
            raise ConfigError("validation fraction must be in [0, 1), "
                              f"got {self.validation_fraction!r}")
        unknown = [a for a in self.augment if a not in AUGMENTATIONS]
        if unknown:
            raise ConfigError(f"unknown augmentation {', '.join(unknown)} "
                              f"(known: {', '.join(AUGMENTATIONS)})")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["augment"] = list(self.augment)
        return d

    @classmethod
    def from_dict(cls, data: Any) -> TrainConfig:
        if not isinstance(data, dict):
            raise ConfigError(tr("the training config must be a JSON object, not {kind}",
                                 kind=type(data).__name__))
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
