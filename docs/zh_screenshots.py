"""Regenerate docs/zh-*.png: the window in Simplified Chinese, from a real run, at 1280x720.

Opens the window as `cnnviz` does for a learner whose system speaks Chinese (light theme,
settings in a throw-away file), trains the default network on the built-in data, pauses
in the middle of the run and saves the whole window (docs/zh-main.png), with the Feature
maps view in front (docs/zh-feature-maps.png) and the Step through view at a conv pixel
(docs/zh-step-through.png); then the pooling lesson's second step, done
(docs/zh-lesson.png). Run it under Xvfb on a projector-sized screen:

    xvfb-run -a -s "-screen 0 1280x720x24" uv run python docs/zh_screenshots.py
"""

from __future__ import annotations

from pathlib import Path

from PyQt6.QtWidgets import QDockWidget
from screenshots import open_window, pause_mid_run, settle, wait  # docs/screenshots.py

from cnnviz.core import i18n
from cnnviz.qt import dialogs
from cnnviz.qt.language import install_language
from cnnviz.qt.lessons import DOCK_NAME
from cnnviz.qt.widgets.step_through.view import StepThroughView

DOCS = Path(__file__).resolve().parent
LANGUAGE = "zh_CN"
SIZE = (1280, 720)
CONV_PIXEL = (12, 12, 0)  # conv1's output (row, column, channel) the step-through explains
LESSON, STEP = "pooling", 1  # the lesson and its step (from 0) shown done


def main() -> int:
    i18n.install(LANGUAGE)  # before the window is built: panels write their text then
    app, window, live = open_window(*SIZE, lambda _, live: live.model.views is not None)
    install_language(app, LANGUAGE)  # Qt's own strings too
    session = window.session
    pause_mid_run(app, window, live)
    window.training_dock.raise_()
    settle(app, 1.5)
    save(window, "main")
    window.network_dock.raise_()
    window.show_tab(live.views["Feature maps"])
    settle(app, 1.5)
    save(window, "feature-maps")
    view = window.findChild(StepThroughView)
    window.show_tab(view)
    m = view.model
    wait(app, lambda: m.inspection is not None and m.inspection.step == session.history.steps)
    m.select(0, CONV_PIXEL)
    m.set_stage(1)  # conv1: the formula with this pixel's numbers
    settle(app, 1.5)
    save(window, "step-through")
    window.actions.stop.trigger()
    wait(app, lambda: not session.active)
    lesson(app, window, live)
    dialogs.ask_save_changes = lambda *args: dialogs.DISCARD  # nothing here to keep
    window.close()
    window.finish_threads(30)
    return 0


def lesson(app, window, live) -> None:
    """The lesson's step done through its own "Show me", the lessons dock open, the
    views showing the lesson's data."""
    dock = window.findChild(QDockWidget, DOCK_NAME)
    dock.show()
    model = dock.widget().widget().model
    model.open(next(x for x in model.catalogue.lessons if x.id.endswith(LESSON)))
    wait(app, lambda: window.session.dataset is not None)  # the lesson's data
    model.go(STEP)
    model.show_me()
    wait(app, lambda: model.passed(STEP) and live.model.views is not None and tuple(
        live.model.views.class_names) == tuple(window.session.dataset.class_names))
    window.show_tab(window.curves)
    settle(app, 1.5)
    save(window, "lesson")


def save(window, name: str) -> None:
    window.grab().save(str(DOCS / f"zh-{name}.png"))


if __name__ == "__main__":
    raise SystemExit(main())
