"""The Compress workspace's model: what is being compressed (the session's trained
network, weights and data), the requests the panels make, and their results.

All JAX work runs in background threads (GeneratorThread), one job at a time; a slider
preview asked for while another job runs waits for it, and only the latest one asked
for runs. Results arrive as signals; the panels draw them and hold no copy.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
from PyQt6 import sip
from PyQt6.QtCore import QObject, QTimer, pyqtSignal

from cnnviz.core.compression import (
    GLOBAL,
    CompressionError,
    Weights,
    weighted_layers,
)
from cnnviz.core.compression_record import CompressionRecord, describe
from cnnviz.core.config import TrainConfig
from cnnviz.core.i18n import tr
from cnnviz.core.layers import Conv2D
from cnnviz.core.mosaic import kernel_mosaic, pruned_mosaic, symmetric_range
from cnnviz.core.network import NetworkSpec
from cnnviz.core.quantization import (
    DEFAULT_PERCENTILE,
    FLOAT16,
    INT8_PER_CHANNEL,
    GridHistogram,
    grid_histogram,
    int8_conv_pixel,
    int8_pixel_lines,
    weight_scale,
)
from cnnviz.core.snapshot import COMPILING, RUNNING, Snapshot
from cnnviz.data.dataset import Dataset
from cnnviz.io.compression import (
    CompressionFileError,
    compressed_project,
    int8_quantization,
    masks_bytes,
    masks_for,
    record_bytes,
)
from cnnviz.io.project import Project, save_project
from cnnviz.qt.session import Session
from cnnviz.qt.worker import GeneratorThread

log = logging.getLogger(__name__)

PREVIEW_DELAY_MS = 40  # a dragged slider's positions are gathered into one evaluation


@dataclass(frozen=True)
class PruneSettings:
    sparsity: float = 0.5
    scope: str = GLOBAL
    structured: bool = False
    layers: list[str] | None = None  # None: every weighted layer


@dataclass(frozen=True)
class QuantizeSettings:
    scheme: str = INT8_PER_CHANNEL
    calibration: str | None = None  # None: activations stay float
    images: int = 256
    percentile: float = DEFAULT_PERCENTILE
    keep_float: list[str] = field(default_factory=list)
    qat_epochs: int = 0


@dataclass(frozen=True)
class Source:
    """What is compressed: the session's network, weights, data and settings as they
    were when a job was asked for."""

    spec: NetworkSpec
    weights: Weights
    dataset: Dataset
    config: TrainConfig


class CompressModel(QObject):
    source_changed = pyqtSignal()  # another network, weights or data: results cleared
    busy_changed = pyqtSignal(str)  # what runs now, "" when nothing
    preview_ready = pyqtSignal(object)  # PrunePreview
    sweep_progress = pyqtSignal(object)  # SweepProgress
    speed_ready = pyqtSignal(object)  # list[SpeedRow]
    tuning_snapshot = pyqtSignal(object)  # Snapshot of a fine-tuning run
    compressed = pyqtSignal(object)  # Compressed: a finished prune or quantization
    record_changed = pyqtSignal()  # the open project's record of compression
    settings_changed = pyqtSignal()  # the quantization settings chosen
    failed = pyqtSignal(str, str)  # title, message

    def __init__(self, session: Session, parent: QObject | None = None):
        super().__init__(parent)
        self.session = session
        self.preview = self.sweep = self.speed = self.result = None
        self.record = CompressionRecord()  # what was done to the open project's model
        self.busy = ""
        self.tuning: list[Snapshot] = []  # the fine-tuning run's snapshots so far
        self.quantize_settings = QuantizeSettings()
        self._evaluators = None  # engine Evaluators for the source's evaluation images
        self._evaluators_for = None
        self._thread: GeneratorThread | None = None
        self._cancel = threading.Event()
        self._pending: PruneSettings | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(PREVIEW_DELAY_MS)
        self._timer.timeout.connect(self._start_preview)
        session.run_changed.connect(self._on_source)
        session.data_changed.connect(self._on_source)
        session.history_reset.connect(self._on_source)
        self._source_key = self._key()

    # -- the source --------------------------------------------------------------------
    def _key(self):
        """What results belong to; a change of blocker (training started, stopped) also
        tells the panels, which then enable or explain."""
        s = self.session
        return (s.network.spec, id(s.weights), id(s.dataset), self.blocker())

    def _on_source(self) -> None:
        if self._key() == self._source_key:
            return
        self._source_key = self._key()
        self.preview = self.sweep = self.speed = self.result = None
        self.tuning = []
        # a preview asked for the old source is not wanted (the panels ask again for the
        # new one, if it can be compressed): left waiting, it would start once training runs
        self._pending = None
        self._timer.stop()
        self.source_changed.emit()

    def blocker(self) -> str | None:
        """Why nothing can be compressed now, or None."""
        s = self.session
        if s.active and s.state in (RUNNING, COMPILING):
            return tr("training is running; pause or stop it first")
        if s.weights is None:
            return tr("train the network first: compression starts from trained weights")
        if s.dataset is None:
            return tr("the data is still loading")
        if not s.network.analysis.ok:
            return tr("fix the network first")
        return None

    def source(self) -> Source:
        s = self.session
        return Source(s.network.spec, s.weights, s.dataset, s.config)

    def layers(self) -> list[str]:
        return weighted_layers(self.session.network.spec) if self.session.network.analysis.ok \
            else []

    def channels(self, layer: str) -> int:
        """How many output channels (filters, units) `layer` has."""
        index = self.session.network.spec.names.index(layer)
        return int(self.session.weights[index]["kernel"].shape[-1])

    def set_quantize_settings(self, settings: QuantizeSettings) -> None:
        if settings != self.quantize_settings:
            self.quantize_settings = settings
            self.settings_changed.emit()

    # -- the open project's record ----------------------------------------------------------
    def record_bytes(self) -> bytes | None:
        return record_bytes(self.record) if self.record.steps else None

    def masks_bytes(self) -> bytes | None:
        """The open project's pruning masks (the session's: its runs hold them)."""
        masks = self.session.masks
        return None if masks is None else masks_bytes(self.session.network.spec, masks)

    def put_record(self, record: CompressionRecord | None) -> None:
        """The record of a project just opened (read and checked by io.load_record when
        the file was), or None: it has none."""
        self.record = record or CompressionRecord()
        self.record_changed.emit()

    def put_masks(self, flat: dict | None) -> None:
        """The pruning masks of a project just opened (read by io.read_masks), for its
        network, to the session; masks that do not fit it are dropped (they are only kept
        to hold zeros while training)."""
        try:
            masks = None if flat is None else masks_for(self.session.network.spec, flat)
        except CompressionFileError as exc:
            log.warning("pruning masks dropped: %s", exc)
            masks = None
        self.session.set_masks(masks)

    def int8_quantization(self):
        """The int8 quantization (a QuantizeStep) the open project's weights are on, as its
        record says, or None."""
        s = self.session
        return None if s.weights is None else int8_quantization(self.record, s.network.spec,
                                                                s.weights)

    def describe_record(self) -> list[str]:
        return [describe(step) for step in self.record.steps]

    # -- jobs ---------------------------------------------------------------------------------
    def request_preview(self, settings: PruneSettings) -> None:
        """Evaluate a prune at once (the latest request wins)."""
        self._pending = settings
        if self.blocker() is None:
            self._timer.start()

    def _start_preview(self) -> None:
        if self._pending is None or self._thread is not None:
            return  # a job runs: it starts the preview when it ends
        if self.blocker() is not None:  # the panels say why; nobody pressed anything
            self._pending = None
            return
        settings, self._pending = self._pending, None
        self._run(tr("evaluating"), partial(self._preview_job, self.source(), settings),
                  self._on_preview)

    def run_sweep(self, layers: list[str] | None = None) -> None:
        self._run(tr("sensitivity sweep"), partial(self._sweep_job, self.source(), layers),
                  self._on_sweep)

    def measure_speed(self, sparsity: float, layers: list[str] | None = None) -> None:
        self._run(tr("measuring speed"), partial(self._speed_job, self.source(), sparsity,
                                                 layers), self._on_speed)

    def fine_tune(self, settings: PruneSettings, epochs: int, rounds: int) -> None:
        from_ = self.source()
        self.tuning = []

        def job():
            from cnnviz.engine.compress_pipeline import prune

            return prune(from_.spec, from_.dataset, from_.config, from_.weights,
                         sparsity=settings.sparsity, scope=settings.scope,
                         layers=settings.layers, structured=settings.structured,
                         epochs=epochs, rounds=rounds)

        self._run(tr("pruning and fine-tuning"), job, self._on_compress_item)

    def quantize(self, settings: QuantizeSettings) -> None:
        from_, masks = self.source(), self.session.masks
        self.tuning = []

        def job():
            from cnnviz.engine.compress_pipeline import quantize

            return quantize(from_.spec, from_.dataset, from_.config, from_.weights, masks,
                            scheme=settings.scheme, calibration=settings.calibration,
                            images=settings.images, percentile=settings.percentile,
                            keep_float=settings.keep_float, qat_epochs=settings.qat_epochs)

        self._run(tr("quantizing"), job, self._on_compress_item)

    def cancel(self) -> None:
        """Stop the job that runs (between two of its steps)."""
        self._cancel.set()

    def _run(self, what: str, job: Callable[[], Iterator], on_item) -> None:
        blocker = self.blocker()
        if blocker is not None:
            self.failed.emit(tr("Cannot compress"), blocker)
            return
        if self._thread is not None:
            self.failed.emit(tr("Busy"), tr("wait until {what} has finished", what=self.busy))
            return
        self._cancel.clear()
        thread = GeneratorThread(partial(self._cancellable, job), "compress")
        key = self._source_key  # a result for weights since replaced is dropped
        thread.yielded.connect(partial(self._deliver, key, on_item))
        thread.errored.connect(self._on_error)
        thread.finished.connect(self._on_finished)
        self._thread = thread
        self._set_busy(what)
        thread.start()

    def _deliver(self, key, on_item, item) -> None:
        """A job's result, unless its weights were replaced since or the window closed
        meanwhile (the thread outlives the model then: Qt keeps a plain callable's
        connection, so the result still arrives)."""
        if not sip.isdeleted(self) and key == self._source_key:
            on_item(item)

    def _cancellable(self, job: Callable[[], Iterator]) -> Iterator:
        for item in job():
            yield item
            if self._cancel.is_set():
                return

    def _set_busy(self, what: str) -> None:
        self.busy = what
        self.busy_changed.emit(what)

    # -- in the worker thread ---------------------------------------------------------------------
    def _evaluators_of(self, source: Source):
        from cnnviz.engine.compress import evaluation_set
        from cnnviz.engine.compress_preview import Evaluators

        key = (source.spec, id(source.dataset))
        if self._evaluators_for != key:
            _, x, y = evaluation_set(source.dataset)
            self._evaluators, self._evaluators_for = Evaluators(x, y), key
        return self._evaluators

    def _preview_job(self, source: Source, settings: PruneSettings) -> Iterator:
        from cnnviz.engine.compress_preview import preview_prune

        yield preview_prune(self._evaluators_of(source), source.spec, source.weights,
                            settings.sparsity, settings.scope, settings.layers,
                            settings.structured)

    def _sweep_job(self, source: Source, layers: list[str] | None) -> Iterator:
        from cnnviz.engine.compress import sweep

        yield from sweep(self._evaluators_of(source)(source.spec), source.weights,
                         layers=layers)

    def _speed_job(self, source: Source, sparsity: float, layers: list[str] | None
                   ) -> Iterator:
        from cnnviz.engine.compress_preview import compare_speed

        yield compare_speed(self._evaluators_of(source), source.spec, source.weights,
                            sparsity, layers)

    # -- back in the GUI thread -------------------------------------------------------------------
    def _on_preview(self, preview) -> None:
        self.preview = preview
        self.preview_ready.emit(preview)

    def _on_sweep(self, progress) -> None:
        self.sweep = progress
        self.sweep_progress.emit(progress)

    def _on_speed(self, rows) -> None:
        self.speed = rows
        self.speed_ready.emit(rows)

    def _on_compress_item(self, item) -> None:
        # the job has loaded the engine already: importing it here costs nothing
        from cnnviz.engine.compress_pipeline import Compressed

        if isinstance(item, Snapshot):
            self.tuning.append(item)
            self.tuning_snapshot.emit(item)
        elif isinstance(item, Compressed):  # (a Round between fine-tunings is not shown)
            self.result = item
            self.compressed.emit(item)

    def _on_error(self, exc: Exception) -> None:
        title = tr("Cannot compress") if isinstance(exc, CompressionError) else tr(
            "Compression failed")
        self.failed.emit(title, str(exc) or type(exc).__name__)

    def _on_finished(self) -> None:
        self._thread = None
        self._set_busy("")
        if self._pending is not None:
            self._timer.start()

    def histogram(self, layer: str, channel: int | None, scheme: str,
                  zoom: int | None = None) -> GridHistogram:
        """The float weights of `layer` (of one output channel, or all) over the int8 grid:
        the last quantization's scale when it used this scheme, else the scheme's own.
        With `zoom`, only the `zoom` grid steps either side of zero, 8 bins a step."""
        index = self.session.network.spec.names.index(layer)
        kernel = self.session.weights[index]["kernel"]
        values = kernel if channel is None else kernel[..., channel]
        if scheme == FLOAT16:
            return grid_histogram(values)
        result = self.result
        scales = result.details.scales if (
            result is not None and result.details is not None
            and result.step.scheme == scheme) else {}
        scale = scales.get(layer)
        if scale is None:
            scale = weight_scale(kernel, scheme == INT8_PER_CHANNEL)
        # one channel's own scale; for all channels (per channel) the largest one's
        scale = float(scale if scale.ndim == 0 else scale.max() if channel is None
                      else scale[channel])
        if zoom is None:
            return grid_histogram(values, scale)
        return grid_histogram(values, scale, 16 * zoom, (-zoom * scale, zoom * scale))

    def pruned_kernels(self, layer: str):
        """The last preview's kernels of conv `layer` as a mosaic (a row per filter, a tile
        per input channel, blue - white - red on the unpruned kernel's scale), a mosaic of
        the same layout that is LEVELS where a weight was pruned and 0 where it stayed
        (None when whole filters were removed instead), and how many filters are left."""
        preview = self.preview
        index = preview.spec.names.index(layer)
        kernel = preview.weights[index]["kernel"]
        scale = symmetric_range(self.session.weights[index]["kernel"])
        values, filters = kernel_mosaic(kernel, scale, rgb=False), kernel.shape[-1]
        if preview.masks is None:
            return values, None, filters
        return values, pruned_mosaic(kernel, preview.masks[index]["kernel"], rgb=False), filters

    def int8_notes(self, layer: str, filter_index: int, close_up) -> list[str]:
        """The step-through's conv output (a core.arithmetic ConvOutput of `layer`'s filter
        `filter_index`) computed in int8, when `layer` has int8 weights and inputs: in
        the quantization just made here, else in the one the open project records."""
        params = self._int8_params(layer)
        if params is None:
            return []
        scheme, (x_scale, x_zero), scales = params
        w_scale = float(scales if scales.ndim == 0 else scales[filter_index])
        pixel = int8_conv_pixel(close_up.patch.values, close_up.kernel, close_up.bias,
                                x_scale, x_zero, w_scale)
        return int8_pixel_lines(pixel, scheme)

    def _int8_params(self, layer: str):
        """(scheme, (input scale, zero point), weight scales) of an int8 `layer`, or None."""
        result = self.result
        if result is not None and result.details is not None and (
                layer in result.details.activations and layer in result.details.scales):
            return (result.step.scheme, result.details.activations[layer],
                    np.asarray(result.details.scales[layer], np.float32))
        for step in reversed(self.record.steps):
            if step.kind == "quantize" and layer in step.activations and (
                    layer in step.weight_scales):
                scales = np.asarray(step.weight_scales[layer], np.float32)
                return (step.scheme, tuple(step.activations[layer]),
                        scales.reshape(()) if scales.size == 1 else scales)
        return None

    def conv_layers(self) -> list[str]:
        """The conv layers of the last preview's network."""
        preview = self.preview
        if preview is None:
            return []
        return [name for name, layer in zip(preview.spec.names, preview.spec.layers,
                                            strict=True) if isinstance(layer, Conv2D)]

    # -- saving -----------------------------------------------------------------------------------
    def save_result(self, path: str | Path) -> None:
        """Save the last compressed model as a new project (the open one is untouched),
        the session's runs kept and the compressed model one more; raises OSError if it
        cannot be written."""
        s, result = self.session, self.result
        if result is None:
            raise ValueError("nothing compressed yet")
        here = Project(s.network.spec, s.config, s.dataset_name, s.weights, s.history,
                       runs=s.runs.runs, per_class=s.per_class)
        save_project(path, compressed_project(here, result, self.record))

    def shutdown(self, timeout_s: float) -> bool:
        """Stop any job and wait for its thread; True if it ended in time."""
        self._timer.stop()
        self._pending = None
        self.cancel()
        thread = self._thread
        return thread is None or thread.wait(timeout_s)

