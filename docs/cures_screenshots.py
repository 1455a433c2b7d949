"""Regenerate the screenshots of overfitting's cures from a real training run.

Opens the window as `cnnviz` does (light theme, settings in a throw-away file), builds a
network with a BatchNorm after each conv, trains it on 100 shapes per class (few enough
to overfit) with weight decay, a warm-up then cosine schedule and early stopping, and saves:

    docs/cures-curves.png     the curves: early stopping's stop and best epoch marked, the
                              learning rate each step trained with
    docs/cures-schedule.png   the training panel's Schedule tab: the rate over the run
    docs/cures-overfitting.png  its Overfitting tab: weight decay, early stopping
    docs/cures-builder.png    the builder: BatchNorm in the list, a frozen layer's lock,
                              trainable and non-trainable counts

    xvfb-run -a -s "-screen 0 1600x1000x24" uv run python docs/cures_screenshots.py
"""

from __future__ import annotations

import sys

from screenshots import DOCS, open_window, settle, wait

from cnnviz.core.layers import BatchNorm, Conv2D, Dense, Flatten, MaxPool2D
from cnnviz.core.network import NetworkSpec
from cnnviz.qt import dialogs

# momentum 0.9, not Keras' 0.99: a short run's few steps must carry the moving averages
# to the data's statistics, or evaluation normalises with numbers far from them
NETWORK = NetworkSpec((28, 28, 1), (
    Conv2D(16, 3), BatchNorm(0.9), MaxPool2D(2), Conv2D(32, 3), BatchNorm(0.9), MaxPool2D(2),
    Flatten(), Dense(128), Dense(5, "none")))


def main() -> int:
    app, window, _ = open_window(1280, 720)
    session = window.session
    window.network.reset(NETWORK)
    session.set_per_class(100)
    session.set_config(epochs=40, learning_rate=3e-3, weight_decay=1e-4,
                       early_stopping=True, patience=4, schedule="warmup-cosine",
                       warmup_epochs=3)
    window.training_dock.raise_()
    for tab, name in ((window.training.schedule, "schedule"),
                      (window.training.overfitting, "overfitting")):
        window.training.settings.setCurrentWidget(tab)
        settle(app)
        window.training.grab().save(str(DOCS / f"cures-{name}.png"))
    window.actions.start_pause.trigger()
    wait(app, lambda: session.active)
    wait(app, lambda: not session.active, limit=900)
    window.show_tab(window.curves)
    settle(app, 1.5)
    window.curves.grab().save(str(DOCS / "cures-curves.png"))
    window.builder.table.model().toggle_lock(0)  # the first conv frozen, to show its lock
    window.network_dock.raise_()
    window.builder.table.select_row(1)
    settle(app)
    window.builder.grab().save(str(DOCS / "cures-builder.png"))
    dialogs.ask_save_changes = lambda *args: dialogs.DISCARD  # the run is not worth a prompt
    window.close()
    window.finish_threads(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
