"""Weights and gradients over time: each weighted layer's weight and gradient norms
through training, and the current histogram of one layer's weights, gradients or
outputs, to spot vanishing or exploding gradients and dead or saturated units.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSplitter, QVBoxLayout, QWidget

from cnnviz.core.glossary import FirstMention
from cnnviz.core.i18n import marked, tr, translate
from cnnviz.core.replay import Replay
from cnnviz.core.snapshot import LayerStats, Views
from cnnviz.qt.live_model import LiveModel
from cnnviz.qt.widgets.live_label import live_label
from cnnviz.qt.widgets.live_view import LiveView
from cnnviz.qt.widgets.wheel_guard import wheel_only_when_focused

KINDS = {"weights": marked("weights"), "gradients": marked("gradient of the loss"),
         "activations": marked("outputs for the probe image")}


def state_kinds() -> dict[str, str]:
    """A BatchNorm's other arrays (its "weights" are its scale gamma)."""
    return {"beta": tr("beta (shift)"), "moving_mean": tr("moving mean"),
            "moving_variance": tr("moving variance")}


class WeightStatsView(LiveView):
    def __init__(self, model: LiveModel, parent: QWidget | None = None):
        super().__init__(model, parent)
        term = FirstMention()
        intro = QLabel(tr(
            "Left: the size (L2 norm) of each layer's weights and of the loss {gradient} on "
            "them, through training, on a log scale. Gradients that are far smaller in the "
            "first layers than in the last ones vanish (those layers barely learn); ones that "
            "keep growing explode. Right: how one layer's values are spread right now.",
            gradient=term("gradient")))
        intro.setWordWrap(True)
        self.norms = pg.GraphicsLayoutWidget()
        self.gradient_plot = self.norms.addPlot(row=0, col=0, title=tr("gradient norm ‖∂L/∂W‖"))
        self.weight_plot = self.norms.addPlot(row=1, col=0, title=tr("weight norm ‖W‖"))
        self.weight_plot.setXLink(self.gradient_plot)
        for plot in (self.gradient_plot, self.weight_plot):
            plot.setLogMode(y=True)
            plot.showGrid(x=True, y=True, alpha=0.15)
            plot.setLabel("bottom", tr("step"))
            plot.setMenuEnabled(False)
        self.gradient_plot.addLegend(offset=(-10, 10))
        self.curves: dict[str, tuple[pg.PlotDataItem, pg.PlotDataItem]] = {}
        self.layer = QComboBox()
        self.layer.setToolTip(tr("The layer whose values the histogram shows"))
        self.kind = QComboBox()
        for key, text in KINDS.items():
            self.kind.addItem(translate(text), key)
        self.kind.setToolTip(tr("Weights, the gradient on them (latest batch), or the layer's "
                                "outputs for the probe image"))
        self.layer.currentIndexChanged.connect(self.refresh)
        self.kind.currentIndexChanged.connect(self.refresh)
        wheel_only_when_focused(self.layer, self.kind)
        self.histogram = pg.PlotWidget()
        self.histogram.setMenuEnabled(False)
        self.histogram.setLabel("left", tr("count"))
        self.bars = self.histogram.plot(stepMode="center", fillLevel=0,
                                        brush=(90, 130, 200, 160), pen=(90, 130, 200))
        self.summary = live_label(lines=2, wrap=True)
        right = QWidget()
        column = QVBoxLayout(right)
        choose = QHBoxLayout()
        choose.addWidget(self.layer)
        choose.addWidget(self.kind)
        column.addLayout(choose)
        column.addWidget(self.histogram, 1)
        column.addWidget(self.summary)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.norms)
        split.addWidget(right)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(split, 1)
        self._replay: Replay | None = None
        self._label = ""
        self._shown_stats: tuple[LayerStats, ...] | None = None  # on screen, for
        self._shown_choice: tuple[int, int] | None = None  # this layer and kind
        model.replay_changed.connect(self.refresh_if_visible)

    def refresh(self) -> None:
        if self.model.replay is not self._replay:
            self._replay = self.model.replay
            self._plot_norms(self._replay)
        views: Views | None = self.model.views
        if views is None or views.stats is None:
            return
        # the statistics change on the trainer's slower clock: redraw only what changed
        choice = (self.layer.currentIndex(), self.kind.currentIndex())
        if views.stats is not self._shown_stats or choice != self._shown_choice:
            self._shown_stats, self._shown_choice = views.stats, choice
            self._show_stats(views.stats)

    def _plot_norms(self, replay: Replay) -> None:
        frames = replay.frames
        names = list(frames[0].weight_norms) if frames else []
        if names != list(self.curves):
            for plot in (self.gradient_plot, self.weight_plot):
                plot.clear()
            self.curves = {}
            for i, name in enumerate(names):
                pen = pg.mkPen(pg.intColor(i, hues=max(len(names), 1)), width=2)
                self.curves[name] = (self.gradient_plot.plot(pen=pen, name=name),
                                     self.weight_plot.plot(pen=pen, name=name))
        steps = np.array([f.step for f in frames], np.float64)
        for name, (gradient, weight) in self.curves.items():
            g = np.array([f.gradient_norms[name] for f in frames])
            known = np.isfinite(g)  # frames between the (slower) gradient computations
            gradient.setData(steps[known], g[known])
            weight.setData(steps, np.array([f.weight_norms[name] for f in frames]))

    def _show_stats(self, stats: tuple[LayerStats, ...]) -> None:
        names = [s.name for s in stats]
        if names != [self.layer.itemText(i) for i in range(self.layer.count())]:
            self.layer.blockSignals(True)
            self.layer.clear()
            self.layer.addItems(names)
            self.layer.blockSignals(False)
        if not stats:
            self.summary.setText(tr("This network has no weighted layers."))
            return
        layer = stats[max(0, self.layer.currentIndex())]
        self._offer_kinds(layer)
        kind = self.kind.currentData()
        histogram = dict(layer.state)[kind] if kind in dict(layer.state) else getattr(
            layer, kind)
        if histogram is None:
            self.bars.setData([0, 1], [0])
            self.summary.setText(tr("No gradient yet: it is computed once training has run a "
                                    "batch."))
            return
        self.bars.setData(histogram.edges, histogram.counts)
        label = f"{layer.name} {self.kind.currentText()}"
        if label != self._label:  # only on change: a new label re-lays out the plot
            self._label = label
            self.histogram.setLabel("bottom", label)
        self.summary.setText("   ".join(_norms_text(s) for s in stats))

    def _offer_kinds(self, layer: LayerStats) -> None:
        """The kinds of values the chosen layer has: a BatchNorm's moving averages too."""
        kinds = {**{key: translate(text) for key, text in KINDS.items()},
                 **{name: state_kinds()[name] for name, _ in layer.state}}
        if list(kinds) == [self.kind.itemData(i) for i in range(self.kind.count())]:
            return
        current = self.kind.currentData()
        self.kind.blockSignals(True)
        self.kind.clear()
        for key, text in kinds.items():
            self.kind.addItem(text, key)
        self.kind.setCurrentIndex(max(0, list(kinds).index(current) if current in kinds
                                      else 0))
        self.kind.blockSignals(False)


def _norms_text(s: LayerStats) -> str:
    """'conv1: ‖W‖ 3.2, ‖∂L/∂W‖ 0.04'; a BatchNorm's weight is its gamma, a frozen
    layer gets no update."""
    weight = "‖γ‖" if s.state else "‖W‖"
    text = f"{s.name}: {weight} {s.weight_norm:.3g}"
    if s.frozen:
        return text + tr(", frozen")
    return text + ("" if s.gradient_norm is None else f", ‖∂L/∂W‖ {s.gradient_norm:.2g}")


if __name__ == "__main__":
    from cnnviz.qt.widgets.preview import preview

    preview(WeightStatsView)
