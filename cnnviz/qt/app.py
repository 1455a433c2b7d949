"""Starting the GUI: `main(argv)` is what the `cnnviz` command calls with no subcommand.

Only Qt, pyqtgraph and the pure-numpy layers load before the window shows; JAX loads in
the background afterwards (see TrainingWorker.load_engine), so the window appears fast.
"""

from __future__ import annotations

import os
import sys

import pyqtgraph as pg
from PyQt6.QtCore import QSettings, QTimer
from PyQt6.QtGui import QAction
from PyQt6.QtWidgets import QApplication, QWidget

from cnnviz.core.i18n import tr
from cnnviz.qt.error_dialog import install_error_dialogs
from cnnviz.qt.language import add_language_menu, chosen_language, install_language
from cnnviz.qt.lessons import add_lessons
from cnnviz.qt.live_views import DOCKS, LAYOUTS, TABS, LiveViews, add_live_views
from cnnviz.qt.main_window import FONT_SCALE_KEY, MainWindow
from cnnviz.qt.step_through import add_step_through
from cnnviz.qt.theme import apply_font_scale, apply_theme
from cnnviz.qt.widgets.compress import add_compress_workspace
from cnnviz.qt.widgets.probe_bar import ProbeBar

ORGANIZATION = APPLICATION = "cnnviz"
LATE_SHUTDOWN_S = 60.0
SMALL_SCREEN_WIDTH = 1600  # pixels: narrower screens start the window maximized


def build_window(settings: QSettings) -> tuple[MainWindow, LiveViews]:
    """The window as the app shows it: the main window with every live view, laid out
    as the View menu's "All Views at Once" was last left."""
    pg.setConfigOptions(imageAxisOrder="row-major", antialias=False)  # what the views expect
    window = MainWindow(settings)
    saved = str(settings.value("view/layout", TABS))
    live = add_live_views(window, window.session, TABS)
    note = live.set_layout(saved) if saved in LAYOUTS else ""
    window.add_shutdown(live.shutdown)  # their computations at rest end with the window
    step = add_step_through(window, live.model, window.session)  # its tab, after theirs
    # the Compress tab, after the live views' tabs; it adds int8 to the conv close-up
    step.model.conv_notes = add_compress_workspace(window).model.int8_notes
    window.presentation.add_control(ProbeBar(live.model))
    all_at_once = QAction(tr("&All Views at Once"), window, checkable=True,
                          checked=live.layout == DOCKS)
    all_at_once.setStatusTip(tr("Every live view in a dock of its own, all visible together "
                                "(for a large screen); off: the big views are tabs"))

    def set_layout(on: bool) -> None:
        note = live.set_layout(DOCKS if on else TABS)
        if note:
            window.statusBar().showMessage(note, 20_000)
        all_at_once.blockSignals(True)
        all_at_once.setChecked(live.layout == DOCKS)  # unticked if the screen is too small
        all_at_once.blockSignals(False)
        settings.setValue("view/layout", live.layout)

    all_at_once.toggled.connect(set_layout)
    window.presentation.toggled.connect(lambda on: all_at_once.setEnabled(not on))
    window.view_menu.addSeparator()
    window.view_menu.addAction(all_at_once)
    add_language_menu(window, window.view_menu, lambda: build_window(settings)[0])
    add_lessons(window, live)
    # now with the live views' docks; a layout saved for the other arrangement (a
    # screen now too small for all views at once) would not fit the views
    if not window.restore_layout(docks=live.layout == saved):
        QTimer.singleShot(0, live.size_docks)  # once the window is shown, at its size
    if note:
        window.statusBar().showMessage(note, 20_000)
    return window, live


def missing_display() -> str:
    """Why the window cannot open here ("" if it can): on Linux, Qt needs an X11 or
    Wayland display (or a platform named in QT_QPA_PLATFORM), and without one it aborts
    the whole process with a message about X11 libraries."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return ""
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return ""
    return tr("the window needs a display, and none was found (DISPLAY and WAYLAND_DISPLAY "
              "are not set). Run it on a desktop, or set QT_QPA_PLATFORM (e.g. offscreen), "
              "or use the commands that need none: cnnviz train, summary, evaluate "
              "(cnnviz --help lists them all).")


def small_screen(window: QWidget) -> bool:
    """A screen where the window had better take all of it (1280 × 720, 1024 × 768...)."""
    screen = window.screen() or QApplication.primaryScreen()
    return screen is not None and screen.availableGeometry().width() < SMALL_SCREEN_WIDTH


def main(argv: list[str] | None = None) -> int:
    """Open the window (and a project file, if one is given); returns the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    missing = missing_display()
    if missing:
        print(tr("cnnviz: error: {message}", message=missing), file=sys.stderr)
        return 2
    app = QApplication.instance() or QApplication([sys.argv[0], *argv])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("cnnviz")
    settings = QSettings()
    install_language(app, chosen_language(settings))
    apply_theme(app, str(settings.value("view/theme", "system")))
    apply_font_scale(app, settings.value(FONT_SCALE_KEY, 1.0, type=float))
    window, _ = build_window(settings)
    if settings.contains("window/geometry") or not small_screen(window):
        window.show()
    else:  # a projector or a small laptop: every pixel counts
        window.showMaximized()
    files = [a for a in argv if not a.startswith("-")]
    if files:
        window.open_file(files[0])
    install_error_dialogs()  # from now on a failure ends in a dialog, never in an abort
    code = app.exec()
    for window in app.topLevelWidgets():  # the one in use (a new language replaces it)
        if isinstance(window, MainWindow):
            window.finish_threads(LATE_SHUTDOWN_S)  # it is gone; let stragglers end cleanly
    return code


if __name__ == "__main__":
    sys.exit(main())
