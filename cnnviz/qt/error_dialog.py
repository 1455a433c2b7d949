"""The last resort for a failure nothing else catches: a dialog, not only a traceback on
stderr that a learner never sees.

PyQt hands an exception that escapes a slot to sys.excepthook (and, while that is
Python's own, aborts the whole process). The hook installed here logs the traceback and
shows the error over the window in use; the app keeps running.
"""

from __future__ import annotations

import logging
import sys
from types import TracebackType

from PyQt6.QtWidgets import QApplication

from cnnviz.core.i18n import tr
from cnnviz.qt import dialogs

log = logging.getLogger(__name__)


def show_unexpected(kind: type[BaseException], exc: BaseException,
                    traceback: TracebackType | None) -> None:
    """sys.excepthook while the window runs."""
    if issubclass(kind, KeyboardInterrupt):  # Ctrl+C in the terminal still ends the app
        sys.__excepthook__(kind, exc, traceback)
        return
    log.error("unexpected error", exc_info=(kind, exc, traceback))
    dialogs.show_error(QApplication.activeWindow(), tr("Something went wrong"),
                       tr("{kind}: {reason}\n\nThe window keeps running, but what you just did "
                          "may not have finished. Save your work under a new name to be sure.",
                          kind=kind.__name__, reason=exc))


def install_error_dialogs() -> None:
    sys.excepthook = show_unexpected
