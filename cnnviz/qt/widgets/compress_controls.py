"""The Compress workspace's controls: how to prune (and the figures of the prune the
slider sets, re-measured at once), how to quantize, and the run and save buttons."""

from __future__ import annotations

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from cnnviz.core.compression import GLOBAL, PER_LAYER
from cnnviz.core.i18n import tr
from cnnviz.core.quantization import (
    FLOAT16,
    INT8_PER_CHANNEL,
    INT8_PER_TENSOR,
    MINMAX,
    PERCENTILE,
)
from cnnviz.qt.widgets.compress_model import CompressModel, PruneSettings, QuantizeSettings
from cnnviz.qt.widgets.compress_plots import narrow, wrapped_label


def squeezable(spin: QAbstractSpinBox) -> None:
    """A spin box that may be narrower than its widest value (a spin box's own policy
    keeps room for it), down to what its value needs now."""
    spin.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)


class LayerChoice(QToolButton):
    """A button that names the chosen layers and opens a menu with a check box for each
    of the network's weighted layers."""

    changed = pyqtSignal()

    def __init__(self, checked: bool, tip: str, parent: QWidget | None = None):
        super().__init__(parent)
        self._checked = checked
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        # a long list of chosen layers is cut, not a reason to widen the column
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(120)
        self.setMenu(QMenu(self))
        self.setToolTip(tip)

    def set_layers(self, names: list[str]) -> None:
        if names == [a.text() for a in self.menu().actions()]:
            return
        self.menu().clear()
        for name in names:
            action = self.menu().addAction(name)
            action.setCheckable(True)
            action.setChecked(self._checked)
            action.toggled.connect(self._toggled)
        self._name()

    def _toggled(self) -> None:
        self._name()
        self.changed.emit()

    def _name(self) -> None:
        chosen, count = self.checked(), len(self.menu().actions())
        self.setText(tr("all {count} layers", count=count) if count and len(chosen) == count
                     else ", ".join(chosen) or tr("none"))

    def checked(self) -> list[str]:
        return [a.text() for a in self.menu().actions() if a.isChecked()]

    def set_checked(self, names: list[str]) -> None:
        for action in self.menu().actions():
            action.setChecked(action.text() in names)

    def count(self) -> int:
        return len(self.menu().actions())


class PruneControls(QGroupBox):
    """Magnitude (single weights) or L1-norm (whole filters) pruning at the slider's
    sparsity, its accuracy and loss re-measured on the validation images at once."""

    def __init__(self, model: CompressModel, parent: QWidget | None = None):
        super().__init__(tr("Pruning"), parent)
        self.model = model
        self.kind = QComboBox()
        self.kind.addItem(tr("single weights (smallest |w|)"), False)
        self.kind.addItem(tr("whole filters (smallest L1)"), True)
        self.kind.setToolTip(tr("Unstructured pruning zeroes single weights; structured "
                                "pruning removes whole filters (conv) or units (dense), so "
                                "the layers get smaller"))
        self.scope = QComboBox()
        self.scope.addItem(tr("one for all layers"), GLOBAL)
        self.scope.addItem(tr("one per layer"), PER_LAYER)
        self.scope.setToolTip(tr("One threshold for all layers (global): the smallest "
                                 "weights of the whole network go, wherever they are; one per "
                                 "layer: every layer loses the same share"))
        self.layers = LayerChoice(True, tr("The layers to prune"))
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 99)
        self.slider.setValue(50)
        self.slider.setToolTip(tr("The share of weights (or filters) to remove; accuracy "
                                  "and loss are measured again at once"))
        self.value = QLabel()
        self.value.setMinimumWidth(40)
        self.figures = wrapped_label()
        self.sweep = QPushButton(tr("Sensitivity sweep"))
        self.sweep.setToolTip(tr("Accuracy at 12 sparsities, for the whole network and for "
                                 "each layer pruned alone"))
        self.speed = QPushButton(tr("Compare speed"))
        self.speed.setToolTip(tr("Measure images per second: unpruned, zeros in place of "
                                 "weights, and filters removed, at this sparsity"))
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 100)
        self.epochs.setValue(2)
        self.epochs.setSuffix(tr(" epochs"))
        self.rounds = QSpinBox()
        self.rounds.setRange(1, 10)
        self.rounds.setPrefix(tr("in "))
        self.rounds.setSuffix(tr(" round(s)"))
        self.rounds.setToolTip(tr("Iterative pruning: prune a share, fine-tune, prune more, "
                                  "... up to the slider's sparsity"))
        self.tune = QPushButton(tr("Prune and fine-tune"))
        self.tune.setToolTip(tr("Prune to the slider's sparsity and train on with the pruned "
                                "weights held at zero; the result can then be saved"))
        slider = QHBoxLayout()
        slider.addWidget(self.slider, 1)
        slider.addWidget(self.value)
        buttons = QHBoxLayout()
        buttons.addWidget(self.sweep)
        buttons.addWidget(self.speed)
        tune = QHBoxLayout()
        tune.addWidget(self.epochs)
        tune.addWidget(self.rounds)
        form = QFormLayout()
        form.addRow(tr("Remove"), self.kind)
        form.addRow(tr("Threshold"), self.scope)
        form.addRow(tr("Layers"), self.layers)
        form.addRow(tr("Sparsity"), slider)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.figures)
        layout.addLayout(buttons)
        layout.addLayout(tune)
        layout.addWidget(self.tune)
        for combo in (self.kind, self.scope):
            narrow(combo)
        for spin in (self.epochs, self.rounds):
            squeezable(spin)
        self.slider.valueChanged.connect(self._changed)
        self.kind.currentIndexChanged.connect(self._changed)
        self.scope.currentIndexChanged.connect(self._changed)
        self.layers.changed.connect(self._changed)
        self.sweep.clicked.connect(lambda: model.run_sweep(self._layers()))
        self.speed.clicked.connect(lambda: model.measure_speed(self.settings().sparsity,
                                                               self._layers()))
        self.tune.clicked.connect(lambda: model.fine_tune(self.settings(), self.epochs.value(),
                                                          self.rounds.value()))
        model.preview_ready.connect(self._show)
        model.source_changed.connect(self.refresh)
        model.busy_changed.connect(self._enable)
        self.refresh()

    def _layers(self) -> list[str] | None:
        chosen = self.layers.checked()
        return None if len(chosen) == self.layers.count() else chosen

    def settings(self) -> PruneSettings:
        return PruneSettings(self.slider.value() / 100, self.scope.currentData(),
                             bool(self.kind.currentData()), self._layers())

    def _changed(self) -> None:
        self.value.setText(f"{self.slider.value()} %")
        self.scope.setEnabled(not self.kind.currentData())
        if not self.layers.checked():
            self.figures.setText(tr("Choose at least one layer to prune."))
            return
        self.model.request_preview(self.settings())

    def refresh(self) -> None:
        """A new source: its layers, and its figures at the slider's setting."""
        self.layers.set_layers(self.model.layers())
        blocker = self.model.blocker()
        self.figures.setText(blocker or tr("measuring..."))
        self._enable(self.model.busy)
        if blocker is None:
            self._changed()

    def _enable(self, busy: str) -> None:
        ready = self.model.blocker() is None
        for button in (self.sweep, self.speed, self.tune):
            button.setEnabled(ready and not busy)

    def _show(self, preview) -> None:
        drop = 100 * (preview.accuracy - preview.base_accuracy)
        same = preview.macs_after == preview.macs_before
        self.figures.setText(tr(
            "<b>Validation accuracy {accuracy:.1f} %</b> (unpruned {base:.1f} %, {drop:+.1f} "
            "points), loss {loss:.3f} (unpruned {base_loss:.3f}).<br>Compressed size "
            "{after:,} bytes (unpruned {before:,}). Multiply-adds per image {macs:,} {how}.",
            accuracy=100 * preview.accuracy, base=100 * preview.base_accuracy, drop=drop,
            loss=preview.loss, base_loss=preview.base_loss, after=preview.bytes_after,
            before=preview.bytes_before, macs=preview.macs_after,
            how=tr("(unchanged: zeros are multiplied all the same)") if same else tr(
                "(unpruned {macs:,})", macs=preview.macs_before)))


class QuantizeControls(QGroupBox):
    """Post-training quantization (and quantization-aware fine-tuning) as chosen here."""

    def __init__(self, model: CompressModel, parent: QWidget | None = None):
        super().__init__(tr("Quantization"), parent)
        self.model = model
        self.scheme = QComboBox()
        for text, value in ((tr("int8, a scale per tensor"), INT8_PER_TENSOR),
                            (tr("int8, a scale per channel"), INT8_PER_CHANNEL),
                            (tr("float16"), FLOAT16)):
            self.scheme.addItem(text, value)
        self.scheme.setCurrentIndex(1)
        self.activations = QComboBox()
        for text, value in ((tr("float"), None),
                            (tr("int8, min to max"), MINMAX),
                            (tr("int8, percentile"), PERCENTILE)):
            self.activations.addItem(text, value)
        self.activations.setToolTip(tr("Quantize each layer's input to int8 too, with a "
                                       "range calibrated on training images"))
        self.images = QSpinBox()
        self.images.setRange(1, 10_000)
        self.images.setValue(256)
        self.images.setSuffix(tr(" images"))
        self.percentile = QDoubleSpinBox()
        self.percentile.setRange(50.1, 100.0)
        self.percentile.setDecimals(2)
        self.percentile.setValue(99.99)
        self.percentile.setToolTip(tr("The range covers this percentile of the values (and "
                                      "100 minus it): rare outliers are clipped so the rest "
                                      "get a finer grid"))
        self.keep = LayerChoice(False, tr("Layers to keep in float32"))
        self.qat = QSpinBox()
        self.qat.setRange(0, 50)
        self.qat.setSuffix(tr(" epochs"))
        self.qat.setSpecialValueText(tr("none"))
        self.qat.setToolTip(tr("Quantization-aware training (QAT): fine-tune through the int8 "
                               "grid (straight-through estimator), the cure when "
                               "post-training quantization loses too much"))
        self.run = QPushButton(tr("Quantize"))
        self.figures = wrapped_label()
        calibration = QHBoxLayout()
        calibration.addWidget(self.images)
        calibration.addWidget(self.percentile)
        form = QFormLayout()
        form.addRow(tr("Weights"), self.scheme)
        form.addRow(tr("Activations"), self.activations)
        form.addRow(tr("Calibration"), calibration)
        form.addRow(tr("Keep float"), self.keep)
        form.addRow(tr("QAT"), self.qat)
        for combo in (self.scheme, self.activations):
            narrow(combo)
        for spin in (self.images, self.percentile):
            squeezable(spin)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.run)
        layout.addWidget(self.figures)
        for control in (self.scheme, self.activations):
            control.currentIndexChanged.connect(self._changed)
        for spin in (self.images, self.percentile, self.qat):
            spin.valueChanged.connect(self._changed)
        self.keep.changed.connect(self._changed)
        self.run.clicked.connect(lambda: model.quantize(model.quantize_settings))
        model.compressed.connect(self._show)
        model.source_changed.connect(self.refresh)
        model.busy_changed.connect(self._enable)
        self.refresh()

    def settings(self) -> QuantizeSettings:
        return QuantizeSettings(self.scheme.currentData(), self.activations.currentData(),
                                self.images.value(), self.percentile.value(),
                                self.keep.checked(), self.qat.value())

    def _changed(self) -> None:
        int8 = self.scheme.currentData() != FLOAT16
        self.activations.setEnabled(int8)
        self.qat.setEnabled(int8)
        if not int8:
            self.activations.setCurrentIndex(0)
            self.qat.setValue(0)
        calibrated = self.activations.currentData() is not None
        self.images.setEnabled(calibrated)
        self.percentile.setEnabled(self.activations.currentData() == PERCENTILE)
        self.model.set_quantize_settings(self.settings())

    def refresh(self) -> None:
        self.keep.set_layers(self.model.layers())
        self._changed()
        self._enable(self.model.busy)
        if self.model.result is None:
            self.figures.setText("")

    def _enable(self, busy: str) -> None:
        self.run.setEnabled(self.model.blocker() is None and not busy)

    def _show(self, result) -> None:
        step = result.step
        if step.kind != "quantize":
            return
        self.figures.setText(tr(
            "<b>Validation accuracy: float {before:.1f} %, quantized {after:.1f} %</b>. "
            "Weights: {float_bytes:,} bytes in float32, {bytes:,} quantized "
            "({ratio:.1f}x smaller).", before=100 * (step.accuracy_before or 0),
            after=100 * (step.accuracy_after or 0), float_bytes=step.bytes_before,
            bytes=step.bytes_after, ratio=step.bytes_before / max(step.bytes_after, 1)))

