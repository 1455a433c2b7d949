"""Starting the GUI: `main(argv)` is what the `cnnviz` command calls with no subcommand.

Only Qt, pyqtgraph and the pure-numpy layers load before the window shows; JAX loads in
the background afterwards (see TrainingWorker.load_engine), so the window appears fast.
"""

from __future__ import annotations

import sys

import pyqtgraph as pg
from PyQt6.QtCore import QSettings
from PyQt6.QtGui import QAction
from PyQt6.QtWidgets import QApplication

from cnnviz.qt.error_dialog import install_error_dialogs
from cnnviz.qt.live_views import DOCKS, LAYOUTS, TABS, LiveViews, add_live_views
from cnnviz.qt.main_window import MainWindow
from cnnviz.qt.theme import apply_theme
from cnnviz.qt.widgets.compress import add_compress_workspace

ORGANIZATION = APPLICATION = "cnnviz"
LATE_SHUTDOWN_S = 60.0


def build_window(settings: QSettings) -> tuple[MainWindow, LiveViews]:
    """The window as the app shows it: the main window with every live view, laid out
    as the View menu's "All Views at Once" was last left."""
    pg.setConfigOptions(imageAxisOrder="row-major", antialias=False)  # what the views expect
    window = MainWindow(settings)
    layout = str(settings.value("view/layout", TABS))
    live = add_live_views(window, window.session, layout if layout in LAYOUTS else TABS)
    window.add_shutdown(live.shutdown)  # their computations at rest end with the window
    add_compress_workspace(window)  # the Compress tab, after the live views' tabs
    all_at_once = QAction("&All Views at Once", window, checkable=True,
                          checked=live.layout == DOCKS)
    all_at_once.setStatusTip("Every live view in a dock of its own, all visible together "
                             "(for a large screen); off: the big views are tabs")

    def set_layout(on: bool) -> None:
        live.set_layout(DOCKS if on else TABS)
        settings.setValue("view/layout", live.layout)

    all_at_once.toggled.connect(set_layout)
    window.view_menu.addSeparator()
    window.view_menu.addAction(all_at_once)
    window.restore_layout()  # now with the live views' docks
    return window, live


def main(argv: list[str] | None = None) -> int:
    """Open the window (and a project file, if one is given); returns the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    app = QApplication.instance() or QApplication([sys.argv[0], *argv])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("cnnviz")
    settings = QSettings()
    apply_theme(app, str(settings.value("view/theme", "system")))
    window, _ = build_window(settings)
    window.show()
    files = [a for a in argv if not a.startswith("-")]
    if files:
        window.open_file(files[0])
    install_error_dialogs()  # from now on a failure ends in a dialog, never in an abort
    code = app.exec()
    window.finish_threads(LATE_SHUTDOWN_S)  # the window is gone; let stragglers end cleanly
    return code


if __name__ == "__main__":
    sys.exit(main())
