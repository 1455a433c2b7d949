"""The learner's last choices, kept in QSettings from one session to the next: the data,
the optimizer, batch size and seed, and the curves' smoothing. The learning rate and
epochs are not among them: they come with the network (its preset, or its file)."""

from __future__ import annotations

from pathlib import Path

from PyQt6.QtCore import QSettings

from cnnviz.core.config import OPTIMIZERS, TrainConfig
from cnnviz.core.presets import DEFAULT_PRESET, get_preset
from cnnviz.data.registry import DATASETS, DEFAULT_DATASET, FOLDER_PREFIX
from cnnviz.qt.session import Session


def restored_dataset(settings: QSettings) -> str:
    """The last dataset, if it is still there (a folder may have gone)."""
    name = str(settings.value("data/name", DEFAULT_DATASET))
    if name in DATASETS or (name.startswith(FOLDER_PREFIX)
                            and Path(name.removeprefix(FOLDER_PREFIX)).is_dir()):
        return name
    return DEFAULT_DATASET


def restored_config(settings: QSettings) -> TrainConfig:
    """The default preset's settings, with the learner's last optimizer, batch and seed."""
    preset = get_preset(DEFAULT_PRESET)
    optimizer = str(settings.value("config/optimizer", "adam"))
    return TrainConfig(optimizer=optimizer if optimizer in OPTIMIZERS else "adam",
                       learning_rate=preset.learning_rate, epochs=preset.epochs,
                       batch_size=max(1, settings.value("config/batch_size", 32, type=int)),
                       seed=max(0, settings.value("config/seed", 0, type=int)))


def restored_smoothing(settings: QSettings) -> float:
    return min(max(settings.value("curves/smoothing", 0.9, type=float), 0.0), 0.99)


def remember(settings: QSettings, session: Session, smoothing: float) -> None:
    config = session.config
    settings.setValue("data/name", session.dataset_name)
    settings.setValue("config/optimizer", config.optimizer)
    settings.setValue("config/batch_size", config.batch_size)
    settings.setValue("config/seed", config.seed)
    settings.setValue("curves/smoothing", smoothing)
