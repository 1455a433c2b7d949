"""Shared helpers for the GUI tests (no tests here): a tiny dataset that loads at once and
a main window wired to it, with a throw-away settings file and non-blocking dialogs."""

from __future__ import annotations

import numpy as np
from PyQt6.QtCore import QSettings

from cnnviz.core.layers import Conv2D, Dense, Flatten, MaxPool2D
from cnnviz.core.network import NetworkSpec
from cnnviz.data.dataset import Dataset
from cnnviz.qt import dialogs
from cnnviz.qt.main_window import MainWindow

CLASSES = ("a", "b", "c")
# For tests that train: the fewer layers, the sooner JAX has compiled them.
SMALL_NET = NetworkSpec((16, 16, 1), (Conv2D(4, 3), MaxPool2D(2), Flatten(), Dense(3, "none")))


def tiny_dataset(n_train: int = 96, size: int = 16) -> Dataset:
    """Random 16x16 grey images in 3 classes: enough to train on, quick to compile."""
    rng = np.random.default_rng(0)

    def split(n: int) -> tuple[np.ndarray, np.ndarray]:
        return (rng.integers(0, 256, (n, size, size, 1), dtype=np.uint8),
                rng.integers(0, len(CLASSES), n).astype(np.int32))

    x, y = split(n_train)
    xv, yv = split(32)
    xt, yt = split(32)
    return Dataset("tiny", CLASSES, x, y, xv, yv, xt, yt)


def make_window(qtbot, tmp_path, monkeypatch, dataset: Dataset | None = None,
                settings_name: str = "settings.ini") -> MainWindow:
    """A shown window whose data loads `dataset` (whatever name is asked for)."""
    dataset = dataset or tiny_dataset()
    monkeypatch.setattr(dialogs, "ask_save_changes", lambda *args: dialogs.DISCARD)
    monkeypatch.setattr(dialogs, "confirm", lambda *args: True)  # go ahead, whatever it asks
    settings = QSettings(str(tmp_path / settings_name), QSettings.Format.IniFormat)
    window = MainWindow(settings, load=lambda name, **kwargs: dataset)
    qtbot.addWidget(window)
    window.show()
    # JAX too, so that no import is still running when the test ends
    qtbot.waitUntil(lambda: window.session.dataset is not None
                    and window.worker.device is not None, timeout=30_000)
    return window


def wait_idle(qtbot, window: MainWindow, timeout: int = 60_000) -> None:
    """Until no training thread runs any more."""
    qtbot.waitUntil(lambda: not window.session.active, timeout=timeout)
