"""Regenerate the Compress workspace's screenshots in docs/ from a real run.

Opens the window as `cnnviz` does at 1280 x 720 (light theme, settings in a throw-away
file), trains the keras-cifar10 network on the built-in shapes data for a few epochs,
then in the Compress tab moves the sparsity slider, runs the sensitivity sweep and
quantizes. Run it under Xvfb so the window system paints:

    xvfb-run -a -s "-screen 0 1280x720x24" uv run python docs/compress_screenshots.py

Writes docs/compress-workspace.png, docs/compress-kernels.png, docs/compress-sweep.png,
docs/compress-speed.png, docs/compress-histogram.png, docs/compress-quantized.png and
docs/compress-step-int8.png (the Step through view's conv pixel, with its int8 lines).
"""

from __future__ import annotations

import sys

from screenshots import DOCS, open_window, settle, wait

from cnnviz.core.presets import get_preset
from cnnviz.core.snapshot import FINISHED
from cnnviz.qt import dialogs
from cnnviz.qt.widgets.compress import CompressWorkspace
from cnnviz.qt.widgets.step_through.view import StepThroughView

EPOCHS = 3


def workspace_of(window) -> CompressWorkspace:
    """The window's Compress tab."""
    panels = (window.tabs.widget(i) for i in range(window.tabs.count()))
    return next(panel.widget() for panel in panels
                if isinstance(getattr(panel, "widget", lambda: None)(), CompressWorkspace))


def main() -> int:
    app, window, _ = open_window(1280, 720)
    session = window.session
    preset = get_preset("keras-cifar10")
    window.network.reset(window.network.fitted(preset.spec))
    session.set_config(epochs=EPOCHS, learning_rate=preset.learning_rate)
    window.actions.start_pause.trigger()
    wait(app, lambda: session.state == FINISHED and not session.active, limit=900)
    workspace = workspace_of(window)
    model = workspace.model
    window.show_tab(workspace)
    workspace.prune.slider.setValue(70)
    wait(app, lambda: model.preview is not None and model.preview.sparsity == 0.7
         and not model.busy)
    settle(app, 1.0)
    window.grab().save(str(DOCS / "compress-workspace.png"))
    workspace.views.setCurrentWidget(workspace.kernels)
    settle(app, 1.0)
    workspace.views.grab().save(str(DOCS / "compress-kernels.png"))
    workspace.prune.sweep.click()
    wait(app, lambda: model.sweep is not None and not model.busy, limit=600)
    settle(app, 1.0)
    workspace.views.grab().save(str(DOCS / "compress-sweep.png"))
    workspace.prune.speed.click()
    wait(app, lambda: model.speed is not None and not model.busy, limit=600)
    settle(app, 1.0)
    workspace.views.grab().save(str(DOCS / "compress-speed.png"))
    workspace.quantize.scheme.setCurrentIndex(0)  # per tensor: one grid for the layer
    workspace.quantize.activations.setCurrentIndex(1)
    workspace.quantize.run.click()
    wait(app, lambda: model.result is not None and not model.busy, limit=600)
    workspace.views.setCurrentWidget(workspace.grid)
    workspace.grid.layer.setCurrentIndex(1)  # conv2
    settle(app, 1.0)
    workspace.views.grab().save(str(DOCS / "compress-histogram.png"))
    window.show_tab(workspace)
    workspace.views.setCurrentWidget(workspace.layers)
    settle(app, 1.0)
    window.grab().save(str(DOCS / "compress-quantized.png"))
    step = next(panel.widget() for panel in (window.tabs.widget(i)
                                             for i in range(window.tabs.count()))
                if isinstance(getattr(panel, "widget", lambda: None)(), StepThroughView))
    window.show_tab(step)
    wait(app, lambda: step.model.inspection is not None)
    step.model.set_stage(3)  # conv2: its int8 pixel under the float one
    settle(app, 2.0)
    window.grab().save(str(DOCS / "compress-step-int8.png"))
    dialogs.ask_save_changes = lambda *args: dialogs.DISCARD
    window.close()
    window.finish_threads(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
