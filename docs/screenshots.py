"""Regenerate the screenshots in docs/ from a real training run.

Opens the window as `cnnviz` does (light theme, settings in a throw-away file), trains
the default network on the built-in data, pauses in the middle of the run and saves
the whole window plus each live view. Run it under Xvfb so the window system paints:

    xvfb-run -a -s "-screen 0 2560x1440x24" uv run python docs/screenshots.py

Writes docs/screenshot-main.png, docs/screenshot-all-views.png, docs/view-*.png, and the
window on projectors: docs/screenshot-1280x720.png, docs/screenshot-1024x768.png and
docs/screenshot-presentation.png.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from PyQt6.QtCore import QSettings, Qt
from PyQt6.QtWidgets import QApplication

from cnnviz.core.snapshot import PAUSED
from cnnviz.qt import dialogs
from cnnviz.qt.app import build_window
from cnnviz.qt.live_views import BIG, DOCKS, TABS
from cnnviz.qt.theme import apply_theme
from cnnviz.qt.widgets.draw_canvas import stamp_segment

DOCS = Path(__file__).resolve().parent
PAUSE_AT_STEP = 700  # the middle of the default run: filters and maps have taken shape


def settle(app: QApplication, seconds: float = 0.6) -> None:
    """Let pending paints and computations at rest land."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.01)


def wait(app: QApplication, done, limit: float = 300.0) -> None:
    end = time.perf_counter() + limit
    while not done():
        if time.perf_counter() > end:
            raise TimeoutError("the window did not get there in time")
        settle(app, 0.05)


def open_window(width: int, height: int, ready=lambda window, live: True):
    """The app and its window as a learner first sees them (light theme, settings of its
    own that nothing else reads), `width` x `height`, once the data and JAX are there and
    `ready(window, live)` holds. Returns (app, window, live)."""
    app = QApplication(sys.argv)
    apply_theme(app, "light")
    folder = tempfile.mkdtemp(prefix="cnnviz-docs-")
    settings = QSettings(str(Path(folder) / "settings.ini"), QSettings.Format.IniFormat)
    window, live = build_window(settings)
    window.resize(width, height)
    window.show()
    wait(app, lambda: window.session.dataset is not None and window.worker.device is not None
         and ready(window, live))
    return app, window, live


def draw_a_line(view) -> None:
    """A stroke on the draw canvas, as a mouse would leave it: a diagonal line, like
    the lines of the shapes data."""
    canvas = view.canvas
    h, w = canvas.image.shape[:2]
    stamp_segment(canvas.image, (w * 0.2, h * 0.75), (w * 0.8, h * 0.3), 1.0)
    canvas.update()
    canvas.changed.emit(canvas.image.copy())


def pause_mid_run(app: QApplication, window, live) -> None:
    """Train the network on test image 3 as the probe, and pause at PAUSE_AT_STEP."""
    live.model.choose(3)
    step = [0]
    window.worker.snapshot.connect(lambda snap: step.__setitem__(0, snap.step))
    window.actions.start_pause.trigger()
    wait(app, lambda: step[0] >= PAUSE_AT_STEP)
    window.actions.start_pause.trigger()  # pause: the views stay on this step
    wait(app, lambda: window.session.state == PAUSED)


def main() -> int:
    app, window, live = open_window(1600, 1000, lambda _, live: live.model.views is not None)
    session = window.session
    pause_mid_run(app, window, live)
    settle(app, 1.5)
    window.grab().save(str(DOCS / "screenshot-main.png"))
    for title, view in live.views.items():
        if title == "Draw":
            continue  # last: drawing changes the probe
        if title in dict(BIG):
            window.show_tab(view)
        else:
            live.docks[title].raise_()
        if title == "Confusion matrix":
            view.show_cell(1, 0)  # the true squares taken for circles
        settle(app)
        view.grab().save(str(DOCS / f"view-{slug(title)}.png"))
    projectors(app, window, live)
    live.docks["Draw"].raise_()
    draw_a_line(live.views["Draw"])
    settle(app, 2.0)
    live.views["Draw"].grab().save(str(DOCS / "view-draw.png"))
    window.show_tab(window.curves)
    window.resize(2400, 1350)  # a large screen first, as All Views at Once is meant for
    settle(app)
    live.set_layout(DOCKS)
    settle(app, 2.0)
    window.grab().save(str(DOCS / "screenshot-all-views.png"))
    live.set_layout(TABS)
    window.actions.stop.trigger()
    wait(app, lambda: not session.active)
    dialogs.ask_save_changes = lambda *args: dialogs.DISCARD  # the run is not worth a prompt
    window.close()
    window.finish_threads(30)
    return 0


def projectors(app: QApplication, window, live) -> None:
    """The default layout as a 1280x720 and a 1024x768 projector show it, and
    presentation mode at 1280x720."""
    window.resize(1280, 720)
    settle(app)
    live.size_docks()
    window.training_dock.raise_()
    window.show_tab(window.curves)
    live.docks["Predictions"].raise_()
    settle(app, 1.5)
    window.grab().save(str(DOCS / "screenshot-1280x720.png"))
    window.resize(1024, 768)
    settle(app)
    live.size_docks()
    window.network_dock.raise_()
    window.show_tab(live.views["Feature maps"])
    settle(app, 1.5)
    window.grab().save(str(DOCS / "screenshot-1024x768.png"))
    window.presentation.enter("Feature maps")
    window.setWindowState(Qt.WindowState.WindowNoState)  # the projector's size, not Xvfb's
    window.resize(1280, 720)
    window.presentation.bar.next_layer.click()  # conv1 -> maxpool1, enlarged
    settle(app, 1.5)
    window.grab().save(str(DOCS / "screenshot-presentation.png"))
    window.presentation.leave()
    window.resize(1600, 1000)
    settle(app)


def slug(title: str) -> str:
    return title.lower().replace(" ", "-")


if __name__ == "__main__":
    sys.exit(main())
