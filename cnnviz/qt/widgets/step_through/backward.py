"""The backward step: dL/dlogits = p - onehot, each layer's output gradient as maps, a
clicked weight's gradient as the sum of its terms, the optimizer's update of it from its
real state, and Apply one step with the before and after."""

from __future__ import annotations

import numpy as np
from PyQt6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from cnnviz.core import formulas
from cnnviz.core.glossary import FirstMention
from cnnviz.core.i18n import marked, tr, translate
from cnnviz.core.layers import Conv2D, Dense
from cnnviz.core.mosaic import channel_mosaic, symmetric_range, vector_strip
from cnnviz.qt.step_model import BATCH, IMAGE, StepModel
from cnnviz.qt.widgets.mosaic_view import SIGNED_LUT, MosaicPanel
from cnnviz.qt.widgets.step_through.cells import NumberGrid
from cnnviz.qt.widgets.step_through.page import (
    FormulaBox,
    Page,
    Wrap,
    formula_label,
    set_lines,
    show_silently,
)
from cnnviz.qt.widgets.step_through.table import fill, number_table

COLUMNS = 4  # layers per row of the gradient maps
PARAMS = (marked("kernel"), marked("bias"))  # a layer's arrays, by their keys in the weights


class BackwardPage(Page):
    def __init__(self, model: StepModel, parent: QWidget | None = None):
        super().__init__(model, parent)
        self.image_mode = QRadioButton(tr("this image"))
        self.batch_mode = QRadioButton(tr("a batch of training images"))
        self.batch_mode.setToolTip(tr("A fixed batch of training images (the one Weights and "
                                      "gradients uses at rest), the loss their mean"))
        group = QButtonGroup(self)
        group.addButton(self.image_mode)
        group.addButton(self.batch_mode)
        self.image_mode.setChecked(True)
        self.loss = QLabel()
        self.logits = NumberGrid()
        self.maps = MosaicPanel()
        self.maps.setMinimumHeight(100)
        self.layer = QComboBox()
        self.param = QComboBox()
        self.element = [QSpinBox() for _ in range(4)]
        self.kernel = NumberGrid()
        self.formula = formula_label(10)  # longer working (Adam's update) scrolls
        self.apply = QPushButton(tr("Apply one step"))
        self.apply.setToolTip(tr("Run exactly one real training step (the trainer's own, "
                                 "with this optimizer and its state) on a copy of the weights "
                                 "and show before and after"))
        self.result = number_table([tr("after one step"), tr("before"), tr("after")])
        self.result.setMinimumHeight(100)
        self.result.setMaximumHeight(160)
        self._build()
        self.image_mode.toggled.connect(
            lambda on: self.model.set_mode(IMAGE if on else BATCH))
        self.layer.activated.connect(self._on_layer)
        self.param.activated.connect(self._on_weight)
        for box in self.element:
            box.setKeyboardTracking(False)
            box.valueChanged.connect(self._on_weight)
        self.kernel.clicked.connect(self._on_kernel_click)
        self.maps.clicked.connect(self._on_map_click)
        self.apply.clicked.connect(self.model.request_apply)

    def _build(self) -> None:
        top = Wrap([tr("the gradient of the loss of"), self.image_mode], [self.batch_mode],
                   [self.loss])
        picker = Wrap([tr("weight:"), self.layer, self.param], self.element, [self.apply])
        left = QVBoxLayout()  # the weight in its kernel, and what one step did
        left.addWidget(self.kernel)
        left.addWidget(self.result)
        left.addStretch(1)
        row = QHBoxLayout()
        row.addLayout(left, 2)
        row.addWidget(FormulaBox(self.formula), 3)
        layout = QVBoxLayout(self)
        layout.addWidget(top)
        layout.addWidget(self.logits)
        layout.addWidget(self.maps, 1)
        layout.addWidget(picker)
        layout.addLayout(row, 1)

    # -- picking a weight -----------------------------------------------------------------
    def _weighted(self) -> list[int]:
        return [i for i, layer in enumerate(self.model.inspection.spec.layers)
                if isinstance(layer, Conv2D | Dense)]

    def _on_layer(self, row: int) -> None:
        index = self._weighted()[row]
        self.model.select_weight(index, *self.model.weights[index])

    def _on_weight(self) -> None:
        index = self.model.gradient_layer
        param = self.param.currentData()
        shape = self.model.inspection.params[index][param].shape
        element = tuple(min(box.value(), s - 1) for box, s in zip(self.element, shape,
                                                                   strict=False))
        self.model.select_weight(index, param, element)

    def _on_kernel_click(self, x: int, y: int) -> None:
        index = self.model.gradient_layer
        param, element = self.model.weights[index]
        if param == "kernel" and len(element) == 4:
            self.model.select_weight(index, param, (x, y, *element[2:]))

    def _on_map_click(self, key, tile: int, row: int, col: int) -> None:
        if key in self._weighted():
            param, element = self.model.weights[key]
            if param == "kernel" and len(element) == 4:  # the clicked map's filter
                element = (*element[:3], tile)
            self.model.select_weight(key, param, element)

    # -- drawing ------------------------------------------------------------------------
    def refresh(self) -> None:
        m, image = self.model, self.model.inspection
        ins = m.backward
        if image is None or m.gradient_layer is None:
            return
        if ins is None:  # the batch is on its way
            self.loss.setText(tr("computing the batch…"))
            return
        batch = len(ins.labels)
        self.loss.setText(tr("loss {loss} ({n} images)", loss=formulas.plain(ins.loss), n=batch)
                          if batch > 1 else tr("loss {loss}", loss=formulas.plain(ins.loss)))
        self.batch_mode.setText(tr("a batch of {n} training images", n=len(m.batch.labels))
                                if m.batch is not None else tr("a batch of training images"))
        g = image.logit_gradient()[0]
        names = m.class_names or tuple(map(str, range(len(g))))
        self.logits.set_values(g[None], title=tr(
            "dL/dlogits = p - onehot for this image: {classes}", classes=", ".join(names)))
        self._draw_maps(image)
        self._draw_weight(ins, batch)
        self._draw_applied()

    def _draw_maps(self, ins) -> None:
        """Each layer's output gradient dL/da for the image, on a shared signed scale."""
        key = tuple((name, g.shape) for name, g in zip(ins.names, ins.grad_post, strict=True))
        if getattr(self, "_maps_key", None) != key:
            self._maps_key = key
            self.maps.reset()
            for i in range(len(ins.names)):
                self.maps.add(i, *divmod(i, COLUMNS), SIGNED_LUT)
        for i, g in enumerate(ins.grad_post):
            r = symmetric_range(g[0]) or 1.0
            mosaic = channel_mosaic(g[0], -r, r) if g.ndim == 4 else vector_strip(g[0], -r, r)
            self.maps.cells[i].set(mosaic, tr("dL/d {name} (±{r})", name=ins.names[i],
                                              r=formulas.plain(r)))
            self.maps.cells[i].mark(self.model.weights[i][1][-1] if i == self.model.gradient_layer
                                    and g.ndim == 4 else None)

    def _draw_weight(self, ins, batch: int) -> None:
        m = self.model
        index = m.gradient_layer
        param, element = m.weights[index]
        weighted = self._weighted()
        names = [ins.names[i] for i in weighted]
        if [self.layer.itemText(i) for i in range(self.layer.count())] != names:
            self.layer.clear()
            self.layer.addItems(names)
        self.layer.setCurrentIndex(weighted.index(index))
        if self.param.count() != len(PARAMS):
            self.param.clear()
            for key in PARAMS:
                self.param.addItem(translate(key), key)
        self.param.setCurrentIndex(PARAMS.index(param))
        shape = ins.params[index][param].shape
        for box, size, value in zip(self.element, (*shape, 0, 0, 0, 0), (*element, 0, 0, 0, 0),
                                    strict=False):
            box.setVisible(size > 0)
            show_silently(box, max(size - 1, 0), value)
        layer = ins.spec.layers[index]
        conv = isinstance(layer, Conv2D) and param == "kernel"
        self.kernel.setVisible(conv)
        if conv:
            x, y, c, f = element
            kernel = ins.params[index]["kernel"][:, :, c, f]
            self.kernel.set_values(kernel, marked=(x, y), title=tr(
                "{name} kernel, channel {c}, filter {f}", name=ins.names[index], c=c, f=f))
        gradient = ins.weight_gradient(index, param, element)
        mention = FirstMention()  # the working is one text: each term in both languages once
        letter = "k" if conv else "w" if param == "kernel" else "b"
        symbol = f"{letter}({', '.join(map(str, element))})"
        of = tr("1 (a bias)") if param == "bias" else (
            tr("the input it multiplied") if conv else f"x({element[0]})")
        lines = [tr("{name}'s {param} {element} = {w}", name=ins.names[index],
                    param=translate(param),
                    element=", ".join(map(str, element)),
                    w=formulas.plain(ins.params[index][param][element])),
                 *formulas.gradient_lines(gradient, symbol, of, batch, mention),
                 tr("the engine's dL/d{w}: {g}", w=symbol, g=formulas.plain(
                     ins.param_grads[index][param][element])), ""]
        update = ins.update(index, param, element)
        if update is None:
            lines.append(tr("The optimizer's state stays with the running trainer: pause "
                            "training to see its update in numbers."))
        else:
            if ins.optimizer.fresh:
                lines.append(tr("(a fresh optimizer state: the state training left is not "
                                "at hand, so this is a first step's update)"))
            lines += formulas.update_lines(update, ins.optimizer.settings, mention)
        set_lines(self.formula, lines)
        self.apply.setEnabled(not m.live)

    def _draw_applied(self) -> None:
        a = self.model.applied
        self.result.setVisible(a is not None)
        if a is None:
            return
        index = self.model.gradient_layer
        param, element = self.model.weights[index]
        before, after = a.before, a.after
        label = int(before.labels[0])
        plain = formulas.plain
        names = self.model.class_names or tuple(map(str, range(before.logits.shape[1])))
        rows = [[tr("{name} {param}{element}", name=before.names[index], param=translate(param),
                    element=list(element)), plain(before.params[index][param][element]),
                 plain(after.params[index][param][element])],
                [tr("loss"), plain(before.loss), plain(after.loss)],
                [tr("p(true class {name}) of the first image", name=names[label]),
                 plain(before.probabilities[0, label]), plain(after.probabilities[0, label])],
                [tr("predicted class of the first image"),
                 names[int(np.argmax(before.probabilities[0]))],
                 names[int(np.argmax(after.probabilities[0]))]]]
        fill(self.result, rows, {0})


if __name__ == "__main__":
    from cnnviz.qt.widgets.step_through.preview import preview

    preview(lambda m: m.backward_stage)
