"""The runs of the open project (core.runs), as the window keeps them: the run being
trained is recorded as it goes, and kept when the next begins; any of them can be shown
together (curves overlaid, figures side by side). The session records, panels read.

A run's test loss and accuracy are worked out once it is over, in a thread of their own
(the engine's evaluate on the test images), so that the run itself ends at once.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import numpy as np
from PyQt6 import sip
from PyQt6.QtCore import QObject, pyqtSignal

from cnnviz.core.config import TrainConfig
from cnnviz.core.history import History
from cnnviz.core.network import NetworkSpec
from cnnviz.core.runs import TRAINED, Run, Weights, new_run, renamed
from cnnviz.qt.worker import GeneratorThread


class RunLog(QObject):
    changed = pyqtSignal()  # a run was added, updated, renamed or removed, or others shown

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.runs: list[Run] = []
        self.current: int | None = None  # the run being recorded, if any
        self.shown: list[int] = []  # the runs shown together, in the order they were chosen
        self._next_origin: tuple[str, str] = (TRAINED, "")  # (kind, source) of the next run
        self._measuring: GeneratorThread | None = None
        self._to_measure: tuple | None = None  # the next run to measure, when one is

    def get(self, number: int) -> Run | None:
        return next((run for run in self.runs if run.number == number), None)

    def shown_runs(self) -> list[Run]:
        """The runs shown together, the first chosen first (the one the others are
        compared with)."""
        return [run for run in map(self.get, self.shown) if run is not None]

    # -- recording (the session) -------------------------------------------------------
    def load(self, runs: list[Run], current: int | None) -> None:
        """A project's runs (opened, or new); `current` is the one its training continues."""
        self.runs, self.current, self.shown = list(runs), current, []
        self._next_origin = (TRAINED, "")
        self.changed.emit()

    def start_next_as(self, kind: str, source: str) -> None:
        """The next run recorded is of this kind, its weights from `source` (in words)."""
        self._next_origin = (kind, source)

    def record(self, spec: NetworkSpec, config: TrainConfig, dataset: str,
               per_class: int | None, history: History, weights: Weights | None,
               steps_per_epoch: int | None) -> None:
        """The run being trained, as it is now (a new run if none is being recorded); its
        test figures, of other weights, are gone until measured again, and the history is
        its own now (a compressed model trained on: its epochs give its figures)."""
        if not history.steps:
            return
        extra: dict = {"per_class": per_class, "weights": weights,
                       "steps_per_epoch": steps_per_epoch, "test_loss": None,
                       "test_accuracy": None, "val_loss": None, "val_accuracy": None,
                       "own_history": True}
        run = self.get(self.current) if self.current is not None else None
        if run is None:
            kind, source = self._next_origin
            self._next_origin = (TRAINED, "")
            run = new_run(self.runs, spec, config, dataset, history, kind=kind, source=source,
                          **extra)
            self.runs.append(run)
            self.current = run.number
        else:
            self._put(replace(run, spec=spec, config=config, dataset=dataset, history=history,
                              **extra))
        self.changed.emit()

    def make_current(self, number: int) -> None:
        """Training continues run `number` (its weights and curves were put back)."""
        if self.get(number) is not None and number != self.current:
            self.current = number
            self.changed.emit()

    def close(self) -> None:
        """The run being recorded is over: the next training is a new run."""
        self.current = None

    def measure(self, number: int, x_test: np.ndarray, y_test: np.ndarray) -> None:
        """Work out run `number`'s test loss and accuracy, its weights' on these images,
        in the background; the run gets them if its weights are still those then."""
        run = self.get(number)
        if run is None or run.weights is None or not len(x_test):
            return
        self._to_measure = (number, run.spec, run.weights, x_test, y_test)
        if self._measuring is None:
            self._measure_next()

    def _measure_next(self) -> None:
        job, self._to_measure = self._to_measure, None
        if job is None:
            return
        number, spec, weights, x, y = job
        thread = GeneratorThread(partial(_test_figures, spec, weights, x, y), "test")
        thread.returned.connect(lambda figures: self._measured(number, weights, figures))
        thread.finished.connect(self._on_measured)
        self._measuring = thread
        thread.start()

    def _measured(self, number: int, weights: Weights, figures: tuple[float, float]) -> None:
        if sip.isdeleted(self):  # the window closed while the figures were worked out
            return
        run = self.get(number)
        if run is not None and run.weights is weights:
            self._put(replace(run, test_loss=figures[0], test_accuracy=figures[1]))
            self.changed.emit()

    def _on_measured(self) -> None:
        self._measuring = None
        self._measure_next()

    def shutdown(self, timeout_s: float) -> bool:
        """Drop what waits to be measured and wait for the thread; True if it ended."""
        self._to_measure = None
        thread = self._measuring
        return thread is None or thread.wait(timeout_s)

    # -- the learner's edits (the runs panel) -----------------------------------------
    def rename(self, number: int, name: str) -> None:
        """RunError if the name is empty or too long."""
        run = self.get(number)
        if run is not None and run.name != name:
            self._put(renamed(run, name))
            self.changed.emit()

    def remove(self, number: int) -> None:
        self.runs = [run for run in self.runs if run.number != number]
        self.shown = [n for n in self.shown if n != number]
        if self.current == number:
            self.current = None
        self.changed.emit()

    def set_shown_all(self, numbers: list[int]) -> None:
        """Show these runs (those that exist), in this order, and no others."""
        self.shown = [n for n in numbers if self.get(n) is not None]
        self.changed.emit()

    def set_shown(self, number: int, shown: bool) -> None:
        if shown == (number in self.shown) or self.get(number) is None:
            return
        self.shown = [*self.shown, number] if shown else [n for n in self.shown if n != number]
        self.changed.emit()

    def _put(self, run: Run) -> None:
        self.runs = [run if r.number == run.number else r for r in self.runs]


def _test_figures(spec: NetworkSpec, weights: Weights, x: np.ndarray, y: np.ndarray
                  ) -> tuple[float, float]:
    """(loss, accuracy) of `weights` on (x, y), by the engine (in the calling thread)."""
    from cnnviz.engine.trainer import evaluate  # JAX is loaded by now: a run trained

    return evaluate(spec, weights, x, y)
