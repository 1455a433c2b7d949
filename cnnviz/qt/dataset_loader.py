"""Loading datasets by name in the background, with download progress; the newest request wins."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from PyQt6.QtCore import QObject, pyqtSignal

from cnnviz.data.dataset import Dataset, DatasetError
from cnnviz.data.registry import load_dataset
from cnnviz.qt.worker import GeneratorThread


@dataclass(frozen=True)
class DataRequest:
    """What identifies a loaded dataset: the split depends on seed and validation fraction."""

    name: str
    seed: int = 0
    validation_fraction: float = 0.1


class LoadCancelled(Exception):
    """Raised from the progress callback to abandon a download nobody wants any more."""


class DatasetLoader(QObject):
    """Runs `load(name, seed=, validation_fraction=, progress=)` (the registry's
    load_dataset by default) in a thread. A request made while another loads cancels
    that one at its next progress report and replaces it, so only the newest arrives."""

    progress = pyqtSignal(object, object, str)  # done, total or None, message
    loaded = pyqtSignal(object, object)  # DataRequest, Dataset
    failed = pyqtSignal(object, object)  # DataRequest, exception

    def __init__(self, load: Callable[..., Dataset] = load_dataset,
                 parent: QObject | None = None):
        super().__init__(parent)
        self._load = load
        self._thread: GeneratorThread | None = None
        self._current: DataRequest | None = None
        self._pending: DataRequest | None = None
        self._cancel = threading.Event()

    @property
    def loading(self) -> DataRequest | None:
        """The request being loaded (or queued to load next), None when idle."""
        return self._pending or self._current

    def request(self, req: DataRequest) -> None:
        if self._thread is None:
            self._start(req)
        elif req == self._current:
            self._pending = None
            self._cancel.clear()
        else:
            self._pending = req
            self._cancel.set()

    def _start(self, req: DataRequest) -> None:
        self._current, self._pending = req, None
        self._cancel = threading.Event()
        thread = GeneratorThread(partial(self._run, req, self._cancel), "data",
                                 expected=(DatasetError, OSError, LoadCancelled))
        thread.returned.connect(self._on_loaded)
        thread.errored.connect(self._on_failed)
        thread.finished.connect(self._on_finished)
        self._thread = thread
        thread.start()

    def _run(self, req: DataRequest, cancel: threading.Event) -> Dataset:
        def report(done: int, total: int | None, message: str) -> None:
            if cancel.is_set():
                raise LoadCancelled
            self.progress.emit(done, total, message)

        return self._load(req.name, seed=req.seed, validation_fraction=req.validation_fraction,
                          progress=report)

    def _on_loaded(self, dataset: Dataset) -> None:
        if self._pending is None:
            self.loaded.emit(self._current, dataset)

    def _on_failed(self, exc: Exception) -> None:
        if self._pending is None and not isinstance(exc, LoadCancelled):
            self.failed.emit(self._current, exc)

    def _on_finished(self) -> None:
        self._thread = None
        pending, self._current = self._pending, None
        if pending is not None:
            self._start(pending)

    def shutdown(self, timeout_s: float = 5.0) -> bool:
        """Abandon pending work and wait for the thread; True if it ended in time."""
        self._pending = None
        self._cancel.set()
        return self._thread is None or self._thread.wait(timeout_s)
