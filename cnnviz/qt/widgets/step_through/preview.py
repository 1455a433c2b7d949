"""Running the step-through on its own (each close-up module's `__main__`): the
worked-example network, trained for an epoch on digits-32, stepped through at one stage
for the first test image (no controller: another probe image is not computed)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyqtgraph as pg

import cnnviz.engine  # noqa: F401  (sets XLA's flags before anything imports JAX)
from cnnviz.core.config import TrainConfig
from cnnviz.core.network import NetworkSpec
from cnnviz.core.presets import get_preset
from cnnviz.data.registry import load_dataset
from cnnviz.engine.inspect import Inspector, host_tree, optimizer_numbers
from cnnviz.engine.saliency import Looker
from cnnviz.engine.trainer import Trainer
from cnnviz.qt.live_model import LiveModel
from cnnviz.qt.step_model import StepModel
from cnnviz.qt.widgets.step_through.view import StepThroughView


def preview(stage: Callable[[StepModel], int], spec: NetworkSpec | None = None) -> None:
    """`spec`: another network for the same data than the worked example."""
    app = pg.mkQApp("cnnviz step-through preview")
    pg.setConfigOptions(imageAxisOrder="row-major", antialias=False)
    data = load_dataset("digits-32")
    spec = spec or get_preset("worked-example").spec
    trainer = Trainer(spec, data, TrainConfig(learning_rate=3e-3, epochs=1))
    for _ in trainer.run():
        pass
    live, model = LiveModel(), StepModel()
    live.set_dataset(data)
    numbers = optimizer_numbers("adam", host_tree(trainer.opt_state))
    image, label = data.x_test[0], int(data.y_test[0])
    inspection = Inspector(spec).inspect(trainer.params, image[None], np.array([label]),
                                         trainer.history.steps, numbers)
    model.show(inspection, None, Looker(spec).look(trainer.params, image), False,
               "test image 0", data.class_names)
    view = StepThroughView(model, live)
    view.resize(1100, 700)
    view.show()
    model.set_stage(stage(model))
    app.exec()
