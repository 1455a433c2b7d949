"""The runs of the open project (core.runs), as the window keeps them: the run being
trained is recorded as it goes, and kept when the next begins; any of them can be shown
together (curves overlaid, figures side by side). The session records, panels read."""

from __future__ import annotations

from dataclasses import replace

from PyQt6.QtCore import QObject, pyqtSignal

from cnnviz.core.config import TrainConfig
from cnnviz.core.history import History
from cnnviz.core.network import NetworkSpec
from cnnviz.core.runs import TRAINED, Run, Weights, new_run, renamed


class RunLog(QObject):
    changed = pyqtSignal()  # a run was added, updated, renamed or removed, or others shown

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.runs: list[Run] = []
        self.current: int | None = None  # the run being recorded, if any
        self.shown: list[int] = []  # the runs shown together, in the order they were chosen
        self._next_origin: tuple[str, str] = (TRAINED, "")  # (kind, source) of the next run

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
               steps_per_epoch: int | None, test: tuple[float, float] | None = None) -> None:
        """The run being trained, as it is now (a new run if none is being recorded)."""
        if not history.steps:
            return
        extra: dict = {"per_class": per_class, "weights": weights,
                       "steps_per_epoch": steps_per_epoch}
        if test is not None:
            extra["test_loss"], extra["test_accuracy"] = test
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

    def close(self) -> None:
        """The run being recorded is over: the next training is a new run."""
        self.current = None

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
