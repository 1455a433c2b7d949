"""The conv close-up: one output pixel from its K x K x C input patch and its filter's
kernel, product by product, per input channel, plus the bias, through the activation;
Play slides the window across the output, which fills as it goes."""

from __future__ import annotations

import numpy as np
from PyQt6.QtCore import Qt, QTimer
from PyQt6.QtWidgets import (
    QBoxLayout,
    QGridLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from cnnviz.core import formulas
from cnnviz.core.i18n import tr
from cnnviz.qt.step_model import StepModel
from cnnviz.qt.widgets.mosaic_view import ACTIVATION_LUT, GREY_LUT
from cnnviz.qt.widgets.step_through.cells import NumberGrid
from cnnviz.qt.widgets.step_through.maps import MapView
from cnnviz.qt.widgets.step_through.page import (
    FormulaBox,
    Page,
    Wrap,
    formula_label,
    set_lines,
    show_silently,
)

TICK_MS = 40
SPEEDS = (1, 200)  # output pixels a second, slowest and fastest
NARROW = 720  # pixels: below this the maps go above the numbers


def spin(tip: str) -> QSpinBox:
    box = QSpinBox()
    box.setToolTip(tip)
    box.setKeyboardTracking(False)
    return box


class ConvPage(Page):
    def __init__(self, model: StepModel, parent: QWidget | None = None):
        super().__init__(model, parent)
        self.filter = spin(tr("The filter (output channel) whose pixel is shown"))
        self.channel = spin(tr("The input channel whose patch, kernel and products are shown"))
        self.play = QPushButton(tr("▶ Play"))
        self.play.setCheckable(True)
        self.play.setToolTip(tr("Slide the window across the whole output, pixel by pixel"))
        self.speed = QSlider(Qt.Orientation.Horizontal)
        self.speed.setRange(*SPEEDS)
        self.speed.setValue(10)
        self.speed.setToolTip(tr("Play speed: output pixels a second"))
        self.input_map = MapView()
        self.output_map = MapView()
        self.patch = NumberGrid(tr("input patch"))
        self.kernel = NumberGrid(tr("kernel"))
        self.products = NumberGrid(tr("products"))
        self.sums = NumberGrid(tr("sum of each input channel (click one to see it)"))
        self.formula = formula_label(5)
        self.speed.setMaximumWidth(120)
        controls = Wrap([tr("filter"), self.filter, tr("input channel"), self.channel],
                        [self.play, tr("speed"), self.speed])
        grids = QGridLayout()
        for col, widget in enumerate((self.patch, QLabel("×"), self.kernel, QLabel("="),
                                      self.products)):
            grids.addWidget(widget, 0, col)
        grids.addWidget(self.sums, 1, 0, 1, 5)
        grids.setColumnStretch(5, 1)  # room to spare goes right of the products
        self.maps = QBoxLayout(QBoxLayout.Direction.TopToBottom)
        self.maps.addWidget(self.input_map, 1)
        self.maps.addWidget(self.output_map, 1)
        self.body = QBoxLayout(QBoxLayout.Direction.LeftToRight)
        self.body.addLayout(self.maps, 2)
        right = QVBoxLayout()
        right.addLayout(grids)
        right.addWidget(FormulaBox(self.formula), 1)
        self.body.addLayout(right, 3)
        layout = QVBoxLayout(self)
        layout.addWidget(controls)
        layout.addLayout(self.body, 1)
        self.timer = QTimer(self)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)
        self._played = 0.0  # output pixels done so far by Play (fractional between ticks)
        self._shown_channel = 0
        self.output_map.clicked.connect(self._on_output_click)
        self.filter.valueChanged.connect(self._on_filter)
        self.channel.valueChanged.connect(self._on_channel)
        self.sums.clicked.connect(lambda _r, c: self.channel.setValue(c))
        self.play.toggled.connect(self._on_play)

    # -- the learner's moves ----------------------------------------------------------
    def _position(self) -> tuple[int, int, int]:
        return self.model.positions[self.index]

    def _on_output_click(self, row: int, col: int) -> None:
        self.play.setChecked(False)
        self.model.select(self.index, (row, col, self._position()[2]))

    def _on_filter(self, f: int) -> None:
        row, col, old = self._position()
        if f != old:
            self.model.select(self.index, (row, col, f))

    def _on_channel(self, c: int) -> None:
        self._shown_channel = c
        self.refresh()

    def _on_play(self, on: bool) -> None:
        if on:
            self._played = 0.0
            self.timer.start()
        else:
            self.timer.stop()
            self.refresh()

    def _tick(self) -> None:
        out = self.model.inspection.post[self.index][0]
        total = out.shape[0] * out.shape[1]
        self._played += self.speed.value() * TICK_MS / 1000
        done = min(int(self._played), total - 1)
        _, _, f = self._position()
        self.model.select(self.index, (*divmod(done, out.shape[1]), f))
        if done >= total - 1:
            self.play.setChecked(False)

    def resizeEvent(self, event) -> None:
        """Narrow: the two maps side by side above the numbers, not beside them."""
        super().resizeEvent(event)
        narrow = self.width() < NARROW
        self.body.setDirection(QBoxLayout.Direction.TopToBottom if narrow
                               else QBoxLayout.Direction.LeftToRight)
        self.maps.setDirection(QBoxLayout.Direction.LeftToRight if narrow
                               else QBoxLayout.Direction.TopToBottom)

    def hideEvent(self, event) -> None:
        self.play.setChecked(False)  # no timer left running behind a hidden page
        super().hideEvent(event)

    # -- drawing ----------------------------------------------------------------------
    def refresh(self) -> None:
        ins = self.model.inspection
        if ins is None:
            return
        layer = ins.spec.layers[self.index]
        row, col, f = self._position()
        o = self.model.close_up(self.index)
        x = ins.layer_input(self.index)[0]
        out = ins.post[self.index][0]
        channels = x.shape[2]
        c = min(self._shown_channel, channels - 1)
        show_silently(self.filter, out.shape[2] - 1, f)
        show_silently(self.channel, channels - 1, c)
        self.channel.setEnabled(channels > 1)
        name = ins.names[self.index - 1] if self.index else tr("input")
        lo, hi = float(x[..., c].min()), float(x[..., c].max())
        self.input_map.set_map(x[..., c], lo, hi, GREY_LUT if self.index == 0 else ACTIVATION_LUT,
                               title=tr("{name}, channel {c}: the patch outlined",
                                        name=name, c=c) if channels > 1 else
                               tr("{name}: the patch outlined", name=name))
        k = layer.kernel_size
        self.input_map.frame(0, o.patch.top, o.patch.left, k, k)
        shown = None
        if self.play.isChecked():
            done = row * out.shape[1] + col
            shown = np.arange(out.shape[0] * out.shape[1]).reshape(out.shape[:2]) <= done
        self.output_map.set_map(out[..., f], float(out[..., f].min()), float(out[..., f].max()),
                                ACTIVATION_LUT, shown,
                                tr("{name}, filter {f}: click a pixel", name=ins.names[self.index],
                                   f=f))
        self.output_map.frame(1, row, col, 1, 1)
        masked = o.patch.padded
        self.patch.set_values(o.patch.values[..., c], masked=masked,
                              title=tr("input patch at ({r}, {c})", r=o.patch.top,
                                       c=o.patch.left))
        self.kernel.set_values(o.kernel[..., c], title=tr("kernel, filter {f}", f=f))
        self.products.set_values(o.products[..., c], masked=masked)
        self.sums.setVisible(channels > 1)
        if channels > 1:
            self.sums.set_values(o.channel_sums[None], marked=(0, c))
        set_lines(self.formula, [
            *formulas.conv_lines(o, row, col, layer.stride),
            tr("the engine's value at ({r}, {c}, {f}): {v}", r=row, c=col, f=f,
               v=formulas.plain(ins.value(self.index, (row, col, f)))),
            *(self.model.conv_notes(ins.names[self.index], f, o) if self.model.conv_notes
              else [])])


if __name__ == "__main__":
    from cnnviz.qt.widgets.step_through.preview import preview

    preview(lambda m: 1)
