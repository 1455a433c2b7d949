"""Lessons in the main window: `add_lessons(window, live)` reads the lessons, docks their
panel on the right and adds Help > Lessons, which opens it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QAction
from PyQt6.QtWidgets import QDockWidget

from cnnviz.core.i18n import marked, tr
from cnnviz.core.lessons import LESSONS_DIR, load_lessons
from cnnviz.qt.lesson_host import LessonHost
from cnnviz.qt.lesson_model import LessonModel
from cnnviz.qt.live_views import LiveViews
from cnnviz.qt.main_window import MainWindow
from cnnviz.qt.widgets.lessons import LessonsPanel

log = logging.getLogger(__name__)

DOCK_NAME = "dock-lessons"  # saveState's key: the same whatever the title's language
WIDTH = 300  # pixels: the step's buttons side by side, lines of a readable length


@dataclass
class Lessons:
    host: LessonHost
    model: LessonModel
    panel: LessonsPanel
    dock: QDockWidget
    action: QAction  # Help > Lessons


def add_lessons(window: MainWindow, live: LiveViews, folder: Path = LESSONS_DIR) -> Lessons:
    """The lessons of `folder` in a dock, hidden until Help > Lessons shows it. A lesson
    file that cannot be read is named in the panel (and the log); the others load."""
    catalogue = load_lessons(folder)
    for problem in catalogue.problems:
        log.warning("lesson left out: %s", problem)
    host = LessonHost(window, live)
    model = LessonModel(catalogue, host, window.settings, window)
    panel = LessonsPanel(model)
    right = Qt.DockWidgetArea.RightDockWidgetArea
    dock = window.add_dock(panel, marked("Lessons"), right)
    dock.setObjectName(DOCK_NAME)
    # a column of its own at the right edge: the learner reads the step beside the
    # panels it is about, whichever of them it brings forward
    window.addDockWidget(right, dock, Qt.Orientation.Horizontal)
    dock.setMinimumWidth(WIDTH)
    dock.hide()
    action = QAction(tr("&Lessons"), window)
    action.setStatusTip(tr("Guided lessons that follow the textbook, step by step"))
    action.triggered.connect(lambda: (dock.show(), dock.raise_()))
    window.help_menu.insertAction(window.help_menu.actions()[0], action)
    return Lessons(host, model, panel, dock, action)


def preview() -> None:
    """The window with its lessons open, as the app shows them."""
    import sys

    from PyQt6.QtCore import QSettings
    from PyQt6.QtWidgets import QApplication

    from cnnviz.qt.app import build_window

    app = QApplication(sys.argv)
    window, _ = build_window(QSettings("cnnviz", "lessons-preview"))
    window.findChild(QDockWidget, DOCK_NAME).show()
    window.show()
    app.exec()
    window.finish_threads(5.0)
