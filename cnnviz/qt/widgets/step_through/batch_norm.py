"""The BatchNorm close-up: one output, its input and its channel's numbers,
out = (x - mean) / √(var + ε) · γ + β, with the moving averages the network uses once
trained (the batch's own statistics only serve while training)."""

from __future__ import annotations

from PyQt6.QtWidgets import QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from cnnviz.core import formulas
from cnnviz.core.glossary import FirstMention
from cnnviz.core.i18n import tr
from cnnviz.qt.step_model import StepModel
from cnnviz.qt.widgets.step_through.maps import MapView
from cnnviz.qt.widgets.step_through.page import (
    FormulaBox,
    Page,
    formula_label,
    set_lines,
    show_silently,
)


class BatchNormPage(Page):
    def __init__(self, model: StepModel, parent: QWidget | None = None):
        super().__init__(model, parent)
        self.channel = QSpinBox()  # a map's channel, or a vector's element
        self.channel.setKeyboardTracking(False)
        self.channel_label = QLabel()
        self.input_map = MapView()
        self.output_map = MapView()
        term = FirstMention()
        self.note = QLabel(tr(
            "While training, each {channel} is normalised with the {batch}'s own mean and "
            "variance, and the moving averages shown here follow them; once trained (and "
            "here) the moving averages are used, so an image's output does not depend on "
            "the other images in its batch.", channel=term("channel"), batch=term("batch")))
        self.note.setWordWrap(True)
        self.formula = formula_label(4)
        controls = QHBoxLayout()
        controls.addWidget(self.channel_label)
        controls.addWidget(self.channel)
        controls.addStretch(1)
        maps = QHBoxLayout()
        maps.addWidget(self.input_map, 1)
        maps.addWidget(self.output_map, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addLayout(maps, 2)
        layout.addWidget(self.note)
        layout.addWidget(FormulaBox(self.formula), 1)
        self.input_map.clicked.connect(self._on_click)
        self.output_map.clicked.connect(self._on_click)
        self.channel.valueChanged.connect(self.select_channel)

    def _on_click(self, row: int, col: int) -> None:
        position = self.model.positions[self.index]
        if len(position) == 3:
            self.model.select(self.index, (row, col, position[-1]))
        else:  # a vector is drawn as one row
            self.model.select(self.index, (col,))

    def refresh(self) -> None:
        ins = self.model.inspection
        if ins is None:
            return
        position = self.model.positions[self.index]
        c = position[-1]
        b = self.model.close_up(self.index)
        x, out = ins.layer_input(self.index)[0], ins.post[self.index][0]
        name = ins.names[self.index]
        spatial = x.ndim == 3
        self.channel_label.setText(tr("channel") if spatial else tr("element"))
        show_silently(self.channel, x.shape[-1] - 1, c)
        if spatial:
            pictures = (x[..., c], out[..., c])
            at = (position[0], position[1])
        else:
            pictures = (x[None], out[None])
            at = (0, c)
        for view, values, title in (
                (self.input_map, pictures[0], tr("its input, channel {c}", c=c) if spatial
                 else tr("its input")),
                (self.output_map, pictures[1], tr("{name}: click a value", name=name))):
            lo, hi = float(values.min()), float(values.max())
            view.set_map(values, lo, hi, title=title)
            view.frame(1, *at, 1, 1)
        set_lines(self.formula, [*formulas.batch_norm_lines(b, c), tr(
            "the engine's value: {v}", v=formulas.plain(ins.value(self.index, position)))])


if __name__ == "__main__":
    from cnnviz.core.layers import BatchNorm
    from cnnviz.core.network import NetworkSpec
    from cnnviz.core.presets import get_preset
    from cnnviz.qt.widgets.step_through.preview import preview

    worked = get_preset("worked-example").spec  # with a BatchNorm after its conv
    preview(lambda m: 2, NetworkSpec(worked.input_shape, (worked.layers[0], BatchNorm(),
                                                          *worked.layers[1:])))
