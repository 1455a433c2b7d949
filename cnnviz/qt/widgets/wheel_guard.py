"""Fields that take the mouse wheel only when they have the focus.

A panel scrolls with the wheel; a spin box or combo box under the pointer would take the
turn for itself and change its value (Epochs 10 -> 15) while the learner only meant to
scroll past it. Guarded, an unfocused field passes the wheel on to the panel around it;
a click (or Tab) focuses it, and then the wheel changes it as usual.
"""

from __future__ import annotations

from PyQt6.QtCore import QEvent, QObject, Qt
from PyQt6.QtWidgets import QWidget


class _WheelGuard(QObject):
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Wheel and not watched.hasFocus():
            event.ignore()  # unaccepted, it goes on to the parent: the scroll area scrolls
            return True
        return False


def wheel_only_when_focused(*widgets: QWidget) -> None:
    for widget in widgets:
        widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # the wheel does not focus it
        widget.installEventFilter(_WheelGuard(widget))
