"""What every close-up page shares: the model it reads, the layer it shows, and a label
for formulas (plain text that wraps, without re-laying out its page when it changes)."""

from __future__ import annotations

from PyQt6.QtGui import QFontDatabase
from PyQt6.QtWidgets import QLabel, QWidget

from cnnviz.qt.step_model import StepModel
from cnnviz.qt.widgets.live_label import live_label


class Page(QWidget):
    """Shows stage `index` of the model; `refresh()` redraws it from the model."""

    def __init__(self, model: StepModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        self.index = 0

    def show_stage(self, index: int) -> None:
        self.index = index
        self.refresh()

    def refresh(self) -> None:
        raise NotImplementedError


def formula_label(lines: int = 4) -> QLabel:
    label = live_label(lines=lines, wrap=True)
    label.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
    label.setTextInteractionFlags(label.textInteractionFlags()
                                  | label.textInteractionFlags().TextSelectableByMouse)
    return label


def set_lines(label: QLabel, lines: list[str]) -> None:
    label.setText("\n".join(lines))
