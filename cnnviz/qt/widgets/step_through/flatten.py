"""The flatten close-up: how an (H, W, C) stack of maps unrolls into one vector, row by
row, channel fastest: element n comes from (h, w, c) and back."""

from __future__ import annotations

import numpy as np
from PyQt6.QtWidgets import QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from cnnviz.core import arithmetic as ar
from cnnviz.core import formulas
from cnnviz.core.i18n import tr
from cnnviz.qt.step_model import StepModel
from cnnviz.qt.widgets.step_through.maps import MapView
from cnnviz.qt.widgets.step_through.page import (
    FormulaBox,
    Page,
    Wrap,
    formula_label,
    set_lines,
    show_silently,
)


class FlattenPage(Page):
    def __init__(self, model: StepModel, parent: QWidget | None = None):
        super().__init__(model, parent)
        self.element = QSpinBox()
        self.element.setKeyboardTracking(False)
        self.source = [QSpinBox() for _ in range(3)]
        for box in self.source:
            box.setKeyboardTracking(False)
            box.valueChanged.connect(self._on_source)
        controls = Wrap([tr("element n"), self.element],
                        [tr("comes from row, column, channel"), *self.source])
        self.input_map = MapView()
        self.vector = MapView()
        self.hover = QLabel()
        self.formula = formula_label(2)
        layout = QVBoxLayout(self)
        layout.addWidget(controls)
        maps = QHBoxLayout()
        maps.addWidget(self.input_map, 1)
        maps.addWidget(self.vector, 2)
        layout.addLayout(maps, 1)
        layout.addWidget(self.hover)
        layout.addWidget(FormulaBox(self.formula), 1)
        self.element.valueChanged.connect(lambda n: self._select(n))
        self.vector.clicked.connect(lambda r, c: self._select(r * self._width() + c))
        self.vector.hovered.connect(self._on_vector_hover)
        self.input_map.hovered.connect(self._on_map_hover)
        self.input_map.clicked.connect(lambda r, c: self._select(ar.flat_index(
            self._shape(), r, c, self.source[2].value())))

    def _shape(self) -> tuple[int, int, int]:
        return self.model.inspection.layer_input(self.index).shape[1:]

    def _width(self) -> int:
        """Elements per row of the vector's picture: one row per input row."""
        _, w, c = self._shape()
        return w * c

    def _select(self, n: int) -> None:
        if n != self.model.positions[self.index][0]:
            self.model.select(self.index, (n,))

    def _on_source(self) -> None:
        self._select(ar.flat_index(self._shape(), *(box.value() for box in self.source)))

    def _on_vector_hover(self, r: int, c: int) -> None:
        n = r * self._width() + c
        self.hover.setText(tr("element {n} comes from ({h}, {w}, {c})", n=n,
                              **dict(zip("hwc", ar.unflat_index(self._shape(), n),
                                         strict=True))))

    def _on_map_hover(self, r: int, c: int) -> None:
        ch = self.source[2].value()
        self.hover.setText(tr("({h}, {w}, {c}) goes to element {n}", h=r, w=c, c=ch,
                              n=ar.flat_index(self._shape(), r, c, ch)))

    def refresh(self) -> None:
        ins = self.model.inspection
        if ins is None:
            return
        e = self.model.close_up(self.index)
        shape = self._shape()
        x = ins.layer_input(self.index)[0]
        for box, top, value in ((self.element, int(np.prod(shape)) - 1, e.index),
                                *zip(self.source, (s - 1 for s in shape), e.source,
                                     strict=True)):
            show_silently(box, top, value)
        h, w, c = e.source
        lo, hi = float(x.min()), float(x.max())
        self.input_map.set_map(x[..., c], lo, hi, title=tr("its input, channel {c}", c=c))
        self.input_map.frame(1, h, w, 1, 1)
        vector = ins.post[self.index][0].reshape(-1, self._width())
        self.vector.set_map(vector, lo, hi, title=tr(
            "the vector of {n}, {per} to a line (one input row each)",
            n=vector.size, per=self._width()))
        self.vector.frame(1, *divmod(e.index, self._width()), 1, 1)
        set_lines(self.formula, formulas.flat_lines(e, shape))


if __name__ == "__main__":
    from cnnviz.qt.widgets.step_through.preview import preview

    preview(lambda m: 3)
