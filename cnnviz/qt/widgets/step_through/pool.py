"""The pooling close-up: one output pixel and its window of inputs, the max marked (where
the gradient goes back) or the average worked out; GlobalAvgPool's whole-map mean too."""

from __future__ import annotations

from PyQt6.QtWidgets import QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from cnnviz.core import formulas
from cnnviz.core.i18n import tr
from cnnviz.core.layers import GlobalAvgPool
from cnnviz.qt.step_model import StepModel
from cnnviz.qt.widgets.step_through.cells import NumberGrid
from cnnviz.qt.widgets.step_through.maps import MapView
from cnnviz.qt.widgets.step_through.page import (
    FormulaBox,
    Page,
    formula_label,
    set_lines,
    show_silently,
)

MAX_GRID = 8  # a window larger than this (a global average) is shown as a map only


class PoolPage(Page):
    def __init__(self, model: StepModel, parent: QWidget | None = None):
        super().__init__(model, parent)
        self.channel = QSpinBox()
        self.channel.setKeyboardTracking(False)
        self.input_map = MapView()
        self.output_map = MapView()
        self.window = NumberGrid(tr("window"))
        self.formula = formula_label(3)
        controls = QHBoxLayout()
        controls.addWidget(QLabel(tr("channel")))
        controls.addWidget(self.channel)
        controls.addStretch(1)
        maps = QHBoxLayout()
        maps.addWidget(self.input_map, 1)
        maps.addWidget(self.output_map, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addLayout(maps, 2)
        row = QHBoxLayout()
        row.addWidget(self.window)
        row.addStretch(1)
        layout.addLayout(row, 1)
        layout.addWidget(FormulaBox(self.formula), 1)
        self.output_map.clicked.connect(self._on_click)
        self.channel.valueChanged.connect(self.select_channel)

    def _global(self) -> bool:
        return isinstance(self.model.inspection.spec.layers[self.index], GlobalAvgPool)

    def _on_click(self, row: int, col: int) -> None:
        if not self._global():
            self.model.select(self.index, (row, col, self.model.positions[self.index][-1]))

    def refresh(self) -> None:
        ins = self.model.inspection
        if ins is None:
            return
        position = self.model.positions[self.index]
        c = position[-1]
        w = self.model.close_up(self.index)
        x = ins.layer_input(self.index)[0]
        out = ins.post[self.index][0]
        show_silently(self.channel, x.shape[2] - 1, c)
        lo, hi = float(x[..., c].min()), float(x[..., c].max())
        name = ins.names[self.index]
        self.input_map.set_map(x[..., c], lo, hi, title=tr("its input, channel {c}: the window "
                                                           "outlined", c=c))
        rows, cols = w.values.shape
        self.input_map.frame(0, w.top, w.left, rows, cols)
        if w.source is not None:
            self.input_map.frame(1, *w.source, 1, 1)
        else:
            self.input_map.unframe(1)
        if out.ndim == 3:
            self.output_map.show()
            self.output_map.set_map(out[..., c], lo, hi, title=tr(
                "{name}, channel {c}: click a pixel", name=name, c=c))
            self.output_map.frame(1, position[0], position[1], 1, 1)
        else:
            self.output_map.hide()
        small = max(rows, cols) <= MAX_GRID
        self.window.setVisible(small)
        if small:
            self.window.set_values(w.values, scale=max(abs(lo), abs(hi)), marked=w.winner,
                                   title=tr("the window of {name}({p})", name=name,
                                            p=", ".join(map(str, position))))
        set_lines(self.formula, [*formulas.pool_lines(w), tr(
            "the engine's value: {v}", v=formulas.plain(ins.value(self.index, position)))])


if __name__ == "__main__":
    from cnnviz.qt.widgets.step_through.preview import preview

    preview(lambda m: 2)
