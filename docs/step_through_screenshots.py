"""Regenerate docs/step-*.png: the Step through view's close-ups, from a real run.

Opens the window as `cnnviz` does (light theme, settings in a throw-away file), trains
the worked-example preset on the built-in digits-32 data to the end, and saves the Step
through tab at each stage (after Apply one step on the backward page). Also saves the
whole window at 1280x720 and at 2400x1350 to /tmp, to look at. Run it under Xvfb:

    xvfb-run -a -s "-screen 0 2560x1440x24" uv run python docs/step_through_screenshots.py
"""

from __future__ import annotations

import sys
from pathlib import Path

from screenshots import open_window, settle, wait  # docs/screenshots.py, beside this script

from cnnviz.core.presets import get_preset
from cnnviz.core.snapshot import FINISHED
from cnnviz.qt import dialogs
from cnnviz.qt.widgets.step_through.view import StepThroughView

DOCS = Path(__file__).resolve().parent
IMAGE = 3  # a test image (a 7) whose conv pixels are worth reading


def main() -> int:
    app, window, live = open_window(1600, 1000)
    session = window.session
    session.select_dataset("digits-32")
    wait(app, lambda: session.dataset is not None and session.dataset.name == "digits-32")
    preset = get_preset("worked-example")
    window.network.edit(preset.spec.layers, "Use preset worked-example")
    session.set_config(learning_rate=preset.learning_rate, epochs=preset.epochs)
    window.actions.start_pause.trigger()
    wait(app, lambda: session.state == FINISHED and not session.active)
    view = window.findChild(StepThroughView)
    window.show_tab(view)
    live.model.choose(IMAGE)
    m = view.model
    wait(app, lambda: m.inspection is not None and m.inspection.step == session.history.steps
         and m.caption == f"test image {IMAGE}" and m.looks is not None)
    m.select(0, (9, 13, 1))  # a stroke's edge: a strong response
    m.select(1, (4, 6, 1))
    m.select(2, (4 * 15 * 4 + 6 * 4 + 1,))  # where maxpool1's pixel lands
    for stage, name in ((0, "input"), (1, "conv"), (2, "pool"), (3, "flatten"), (4, "dense"),
                        (m.softmax_stage, "softmax"), (m.looks_stage, "looks")):
        m.set_stage(stage)
        settle(app)
        view.grab().save(str(DOCS / f"step-{name}.png"))
    m.set_stage(m.backward_stage)
    m.select_weight(0, "kernel", (1, 1, 0, 1))
    m.request_apply()
    wait(app, lambda: m.applied is not None)
    settle(app)
    view.grab().save(str(DOCS / "step-backward.png"))
    m.set_stage(1)
    for size in ((1280, 720), (2400, 1350)):
        window.resize(*size)
        settle(app, 1.5)
        window.grab().save(f"/tmp/step-window-{size[0]}x{size[1]}.png")
    dialogs.ask_save_changes = lambda *args: dialogs.DISCARD
    window.close()
    window.finish_threads(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
