"""Panels scroll rather than push the window past the screen.

Every dock and tab holds its panel in a frameless scroll area that resizes the panel to
fit: on a large screen nothing changes, while on a small one (or with many docks open)
the window's minimum size stays small and a panel that gets less room than its own
minimum shows scroll bars instead of clipping the window off-screen.

A panel with wrapped text asks for the height it would like at its width, and the scroll
area gives it at least that: its plots' and lists' preferred heights would then make it
scroll on a small screen although everything fits. So those stretch from their minimum
instead (their preferred height is ignored); the text keeps the lines it needs.
"""

from __future__ import annotations

from PyQt6.QtCore import QSize
from PyQt6.QtWidgets import (
    QFrame,
    QGraphicsView,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QTableView,
    QWidget,
)

SMALLEST = QSize(120, 80)  # what a panel may shrink to before it scrolls


class PanelScrollArea(QScrollArea):
    def minimumSizeHint(self) -> QSize:
        return SMALLEST


STRETCHY = (QGraphicsView, QTableView, QScrollArea, QSplitter)  # plots, lists, split views


def scrollable(widget: QWidget) -> PanelScrollArea:
    for child in widget.findChildren(STRETCHY):
        policy = child.sizePolicy()
        policy.setVerticalPolicy(QSizePolicy.Policy.Ignored)
        child.setSizePolicy(policy)
        # ignored, the minimum it hints would be too: it becomes an explicit one
        child.setMinimumHeight(max(child.minimumHeight(), child.minimumSizeHint().height()))
    area = PanelScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    return area
