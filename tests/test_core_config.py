"""TrainConfig: validated with messages a learner can act on; dict round trip."""

import math

import pytest

from cnnviz.core.config import AUGMENTATIONS, OPTIMIZERS, ConfigError, TrainConfig


def test_defaults_are_valid():
    c = TrainConfig()
    assert (c.optimizer, c.learning_rate, c.batch_size, c.epochs, c.seed,
            c.validation_fraction, c.augment) == ("adam", 1e-3, 32, 5, 0, 0.1, ())


def test_round_trip_and_unknown_keys_ignored():
    c = TrainConfig("rmsprop", 0.01, 16, 3, 42, 0.0, ["flip", "noise"])
    assert c.augment == ("flip", "noise")  # lists become tuples (hashable, frozen)
    d = c.to_dict()
    assert d == {"optimizer": "rmsprop", "learning_rate": 0.01, "batch_size": 16, "epochs": 3,
                 "seed": 42, "validation_fraction": 0.0, "augment": ["flip", "noise"]}
    assert TrainConfig.from_dict(d) == c
    assert TrainConfig.from_dict({**d, "future_option": 1}) == c
    assert TrainConfig.from_dict({}) == TrainConfig()


def test_every_optimizer_and_augmentation_is_accepted():
    for name in OPTIMIZERS:
        assert TrainConfig(optimizer=name).optimizer == name
    assert TrainConfig(augment=AUGMENTATIONS).augment == AUGMENTATIONS
    assert TrainConfig(learning_rate=10).learning_rate == 10
    assert TrainConfig(validation_fraction=0).validation_fraction == 0


BAD = [
    ({"optimizer": "sgd"}, "optimizer must be one of adam, sgd-momentum, rmsprop, got 'sgd'"),
    ({"optimizer": "Adam"}, "got 'Adam'"),
    ({"learning_rate": 0}, "learning rate must be in (0, 10], got 0"),
    ({"learning_rate": -0.1}, "learning rate must be in (0, 10], got -0.1"),
    ({"learning_rate": 10.5}, "got 10.5"),
    ({"learning_rate": math.nan}, "got nan"),
    ({"learning_rate": math.inf}, "got inf"),
    ({"learning_rate": "0.01"}, "learning rate must be in (0, 10], got '0.01'"),
    ({"learning_rate": None}, "got None"),
    ({"learning_rate": True}, "learning rate must be in (0, 10], got True"),
    ({"batch_size": 0}, "batch size must be a whole number >= 1, got 0"),
    ({"batch_size": -4}, "batch size must be a whole number >= 1, got -4"),
    ({"batch_size": 32.0}, "batch size must be a whole number >= 1, got 32.0"),
    ({"batch_size": True}, "batch size must be a whole number >= 1, got True"),
    ({"batch_size": "32"}, "got '32'"),
    ({"epochs": 0}, "epochs must be a whole number >= 1, got 0"),
    ({"epochs": 2.5}, "epochs must be a whole number >= 1, got 2.5"),
    ({"epochs": False}, "got False"),
    ({"seed": 1.0}, ("seed must be a whole number", "got 1.0")),
    ({"seed": "0"}, ("seed must be a whole number", "got '0'")),
    ({"seed": True}, ("seed must be a whole number", "got True")),
    ({"validation_fraction": 1.0}, "validation fraction must be in [0, 1), got 1.0"),
    ({"validation_fraction": -0.1}, "validation fraction must be in [0, 1), got -0.1"),
    ({"validation_fraction": math.nan}, "got nan"),
    ({"augment": ("flip", "blur")},
     "unknown augmentation blur (known: flip, shift, rotate, noise)"),
    ({"augment": ("zoom", "flip", "blur")}, "unknown augmentation zoom, blur"),
]


@pytest.mark.parametrize(("kwargs", "message"), BAD,
                         ids=[f"{k}={v!r}" for kw, _ in BAD for k, v in kw.items()])
def test_invalid_values_are_explained(kwargs, message):
    with pytest.raises(ConfigError) as info:
        TrainConfig(**kwargs)
    for fragment in (message,) if isinstance(message, str) else message:
        assert fragment in str(info.value)
    with pytest.raises(ConfigError):  # the same through from_dict (project files)
        TrainConfig.from_dict(kwargs)


@pytest.mark.parametrize("value", ["0.1", None, [0.1]])
def test_non_numeric_validation_fraction_is_a_config_error(value):
    # A hand-edited project file or a script may pass anything; it must be explained,
    # not crash with a TypeError from the comparison.
    with pytest.raises(ConfigError, match="validation fraction must be in"):
        TrainConfig(validation_fraction=value)


def test_negative_seed_is_refused():
    # numpy's seeded generators (dataset splits, the trainer's shuffle) reject negative
    # seeds, so a negative seed must be refused here with a message, not crash later.
    with pytest.raises(ConfigError, match="seed must be a whole number >= 0, got -1"):
        TrainConfig(seed=-1)
    assert TrainConfig(seed=0).seed == 0
