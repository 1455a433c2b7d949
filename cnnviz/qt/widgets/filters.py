"""Filters: every conv layer's kernels, live, or the gradient that is changing them.

A conv layer slides each filter (a small K×K stack of weights, one slice per input
channel) over its input. The mosaic shows one tile per filter and input channel (a row
per filter); the first layer of a colour input shows each filter as one RGB tile.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from PyQt6.QtWidgets import QButtonGroup, QHBoxLayout, QLabel, QRadioButton, QVBoxLayout, QWidget

from cnnviz.core.glossary import FirstMention
from cnnviz.core.i18n import tr
from cnnviz.core.mosaic import LEVELS, Mosaic, pruned_mosaic
from cnnviz.core.snapshot import LayerFilters
from cnnviz.qt.live_model import LiveModel
from cnnviz.qt.widgets.live_label import live_label
from cnnviz.qt.widgets.live_view import LiveView
from cnnviz.qt.widgets.mosaic_view import GAP_COLOUR, SIGNED_LUT, MosaicPanel

COLUMNS = 2
PRUNED = np.array([0, 0, 0], np.uint8)  # black: off the blue - white - red scale


def with_pruned(mosaic: Mosaic, f: LayerFilters, mask: np.ndarray) -> Mosaic:
    """The weights' mosaic in colour, every pruned weight (exactly zero) black."""
    rgb = mosaic.image.copy() if f.rgb else SIGNED_LUT[mosaic.image]
    rgb[pruned_mosaic(f.kernel, mask, f.rgb).image == LEVELS] = PRUNED
    return replace(mosaic, image=rgb)


def filter_title(f: LayerFilters, gradient: bool) -> str:
    k, _, c, n = f.kernel.shape
    if gradient and f.frozen:  # its update is zero: there is no scale to give
        return tr("{name} frozen: no update · {n} filters {k}×{k}×{c}", name=f.name, n=n,
                  k=k, c=c)
    if gradient:
        title = tr("{name} gradient · {n} filters {k}×{k}×{c} · scale ±{m:.3g}", name=f.name,
                   n=n, k=k, c=c, m=f.gradient_range)
    else:
        title = tr("{name} weights · {n} filters {k}×{k}×{c} · scale ±{m:.3g}", name=f.name,
                   n=n, k=k, c=c, m=f.weight_range)
    return title + tr(" · frozen") if f.frozen else title


class FiltersView(LiveView):
    def __init__(self, model: LiveModel, parent: QWidget | None = None):
        super().__init__(model, parent)
        self.weights = QRadioButton(tr("Weights"))
        self.weights.setToolTip(tr("The kernels as they are now"))
        self.weights.setChecked(True)
        self.gradient = QRadioButton(tr("Gradient"))
        self.gradient.setToolTip(tr(
            "The gradient of the loss with respect to each weight on the latest batch: the "
            "direction training pushes the weights (each update moves them against it). "
            "Refreshed about once a second while training."))
        group = QButtonGroup(self)
        group.addButton(self.weights)
        group.addButton(self.gradient)
        group.buttonToggled.connect(lambda *_: self.refresh())
        term = FirstMention()
        intro = QLabel(tr(
            "Each square is a {filter}'s weights over its small window of the input: blue = "
            "negative, white = zero, red = positive, on one scale per layer. A layer with one "
            "input {channel} shows a square per filter (on a colour image, one colour square "
            "per filter); a deeper layer shows a row per filter, a square per input channel. "
            "Trained first-layer filters often become edge and blob detectors.",
            filter=term("filter"), channel=term("channel")))
        intro.setWordWrap(True)
        self.legend = QLabel(tr("Black: a pruned weight, exactly zero (training keeps it so; "
                                "Reset weights trains a dense network)."))
        self.legend.setWordWrap(True)
        self.legend.hide()
        self.status = live_label()
        self.panel = MosaicPanel()
        self.panel.hovered.connect(self._on_hover)
        self.panel.left.connect(lambda: self.status.setText(""))
        bar = QHBoxLayout()
        bar.addWidget(QLabel(tr("Show:")))
        bar.addWidget(self.weights)
        bar.addWidget(self.gradient)
        bar.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(intro)
        layout.addWidget(self.legend)
        layout.addWidget(self.panel, 1)
        layout.addWidget(self.status)
        self._layout_key: tuple | None = None

    @property
    def showing_gradient(self) -> bool:
        return self.gradient.isChecked()

    def refresh(self) -> None:
        views = self.model.views
        if views is None:
            return
        key = tuple((f.name, f.kernel.shape) for f in views.filters)
        if key != self._layout_key:
            self._layout_key = key
            self.panel.reset()
            for i, f in enumerate(views.filters):
                self.panel.add(f.name, *divmod(i, COLUMNS), SIGNED_LUT)
        if not views.filters:
            self.status.setText(tr("This network has no conv layers, so it has no filters."))
        masks = self.model.masks
        for f in views.filters:
            gradient = self.showing_gradient and f.gradients is not None
            mask = masks.get(f.name)
            mosaic = f.gradients if gradient else f.weights
            if mask is not None and mask.shape == f.kernel.shape and not gradient:
                mosaic = with_pruned(mosaic, f, mask)
            self.panel.cells[f.name].set(mosaic, filter_title(f, gradient))
        pruned = any(f.name in masks for f in views.filters)
        if pruned != self.legend.isVisibleTo(self):
            self.legend.setVisible(pruned)
            # black is a hole then: the background takes the gaps' grey
            self.panel.setBackground(GAP_COLOUR if pruned else "k")

    def _on_hover(self, name: str, tile: int, row: int, col: int) -> None:
        f = next(f for f in self.model.views.filters if f.name == name)
        gradient = self.showing_gradient and f.gradient is not None
        values = f.gradient if gradient else f.kernel  # (K, K, C, F)
        if f.rgb:
            r, g, b = values[row, col, :, tile]
            text = (tr("{name} filter {f}, ({row}, {col}): gradients R {r:.3g}, G {g:.3g}, "
                       "B {b:.3g}", name=name, f=tile, row=row, col=col, r=r, g=g, b=b)
                    if gradient else
                    tr("{name} filter {f}, ({row}, {col}): weights R {r:.3g}, G {g:.3g}, "
                       "B {b:.3g}", name=name, f=tile, row=row, col=col, r=r, g=g, b=b))
            self.status.setText(text)
            return
        channels = values.shape[2]
        filt, channel = divmod(tile, channels)
        mask = self.model.masks.get(name)
        pruned = mask is not None and mask.shape == values.shape and not mask[
            row, col, channel, filt]
        value = values[row, col, channel, filt]
        text = (tr("{name} filter {f}, input channel {c}, ({row}, {col}): gradient {v:.4g}",
                   name=name, f=filt, c=channel, row=row, col=col, v=value) if gradient else
                tr("{name} filter {f}, input channel {c}, ({row}, {col}): weight {v:.4g}",
                   name=name, f=filt, c=channel, row=row, col=col, v=value))
        self.status.setText(text + (tr(" (pruned)") if pruned else ""))


if __name__ == "__main__":
    from cnnviz.qt.widgets.preview import preview

    preview(FiltersView)
