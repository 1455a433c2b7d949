"""The strip at the top of the step-through: the whole chain of shapes, input to loss,
each layer with its output-size formula filled in; click a stage to go there."""

from __future__ import annotations

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import QButtonGroup, QHBoxLayout, QScrollArea, QToolButton, QWidget

from cnnviz.core import formulas
from cnnviz.core.i18n import tr
from cnnviz.core.network import NetworkSpec
from cnnviz.core.shapes import fmt_shape


def stage_texts(spec: NetworkSpec) -> list[str]:
    """One label per stage: the input, each layer (name, shape, formula), softmax and
    loss, the backward step, where the network looks."""
    texts = [tr("input\n{shape}", shape=fmt_shape(spec.input_shape))]
    for info in spec.analyze().layers:
        texts.append(f"{info.name}\n{fmt_shape(info.out_shape)}\n"
                     f"{formulas.size_formula(info.layer, info.in_shape, info.out_shape)}")
    return [*texts, tr("softmax\nand loss"), tr("backward\nstep"), tr("where it\nlooks")]


class ChainStrip(QScrollArea):
    chosen = pyqtSignal(int)  # a stage

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.group = QButtonGroup(self)
        self.group.idClicked.connect(self.chosen)
        self.texts: list[str] = []
        inner = QWidget()
        self.row = QHBoxLayout(inner)
        self.row.setContentsMargins(2, 2, 2, 2)
        self.setWidget(inner)

    def set_spec(self, spec: NetworkSpec) -> None:
        texts = stage_texts(spec)
        if texts == self.texts:
            return
        self.texts = texts
        for button in self.group.buttons():
            self.group.removeButton(button)
        while self.row.count():  # the buttons and the stretch after them
            item = self.row.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        for i, text in enumerate(texts):
            button = QToolButton()
            button.setText(text)
            button.setCheckable(True)
            button.setAutoRaise(True)
            self.group.addButton(button, i)
            self.row.insertWidget(i, button)
        self.row.addStretch(1)
        height = max(b.sizeHint().height() for b in self.group.buttons())
        self.setFixedHeight(height + self.horizontalScrollBar().sizeHint().height() + 8)

    def set_stage(self, stage: int) -> None:
        button = self.group.button(stage)
        if button is not None:
            button.setChecked(True)
            self.ensureWidgetVisible(button)
