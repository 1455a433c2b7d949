"""What every close-up page shares: the model it reads, the layer it shows, and a label
for formulas (plain text that wraps, without re-laying out its page when it changes) in a
box that scrolls."""

from __future__ import annotations

from PyQt6.QtCore import QSize, Qt
from PyQt6.QtGui import QFontDatabase
from PyQt6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSpinBox,
    QWidget,
)

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

    def select_channel(self, c: int) -> None:
        """The learner chose channel `c` of the position shown (its last index)."""
        position = self.model.positions[self.index]
        if c != position[-1]:
            self.model.select(self.index, (*position[:-1], c))


def show_silently(box: QSpinBox, top: int, value: int) -> None:
    """`box` showing `value` of 0..`top` without telling its listeners: the page set it
    from the model, the learner did not choose it."""
    box.blockSignals(True)
    box.setRange(0, top)
    box.setValue(value)
    box.blockSignals(False)


def formula_label(lines: int = 4) -> QLabel:
    label = live_label(lines=lines, wrap=True)
    label.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
    label.setTextInteractionFlags(label.textInteractionFlags()
                                  | label.textInteractionFlags().TextSelectableByMouse)
    return label


class FormulaBox(QScrollArea):
    """A formula label in a box that keeps room for the label's lines and scrolls the
    rest: a long working (more lines where they wrap, in a narrow window or in a language
    whose text is taller) neither pushes its page past the room it has nor gets cut.
    Give it a stretch in its layout: a panel's scroll areas ignore their preferred height
    (qt.scrollable), and Qt lays such a box out past its page's end without one."""

    def __init__(self, label: QLabel, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWidget(label)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

    def minimumSizeHint(self) -> QSize:
        # the label's lines in its font of the moment (the text size can change)
        return QSize(super().minimumSizeHint().width(), self.widget().minimumHeight())


def set_lines(label: QLabel, lines: list[str]) -> None:
    label.setText("\n".join(lines))


class Wrap(QWidget):
    """Groups of controls side by side where the width holds them all, else one group
    under the other (the view must read well in a narrow central area)."""

    def __init__(self, *groups: list[QWidget | str], parent: QWidget | None = None):
        super().__init__(parent)
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.groups = []
        for items in groups:
            group = QWidget()
            row = QHBoxLayout(group)
            row.setContentsMargins(0, 0, 0, 0)
            for item in items:
                row.addWidget(QLabel(item) if isinstance(item, str) else item)
            self.groups.append(group)
        self.stacked: bool | None = None
        self._place(False)

    def _place(self, stacked: bool) -> None:
        if stacked == self.stacked:
            return
        self.stacked = stacked
        for group in self.groups:
            self.grid.removeWidget(group)
        for i, group in enumerate(self.groups):
            self.grid.addWidget(group, i if stacked else 0, 0 if stacked else i,
                                Qt.AlignmentFlag.AlignLeft)
        self.grid.setColumnStretch(len(self.groups), 0 if stacked else 1)

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        return QSize(max(g.minimumSizeHint().width() for g in self.groups), hint.height())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        need = sum(g.sizeHint().width() for g in self.groups) + 12 * len(self.groups)
        self._place(self.width() < need)
