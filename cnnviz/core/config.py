"""Training hyper-parameters, validated with messages a learner can act on."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

OPTIMIZERS = ("adam", "sgd-momentum", "rmsprop")
AUGMENTATIONS = ("flip", "shift", "rotate", "noise")


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
        object.__setattr__(self, "augment", tuple(self.augment))
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, "
                              f"got {self.optimizer!r}")
        if not (_is_number(self.learning_rate) and 0 < self.learning_rate <= 10):
            raise ConfigError(f"learning rate must be in (0, 10], got {self.learning_rate!r}")
        for name in ("batch_size", "epochs"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name.replace('_', ' ')} must be a whole number >= 1, "
                                  f"got {value!r}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise ConfigError(f"seed must be a whole number >= 0, got {self.seed!r}")
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
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
