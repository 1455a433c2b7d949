"""The Compress workspace's plots: the sensitivity sweep with its knees, the float
weights over the int8 grid, and accuracy recovering while a compressed network is
fine-tuned. Each draws what the CompressModel holds when it changes."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from cnnviz.core.compression import ALL_LAYERS
from cnnviz.core.i18n import tr
from cnnviz.core.mosaic import LEVELS
from cnnviz.core.quantization import FLOAT16, INT8_PER_CHANNEL
from cnnviz.qt.widgets.compress_model import CompressModel
from cnnviz.qt.widgets.mosaic_view import GAP_COLOUR, SIGNED_LUT

BARS = (90, 130, 200)
GRID = (235, 70, 70)


def _plot(x_label: str, y_label: str) -> pg.PlotWidget:
    plot = pg.PlotWidget()
    plot.setMenuEnabled(False)
    plot.showGrid(x=True, y=True, alpha=0.15)
    plot.setLabel("bottom", x_label)
    plot.setLabel("left", y_label)
    return plot


def narrow(combo: QComboBox, letters: int = 9) -> None:
    """A combo box that may be narrower than its longest entry (the list shows it whole),
    so that the workspace fits a projector's central area (1024 x 768)."""
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(letters)


def wrapped_label(text: str = "") -> QLabel:
    """A label whose text wraps (and can be selected, to copy a number)."""
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class SweepPlot(QWidget):
    """Accuracy against sparsity: the whole network by one threshold (bold) and each
    layer pruned alone, the knee of each curve marked."""

    def __init__(self, model: CompressModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        self.plot = _plot(tr("sparsity (%)"), tr("validation accuracy (%)"))
        self.plot.addLegend(offset=(10, -10))  # bottom left: curves fall to the right
        self.knees = pg.ScatterPlotItem(size=15, symbol="o", pen=pg.mkPen("w", width=2),
                                        brush=None)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.note = wrapped_label()
        layout = QVBoxLayout(self)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.progress)
        layout.addWidget(self.note)
        self._curves: dict[str, pg.PlotDataItem] = {}
        model.sweep_progress.connect(self.refresh)
        model.source_changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        progress = self.model.sweep
        if progress is None:
            self.plot.clear()
            self._curves = {}
            self.progress.hide()
            self.note.setText(tr(
                "Sensitivity sweep: prune the whole network (one threshold for all layers) "
                "and each layer alone, at 12 sparsities from 0 to 99 %, and see where "
                "accuracy starts to fall. Press Sensitivity sweep on the left."))
            return
        sweep = progress.sweep
        if list(sweep.accuracy) != list(self._curves):
            self.plot.clear()
            self.plot.addItem(self.knees)
            rows = list(sweep.accuracy)
            self._curves = {row: self.plot.plot(
                pen=pg.mkPen("w" if row == ALL_LAYERS else pg.intColor(i, len(rows)),
                             width=3 if row == ALL_LAYERS else 1.5),
                symbol="o", symbolSize=5, name=tr("all layers") if row == ALL_LAYERS else row)
                for i, row in enumerate(rows)}
        levels = 100 * np.array(sweep.levels)
        for row, curve in self._curves.items():
            accuracy = 100 * np.array(sweep.accuracy[row], float)
            known = ~np.isnan(accuracy)
            curve.setData(levels[known], accuracy[known])
        self.progress.setRange(0, progress.total)
        self.progress.setValue(progress.done)
        self.progress.setVisible(progress.done < progress.total)
        knees = sweep.knees() if progress.done == progress.total else {}
        spots = [(100 * level, 100 * sweep.accuracy[row][sweep.levels.index(level)])
                 for row, level in knees.items() if level is not None]
        self.knees.setData([x for x, _ in spots], [y for _, y in spots])
        if knees:
            self.note.setText(tr(
                "Circles mark each curve's knee: the most pruning before accuracy falls more "
                "than 1 point. {knees}. {count} evaluations of one compiled network (the "
                "masks are its inputs) in {seconds:.1f} s.", knees="; ".join(
                    f"{tr('all layers') if row == ALL_LAYERS else row} "
                    f"{'-' if level is None else f'{100 * level:.0f} %'}"
                    for row, level in knees.items()), count=progress.total,
                seconds=sweep.seconds))
        else:
            self.note.setText(tr("{done} of {total} evaluations", done=progress.done,
                                 total=progress.total))


class GridHistogramView(QWidget):
    """One layer's float weights as a histogram with the int8 grid they round to drawn
    over it (every line is a value q * s an int8 weight can take); below, the few grid
    steps around zero, close enough to see each weight's way to its line."""

    ZOOM = 6  # grid steps either side of zero in the close-up

    def __init__(self, model: CompressModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        self.layer = QComboBox()
        self.layer.setToolTip(tr("The layer whose weights are shown"))
        self.channel = QComboBox()
        self.channel.setToolTip(tr("All the layer's weights, or one output channel's (per "
                                   "channel, each has a grid of its own)"))
        self.plot = _plot(tr("weight value"), tr("count"))
        self.zoom = _plot(tr("weights near zero"), tr("count"))
        self.bars, self.grid = self._layers(self.plot, 60)
        self.zoom_bars, self.zoom_grid = self._layers(self.zoom, 200)
        self.note = wrapped_label()
        choose = QFormLayout()  # one under the other: the views' column may be narrow
        choose.addRow(tr("Layer"), self.layer)
        choose.addRow(tr("Channel"), self.channel)
        for combo in (self.layer, self.channel):
            narrow(combo, 8)
        layout = QVBoxLayout(self)
        layout.addLayout(choose)
        layout.addWidget(self.plot, 3)
        layout.addWidget(self.zoom, 2)
        layout.addWidget(self.note)
        self.layer.currentIndexChanged.connect(self._on_layer)
        self.channel.currentIndexChanged.connect(self.refresh)
        for signal in (model.source_changed, model.compressed, model.settings_changed):
            signal.connect(self.refresh)
        self.refresh()

    @staticmethod
    def _layers(plot: pg.PlotWidget, alpha: int) -> tuple[pg.PlotDataItem, pg.PlotDataItem]:
        bars = plot.plot(stepMode="center", fillLevel=0, brush=(*BARS, 170), pen=BARS)
        grid = plot.plot(pen=pg.mkPen((*GRID[:3], alpha), width=1), connect="pairs")
        return bars, grid

    def _on_layer(self) -> None:
        self._fill_channels()
        self.refresh()

    def _fill_channels(self) -> None:
        layer = self.layer.currentText()
        count = self.model.channels(layer) if layer else 0
        self.channel.blockSignals(True)
        self.channel.clear()
        self.channel.addItem(tr("all channels"), None)
        for c in range(count):
            self.channel.addItem(tr("output channel {index}", index=c), c)
        self.channel.blockSignals(False)

    def refresh(self) -> None:
        layers = self.model.layers() if self.model.blocker() is None else []
        if layers != [self.layer.itemText(i) for i in range(self.layer.count())]:
            self.layer.blockSignals(True)
            self.layer.clear()
            self.layer.addItems(layers)
            self.layer.blockSignals(False)
            self._fill_channels()
        scheme = self.model.quantize_settings.scheme
        self.zoom.setVisible(bool(layers) and scheme != FLOAT16)
        if not layers:
            for item in (self.bars, self.zoom_bars):
                item.setData([0, 1], [0])
            for item in (self.grid, self.zoom_grid):
                item.setData([], [])
            self.note.setText(self.model.blocker() or "")
            return
        layer, channel = self.layer.currentText(), self.channel.currentData()
        self._draw(self.bars, self.grid, self.model.histogram(layer, channel, scheme))
        if scheme == FLOAT16:
            self.note.setText(tr("float16 has no even grid: 1,024 steps between each power "
                                 "of two, so small weights keep as much relative precision "
                                 "as large ones (about 3 decimal digits)."))
            return
        close = self.model.histogram(layer, channel, scheme, zoom=self.ZOOM)
        self._draw(self.zoom_bars, self.zoom_grid, close)
        self.note.setText(tr(
            "Red lines: the values int8 can hold, q * s for q = -127 ... 127, with "
            "s = {scale:.3g} (the largest |weight| / 127{which}). Each weight rounds to "
            "the nearest line, an error of at most s / 2 = {half:.2g}.",
            scale=close.scale, half=close.scale / 2,
            which=tr(", of the channel with the largest scale") if (
                scheme == INT8_PER_CHANNEL and channel is None) else ""))

    @staticmethod
    def _draw(bars: pg.PlotDataItem, grid: pg.PlotDataItem, hist) -> None:
        bars.setData(hist.edges, hist.counts)
        top = max(int(hist.counts.max()), 1)
        grid.setData(np.repeat(hist.grid, 2), np.tile([0, top], len(hist.grid)))


class TuningCurve(QWidget):
    """Accuracy while a compressed network is fine-tuned: each batch's training accuracy
    and each epoch's validation accuracy, beside the accuracy before compression and
    right after it."""

    def __init__(self, model: CompressModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        self.plot = _plot(tr("fine-tuning step"), tr("accuracy (%)"))
        self.plot.addLegend(offset=(-10, -10))
        self.train = self.plot.plot(pen=pg.mkPen((150, 150, 150), width=1),
                                    name=tr("training batches"))
        self.val = self.plot.plot(pen=pg.mkPen((30, 90, 200), width=2.5), symbol="o",
                                  symbolSize=8, name=tr("validation, each epoch"))
        self.before = pg.InfiniteLine(angle=0, pen=pg.mkPen((40, 150, 40), width=1.5),
                                      label=tr("before compression"),
                                      labelOpts={"position": 0.15})
        self.pruned = pg.InfiniteLine(angle=0, pen=pg.mkPen((200, 60, 60), width=1.5),
                                      label=tr("right after, not fine-tuned"),
                                      labelOpts={"position": 0.6})
        self.note = wrapped_label()
        layout = QVBoxLayout(self)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.note)
        for signal in (model.tuning_snapshot, model.compressed, model.source_changed):
            signal.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        snaps = self.model.tuning
        accuracies = np.concatenate([s.step_accuracies for s in snaps]) if snaps else \
            np.zeros(0)
        self.train.setData(np.arange(1, len(accuracies) + 1), 100 * accuracies)
        epochs = [(s.step, 100 * s.val_accuracy) for s in snaps
                  if s.epoch_done and s.val_accuracy is not None]
        self.val.setData([x for x, _ in epochs], [y for _, y in epochs])
        step = self.model.result.step if self.model.result is not None else None
        before = getattr(step, "accuracy_before", None)
        pruned = getattr(step, "accuracy_pruned", None)
        for line, value in ((self.before, before), (self.pruned, pruned)):
            if value is None:
                if line.scene() is not None:
                    self.plot.removeItem(line)
            else:
                line.setValue(100 * value)
                if line.scene() is None:
                    self.plot.addItem(line)
        self.note.setText(tr(
            "Prune and fine-tune (or quantization-aware fine-tuning) shows here how accuracy "
            "comes back while training goes on with the compression held: pruned weights "
            "stay exactly zero, quantized ones on their grid.") if not snaps else tr(
            "{steps} steps of fine-tuning so far.", steps=len(accuracies)))


class PrunedKernels(QWidget):
    """A conv layer's kernels as the slider prunes them: every pruned weight a black
    hole in its filter, on the blue - white - red scale of the Filters view."""

    HOLE = np.array([0, 0, 0], np.uint8)

    def __init__(self, model: CompressModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        self.layer = QComboBox()
        self.layer.setToolTip(tr("The conv layer whose kernels are shown"))
        self.view = pg.GraphicsLayoutWidget()
        self.view.setBackground(GAP_COLOUR)  # not black: black is a hole
        self.box = self.view.addViewBox(lockAspect=True, invertY=True, enableMouse=False,
                                        enableMenu=False)
        self.image = pg.ImageItem()
        self.box.addItem(self.image)
        self.note = wrapped_label()
        choose = QHBoxLayout()
        choose.addWidget(QLabel(tr("Layer")))
        choose.addWidget(self.layer, 1)
        narrow(self.layer, 8)
        layout = QVBoxLayout(self)
        layout.addLayout(choose)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.note)
        self.layer.currentIndexChanged.connect(self.refresh)
        model.preview_ready.connect(self.refresh)
        model.source_changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        layers = self.model.conv_layers()
        if layers != [self.layer.itemText(i) for i in range(self.layer.count())]:
            self.layer.blockSignals(True)
            self.layer.clear()
            self.layer.addItems(layers)
            self.layer.blockSignals(False)
        if not layers:
            self.image.clear()
            self.note.setText(self.model.blocker() or tr("No conv layer to show."))
            return
        values, holes, filters = self.model.pruned_kernels(self.layer.currentText())
        rgb = SIGNED_LUT[values.image]
        if holes is not None:
            rgb[holes.image == LEVELS] = self.HOLE
        self.image.setImage(rgb, autoLevels=False)
        self.box.autoRange(padding=0.02)
        self.note.setText(tr(
            "Each square is one filter's weights for one input channel (a row per filter). "
            "Black: pruned, exactly zero. Removing whole filters instead leaves fewer rows "
            "(and fewer columns in the next layer).") if holes is not None else tr(
            "Whole filters removed: this layer has {count} filters left.", count=filters))
