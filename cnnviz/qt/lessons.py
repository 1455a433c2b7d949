"""Lessons in the main window: `add_lessons(window, live)` reads the lessons, docks their
panel on the right and adds Help > Lessons, which opens it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from PyQt6.QtCore import Qt, QTimer
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
# the Predictions column beside an open lesson: its caption and two columns of the test
# grid readable (Qt takes the lesson's width from that column alone, leaving it ~125 px
# on a 1280-wide projector); the curves in the middle give up the difference
PREDICTIONS_BESIDE = 250


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
    action.triggered.connect(lambda: show_lessons(window, live, dock))
    window.help_menu.insertAction(window.help_menu.actions()[0], action)
    return Lessons(host, model, panel, dock, action)


def show_lessons(window: MainWindow, live: LiveViews, dock: QDockWidget) -> None:
    """The lessons' column shown, the Predictions column beside it kept readable."""
    dock.show()
    dock.raise_()
    predictions = live.docks["Predictions"]

    def make_room() -> None:  # once the dock has its place in the layout
        right = Qt.DockWidgetArea.RightDockWidgetArea
        if (predictions.isVisible() and window.dockWidgetArea(predictions) == right
                and predictions.width() < PREDICTIONS_BESIDE):
            window.resizeDocks([predictions, dock], [PREDICTIONS_BESIDE, WIDTH],
                               Qt.Orientation.Horizontal)

    QTimer.singleShot(0, make_room)


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
