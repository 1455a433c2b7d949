"""Softmax and loss: logits, exp, their sum, the probabilities, and -log p[true class]."""

from __future__ import annotations

from PyQt6.QtWidgets import QVBoxLayout, QWidget

from cnnviz.core import formulas
from cnnviz.core.i18n import tr
from cnnviz.qt.step_model import StepModel
from cnnviz.qt.widgets.step_through.page import FormulaBox, Page, formula_label, set_lines
from cnnviz.qt.widgets.step_through.table import fill, number_table


class SoftmaxPage(Page):
    def __init__(self, model: StepModel, parent: QWidget | None = None):
        super().__init__(model, parent)
        self.table = number_table([tr("class"), tr("logit z"), tr("z - m"), tr("exp(z - m)"),
                                   tr("p = exp / sum")])
        self.formula = formula_label(3)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 2)
        layout.addWidget(FormulaBox(self.formula), 1)

    def refresh(self) -> None:
        ins = self.model.inspection
        if ins is None:
            return
        s = ins.softmax()
        names = self.model.class_names or tuple(map(str, range(len(s.logits))))
        plain = formulas.plain
        predicted = self.model.predicted
        rows = []
        for k, name in enumerate(names):
            marks = (" ✓" if k == s.label else "") + (tr(" (picked)") if k == predicted else "")
            rows.append([name + marks, plain(s.logits[k]), plain(s.logits[k] - s.shift),
                         plain(s.exps[k]), plain(s.probabilities[k])])
        rows.append([tr("sum"), "", "", plain(s.total), "1"])
        fill(self.table, rows, {s.label})
        set_lines(self.formula, [*formulas.softmax_lines(s, names), tr(
            "the engine's loss: {v}", v=plain(ins.losses[0]))])


if __name__ == "__main__":
    from cnnviz.qt.widgets.step_through.preview import preview

    preview(lambda m: m.softmax_stage)
