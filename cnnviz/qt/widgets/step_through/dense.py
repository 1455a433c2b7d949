"""The dense close-up: one unit as sum_j w_ij x_j + b_i, its inputs listed by the size of
their contribution (the largest one by one, the rest together), then the activation."""

from __future__ import annotations

from PyQt6.QtWidgets import QHBoxLayout, QVBoxLayout, QWidget

from cnnviz.core import formulas
from cnnviz.core.i18n import tr
from cnnviz.qt.step_model import StepModel
from cnnviz.qt.widgets.step_through.cells import NumberGrid
from cnnviz.qt.widgets.step_through.page import FormulaBox, Page, formula_label, set_lines
from cnnviz.qt.widgets.step_through.table import fill, number_table

UNITS_PER_ROW = 16


class DensePage(Page):
    def __init__(self, model: StepModel, parent: QWidget | None = None):
        super().__init__(model, parent)
        self.units = NumberGrid()
        self.table = number_table([tr("input j"), tr("x(j)"), tr("w(j, i)"),
                                   tr("w(j, i) · x(j)")])
        self.formula = formula_label(3)
        layout = QVBoxLayout(self)
        layout.addWidget(self.units)
        row = QHBoxLayout()
        row.addWidget(self.table, 1)
        layout.addLayout(row, 2)
        layout.addWidget(FormulaBox(self.formula), 1)
        self.units.clicked.connect(
            lambda r, c: self.model.select(self.index, (r * UNITS_PER_ROW + c,))
            if r * UNITS_PER_ROW + c < self.model.inspection.post[self.index].shape[1]
            else None)

    def refresh(self) -> None:
        ins = self.model.inspection
        if ins is None:
            return
        unit = self.model.positions[self.index][0]
        u = self.model.close_up(self.index)
        out = ins.post[self.index][0]
        rows = -(-len(out) // UNITS_PER_ROW)
        grid = list(out) + [0.0] * (rows * UNITS_PER_ROW - len(out))
        per_row = min(UNITS_PER_ROW, len(out))
        self.units.set_values([grid[r * per_row:(r + 1) * per_row] for r in range(rows)],
                              marked=divmod(unit, per_row), title=tr(
                                  "{name}: its {n} units (click one)", name=ins.names[self.index],
                                  n=len(out)))
        s = u.contributions
        plain = formulas.plain
        lines = [[str(j), plain(u.inputs[j]), plain(u.weights[j]), plain(s.terms[j])]
                 for j in s.top]
        rest = len(s.terms) - len(s.top)
        if rest:
            lines.append([tr("others ({n})", n=rest), "", "", plain(s.others)])
        lines += [[tr("bias b({i})", i=unit), "", "", plain(u.bias)],
                  [tr("sum (pre-activation)"), "", "", plain(u.pre_activation)],
                  [tr("after {f}", f=u.activation), "", "", plain(u.value)]]
        fill(self.table, lines, {len(lines) - 1})
        set_lines(self.formula, [*formulas.dense_lines(u, unit), tr(
            "the engine's value: {v}", v=plain(ins.value(self.index, (unit,))))])


if __name__ == "__main__":
    from cnnviz.qt.widgets.step_through.preview import preview

    preview(lambda m: 4)
