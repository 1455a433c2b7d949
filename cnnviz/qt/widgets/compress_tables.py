"""The Compress workspace's tables: each weighted layer's numbers (sparsity, shapes,
scales, zero points, output error, bytes), and the speed of the unpruned, unstructured
and structured networks side by side."""

from __future__ import annotations

import numpy as np
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import (
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cnnviz.core.i18n import marked, tr, translate
from cnnviz.core.shapes import fmt_shape
from cnnviz.qt.widgets.compress_model import CompressModel
from cnnviz.qt.widgets.compress_plots import wrapped_label


def _table(columns: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(columns))
    table.setHorizontalHeaderLabels(columns)
    table.verticalHeader().hide()
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    # whole numbers, never elided: a narrow window scrolls sideways instead
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    return table


def _set(table: QTableWidget, row: int, column: int, text: str, tip: str = "") -> None:
    item = QTableWidgetItem(text)
    if column:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    if tip:
        item.setToolTip(tip)
    table.setItem(row, column, item)


def _scales(scale: np.ndarray) -> str:
    """One scale, or the range of a layer's per-channel scales and their count."""
    scale = np.atleast_1d(scale)
    if scale.size == 1:
        return f"{scale[0]:.3g}"
    return f"{scale.min():.2g} … {scale.max():.2g}"


class LayerTable(QWidget):
    """Per weighted layer: its kernel (and, pruned by filters, the kernel left), the share
    of its weights pruned, and from the last quantization its weight scales, its input's
    scale and zero point, its output's relative error and its bytes."""

    COLUMNS = (marked("Layer"), marked("Kernel"), marked("Pruned"), marked("Weight\nscale"),
               marked("Input scale,\nzero point"), marked("Output\nerror"),
               marked("Bytes\nfloat → quantized"))

    def __init__(self, model: CompressModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        self.table = _table([translate(c) for c in self.COLUMNS])
        self.note = wrapped_label()
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.note)
        for signal in (model.preview_ready, model.compressed, model.source_changed):
            signal.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        model = self.model
        layers = model.layers() if model.blocker() is None else []
        self.table.setRowCount(len(layers))
        if not layers:
            self.note.setText(model.blocker() or "")
            return
        spec, weights = model.session.network.spec, model.session.weights
        index = {name: i for i, name in enumerate(spec.names)}
        preview = model.preview
        pruned_kernels = {}
        if preview is not None and preview.structured:
            pruned_kernels = {name: w["kernel"].shape for name, w in zip(
                preview.spec.names, preview.weights, strict=True) if w}
        result = model.result
        details = result.details if result is not None else None
        for row, name in enumerate(layers):
            shape = weights[index[name]]["kernel"].shape
            kernel = fmt_shape(shape)
            if name in pruned_kernels and pruned_kernels[name] != shape:
                kernel += f" → {fmt_shape(pruned_kernels[name])}"
            _set(self.table, row, 0, name)
            _set(self.table, row, 1, kernel)
            _set(self.table, row, 2, "" if preview is None else
                 f"{100 * preview.layer_sparsity[name]:.1f} %")
            scale = act = error = size = ""
            if details is not None:
                if name in details.scales:
                    scale = _scales(details.scales[name])
                if name in details.activations:
                    s, z = details.activations[name]
                    act = f"{s:.3g}, {z}"
                error = f"{100 * details.errors.get(name, 0.0):.2f} %"
                size = f"{details.bytes_float[name]:,} → {details.bytes_quantized[name]:,}"
            for column, text in ((3, scale), (4, act), (5, error), (6, size)):
                _set(self.table, row, column, text)
        self.note.setText(tr(
            "Pruned: the share of the layer's kernel weights set to zero (or removed with "
            "whole filters and the inputs they fed). Output error: ||quantized output - "
            "float output|| / ||float output|| on the calibration images, the errors of "
            "earlier layers included."))


class SpeedTable(QWidget):
    """The honest contrast: zeros in place of single weights leave every shape and every
    multiply-add as they were; removing whole filters shrinks them, and the time."""

    def __init__(self, model: CompressModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        self.table = _table([tr("Output"), tr("unpruned"), tr("zeros"), tr("filters\nremoved")])
        for column, tip in ((2, tr("Unstructured: the share of single weights set to zero")),
                            (3, tr("Structured: that share of whole filters removed"))):
            self.table.horizontalHeaderItem(column).setToolTip(tip)
        self.note = wrapped_label()
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.note)
        model.speed_ready.connect(self.refresh)
        model.source_changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        rows = self.model.speed
        if rows is None:
            self.table.setRowCount(0)
            self.note.setText(tr("Compare speed measures the unpruned network, the same with "
                                 "the slider's share of single weights set to zero, and with "
                                 "that share of whole filters removed, one after another."))
            return
        analyses = [r.spec.check() for r in rows]
        names = [info.name for info in analyses[0].layers]
        self.table.setRowCount(len(names) + 4)
        for i, name in enumerate(names):
            _set(self.table, i, 0, name)
            for column, analysis in enumerate(analyses, start=1):
                _set(self.table, i, column, fmt_shape(analysis.layers[i].out_shape))
        summary = ((tr("weights ≠ 0"), lambda r: f"{r.nonzero:,}"),
                   (tr("multiply-adds"), lambda r: f"{r.macs:,}"),
                   (tr("images/s"), lambda r: f"{r.images_per_second:,.0f}"),
                   (tr("accuracy"), lambda r: f"{100 * r.accuracy:.1f} %"))
        for j, (label, value) in enumerate(summary):
            row = len(names) + j
            _set(self.table, row, 0, label)
            for column, r in enumerate(rows, start=1):
                _set(self.table, row, column, value(r))
        dense, zeros, filters = rows
        self.note.setText(tr(
            "Per image: kernel weights that are not zero, multiply-adds, images per second "
            "measured side by side, validation accuracy. Zeros shrink a compressed file but "
            "not the work: dense hardware multiplies them "
            "all the same ({zeros:,.0f} vs {dense:,.0f} images/s). Removing filters shrinks "
            "the shapes and the multiply-adds ({ratio:.1f}x fewer), and the time "
            "({filters:,.0f} images/s), at a cost in accuracy that fine-tuning can win back.",
            zeros=zeros.images_per_second, dense=dense.images_per_second,
            ratio=dense.macs / max(filters.macs, 1), filters=filters.images_per_second))
