"""Running one live view on its own (each view module's `__main__`): a short real
training run of the `tiny` network on the built-in shapes data feeds it, and a new probe
image is computed at rest, as the app does after training."""

from __future__ import annotations

from collections.abc import Callable

import pyqtgraph as pg
from PyQt6.QtWidgets import QWidget

import cnnviz.engine  # noqa: F401  (sets XLA's flags before anything imports JAX)
from cnnviz.core.commands import SetProbe
from cnnviz.core.config import TrainConfig
from cnnviz.core.presets import get_preset
from cnnviz.data.registry import load_dataset
from cnnviz.engine.probe import Prober
from cnnviz.engine.trainer import Trainer
from cnnviz.qt.live_model import LiveModel


def preview(make_view: Callable[[LiveModel], QWidget], epochs: int = 1) -> None:
    app = pg.mkQApp("cnnviz preview")
    dataset = load_dataset("shapes")
    spec = get_preset("tiny").spec
    model = LiveModel()
    model.set_dataset(dataset)
    trainer = Trainer(spec, dataset, TrainConfig(epochs=epochs))
    trainer.command(SetProbe(model.probe))
    for snap in trainer.run():
        if snap.views is not None:
            model.show(snap.views)
    prober = Prober(spec, dataset)
    model.probe_requested.connect(lambda probe: model.show(prober.views_at_rest(
        trainer.params, probe, trainer.history.steps, trainer.config.batch_size)))
    view = make_view(model)
    view.resize(1100, 700)
    view.show()
    app.exec()
