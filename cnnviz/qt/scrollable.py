"""Panels scroll rather than push the window past the screen.

Every dock and tab holds its panel in a frameless scroll area that resizes the panel to
fit: on a large screen nothing changes, while on a small one (or with many docks open)
the window's minimum size stays small and a panel that gets less room than its own
minimum shows scroll bars instead of clipping the window off-screen.
"""

from __future__ import annotations

from PyQt6.QtCore import QSize
from PyQt6.QtWidgets import QFrame, QScrollArea, QWidget

SMALLEST = QSize(120, 80)  # what a panel may shrink to before it scrolls


class PanelScrollArea(QScrollArea):
    def minimumSizeHint(self) -> QSize:
        return SMALLEST


def scrollable(widget: QWidget) -> PanelScrollArea:
    area = PanelScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    return area
