"""The Compress workspace: prune and quantize the trained network, and see in numbers and
pictures what it costs and what it saves. Controls on the left; on the right the layers'
numbers, the sensitivity sweep, the weights over the int8 grid, fine-tuning curves and
the speed comparison. `add_compress_workspace(window)` puts it in the main window.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import (
    QHBoxLayout,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from cnnviz.core.i18n import marked, tr
from cnnviz.io.compression import MASKS, RECORD, load_record, read_masks
from cnnviz.qt import dialogs
from cnnviz.qt.widgets.compress_controls import PruneControls, QuantizeControls
from cnnviz.qt.widgets.compress_model import CompressModel
from cnnviz.qt.widgets.compress_plots import (
    GridHistogramView,
    PrunedKernels,
    SweepPlot,
    TuningCurve,
    wrapped_label,
)
from cnnviz.qt.widgets.compress_tables import LayerTable, SpeedTable

CONTROLS_WIDTH = 330  # the left column's width where there is room (1280 x 720)
TITLE = marked("Compress")  # its key, shown translated by the window


class JobBar(QWidget):
    """Under the workspace: what runs now (with a Stop button), saving the compressed
    model as a project and opening it, and what was done to the open project's model."""

    def __init__(self, model: CompressModel, open_project: Callable[[str], object] | None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.model, self.open_project = model, open_project
        self.busy = wrapped_label()
        self.stop = QPushButton(tr("Stop"))
        self.stop.setToolTip(tr("Stop the sweep or fine-tuning after its current step"))
        self.save = QPushButton(tr("Save compressed model as..."))
        self.save.setToolTip(tr("A new project whose weights are the compressed ones, with "
                                "what was done recorded in it; this one stays as it is"))
        self.open = QPushButton(tr("Open it"))
        self.open.setToolTip(tr("Open the project just saved in this window"))
        self.record = wrapped_label()
        row = QHBoxLayout()
        row.addWidget(self.busy, 1)
        for button in (self.stop, self.save, self.open):
            row.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 4)
        layout.addLayout(row)
        layout.addWidget(self.record)
        self.stop.clicked.connect(model.cancel)
        self.save.clicked.connect(self._save)
        self.open.clicked.connect(self._open)
        model.busy_changed.connect(self.refresh)
        model.compressed.connect(self.refresh)
        model.source_changed.connect(self.refresh)
        model.record_changed.connect(self.refresh)
        self._path: str | None = None
        self.refresh()

    def refresh(self) -> None:
        busy = self.model.busy
        if busy:
            text = tr("Running: {what}...", what=busy)
        elif self._path is not None:
            text = tr("Saved {path}.", path=self._path)
        elif self.model.result is not None:
            text = tr("Done: {what}", what=self._last())
        else:
            text = tr("Nothing compressed yet: prune and fine-tune, or quantize, to get a "
                      "model to save.")
        self.busy.setText(text)
        self.stop.setVisible(bool(busy))
        self.save.setEnabled(self.model.result is not None and not busy)
        self.open.setVisible(self._path is not None and self.open_project is not None)
        lines = self.model.describe_record()
        self.record.setText(tr("This model: {steps}", steps="; ".join(lines)) if lines else "")
        self.record.setVisible(bool(lines))

    def _last(self) -> str:
        from cnnviz.core.compression_record import describe

        return describe(self.model.result.step)

    def _save(self) -> None:
        path = dialogs.save_path(self, str(Path.home() / "compressed.cnnviz"))
        if path is None:
            return
        try:
            self.model.save_result(path)
        except OSError as exc:
            dialogs.show_error(self, tr("Could not save"), tr(
                "{path}: {reason}", path=path, reason=exc.strerror or exc))
            return
        self._path = path
        self.refresh()

    def _open(self) -> None:
        if self._path is not None and self.open_project is not None:
            self.open_project(self._path)


class CompressWorkspace(QWidget):
    def __init__(self, model: CompressModel,
                 open_project: Callable[[str], object] | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        intro = wrapped_label(tr(
            "Make the trained network smaller. Pruning removes weights (or whole filters); "
            "quantization stores them in fewer bits. Every change is measured at once on the "
            "validation images."))
        self.prune = PruneControls(model)
        self.quantize = QuantizeControls(model)
        self.job = JobBar(model, open_project)
        column = QWidget()
        controls = QVBoxLayout(column)
        for widget in (intro, self.prune, self.quantize):
            controls.addWidget(widget)
        controls.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(column)
        scroll.setWidgetResizable(True)
        # as narrow as its forms allow (never a sideways scroll bar), wider where there is room
        scroll.setMinimumWidth(column.minimumSizeHint().width() + 2 * scroll.frameWidth()
                               + scroll.verticalScrollBar().sizeHint().width())
        self.views = QTabWidget()
        self.layers = LayerTable(model)
        self.kernels = PrunedKernels(model)
        self.sweep = SweepPlot(model)
        self.grid = GridHistogramView(model)
        self.tuning = TuningCurve(model)
        self.speed = SpeedTable(model)
        for view, title in ((self.layers, tr("Layers")), (self.kernels, tr("Kernels")),
                            (self.sweep, tr("Sensitivity")),
                            (self.grid, tr("Quantization grid")),
                            (self.tuning, tr("Fine-tuning")), (self.speed, tr("Speed"))):
            self.views.addTab(view, title)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(scroll)
        split.addWidget(self.views)
        # half and half: a narrow window (1024 x 768) narrows the controls to their least
        # and gives the views the rest; a wide one gives the controls no more than they use
        scroll.setMaximumWidth(CONTROLS_WIDTH * 3 // 2)
        split.setSizes([CONTROLS_WIDTH, CONTROLS_WIDTH])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(split, 1)
        layout.addWidget(self.job)
        # a job's results come forward as they start to arrive
        model.sweep_progress.connect(lambda _: self._show(self.sweep))
        model.speed_ready.connect(lambda _: self._show(self.speed))
        model.tuning_snapshot.connect(lambda _: self._show(self.tuning))
        model.compressed.connect(self._on_compressed)

    def _show(self, view: QWidget) -> None:
        self.views.setCurrentWidget(view)

    def _on_compressed(self, result) -> None:
        if result.step.kind == "quantize" and not result.step.qat_epochs:
            self._show(self.layers)


def add_compress_workspace(window) -> CompressWorkspace:
    """The Compress tab in `window` (a MainWindow): fed by its session, its record and
    masks saved in its project file, its jobs ended with the window."""
    model = CompressModel(window.session, window)
    workspace = CompressWorkspace(model, lambda path: window.files.settle() and
                                  window.open_file(path))
    window.add_tab(workspace, TITLE)
    window.add_shutdown(model.shutdown)
    window.file.register_extra(RECORD, model.record_bytes, model.put_record, load_record)
    window.file.register_extra(MASKS, model.masks_bytes, model.put_masks, read_masks)
    window.exporter.quantization = model.int8_quantization  # File > Export's int8 graph
    model.failed.connect(lambda title, message: dialogs.show_error(window, title, message))
    return workspace


if __name__ == "__main__":
    import sys
    import tempfile

    from PyQt6.QtCore import QSettings
    from PyQt6.QtWidgets import QApplication

    from cnnviz.qt.main_window import MainWindow

    # the window with one epoch of training of the default network, the workspace in front
    app = QApplication(sys.argv)
    window = MainWindow(QSettings(tempfile.mktemp(suffix=".ini"), QSettings.Format.IniFormat))
    workspace = add_compress_workspace(window)
    window.session.set_config(epochs=1)
    window.session.data_changed.connect(
        lambda: window.session.blocker() is None and window.session.weights is None
        and not window.session.active and window.session.start())
    window.show_tab(workspace)
    window.show()
    sys.exit(app.exec())
