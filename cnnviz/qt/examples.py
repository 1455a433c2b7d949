"""Train > Examples: plays a one-click example (core.examples), one run after another
through the session as the learner would (set up, Start, wait for the end), names each
run, and at the end shows the runs it compares. Stopping a run, or closing the window,
ends the example; the runs trained so far stay."""

from __future__ import annotations

from dataclasses import replace

from PyQt6.QtCore import QObject, pyqtSignal
from PyQt6.QtWidgets import QMainWindow, QMenu

from cnnviz.core.config import TrainConfig
from cnnviz.core.examples import EXAMPLES, Example, ExampleRun
from cnnviz.core.fine_tune import plan_fine_tune
from cnnviz.core.history import EARLY_STOPPED
from cnnviz.core.i18n import tr
from cnnviz.core.network import NetworkSpec
from cnnviz.core.runs import source_text
from cnnviz.core.snapshot import FINISHED, STOPPED
from cnnviz.data.registry import DATASETS
from cnnviz.qt import dialogs
from cnnviz.qt.session import Session


class ExamplePlayer(QObject):
    """Plays one example at a time; `progress` says what it does, `finished` (whether it
    ran to its end) once it is over."""

    progress = pyqtSignal(str)
    finished = pyqtSignal(bool)

    def __init__(self, session: Session, parent: QObject | None = None):
        super().__init__(parent)
        self.session = session
        self.example: Example | None = None
        self.numbers: list[int] = []  # the example's runs trained so far, by run number
        self._starting = False  # set up, waiting for its data to start
        self._was_active = False
        session.data_changed.connect(self._advance)
        session.run_changed.connect(self._advance)

    @property
    def playing(self) -> bool:
        return self.example is not None

    def play(self, example: Example) -> None:
        if self.playing or self.session.active:
            return
        self.example, self.numbers = example, []
        self._set_up(example.runs[0])

    def stop(self) -> None:
        if self.playing:
            self.example = None
            self.finished.emit(False)

    # -- one run after another --------------------------------------------------------------
    def _set_up(self, step: ExampleRun) -> None:
        s, info = self.session, DATASETS[step.dataset].info
        config = replace(TrainConfig(), **step.config)
        if step.fine_tune is None:
            spec = NetworkSpec(info.input_shape, step.layers).adapted(info.input_shape,
                                                                       info.num_classes)
            s.set_up(spec, config, step.dataset, step.per_class)
        else:
            source = s.runs.get(self.numbers[step.fine_tune])
            plan = plan_fine_tune(source.spec, source.weights, info.input_shape,
                                  info.num_classes, new_head=True, seed=config.seed)
            s.fine_tune(plan.spec, plan.weights, config, step.dataset, step.per_class,
                        source_text(source.name, source.dataset))
        self._starting = True
        self.progress.emit(tr("Example, run {n} of {total}: {name}", n=len(self.numbers) + 1,
                              total=len(self.example.runs), name=step.name))
        self._advance()

    def _advance(self) -> None:
        """Start a run once its data is there; when it has finished, the next."""
        s, example = self.session, self.example
        if example is None:
            return
        if self._starting:
            if s.blocker() is None:
                self._starting, self._was_active = False, True
                s.start()
            return
        if s.active or not self._was_active:
            return
        self._was_active = False
        halts = s.history.halts
        ran = s.state == FINISHED or (s.state == STOPPED and bool(halts)
                                      and halts[-1].reason == EARLY_STOPPED)
        if not ran or s.runs.current is None:  # stopped by the learner: the example ends
            self.stop()
            return
        number = s.runs.current
        s.runs.rename(number, str(example.runs[len(self.numbers)].name))
        self.numbers.append(number)
        if len(self.numbers) < len(example.runs):
            self._set_up(example.runs[len(self.numbers)])
            return
        s.runs.set_shown_all([self.numbers[i] for i in example.shown])
        self.example = None
        self.progress.emit(tr("Example done: the runs are compared in Runs and on the "
                              "curves."))
        self.finished.emit(True)


def add_examples(window: QMainWindow, menu: QMenu, session: Session) -> ExamplePlayer:
    """A menu entry per example in `menu`; the player says in the status bar what it
    does. Trained weights that no kept run holds are not replaced without asking."""
    player = ExamplePlayer(session, window)
    player.progress.connect(lambda text: window.statusBar().showMessage(text, 0))
    player.finished.connect(lambda done: done or window.statusBar().showMessage(
        tr("Example stopped: the runs trained so far are kept in Runs."), 8000))

    def play(example: Example) -> None:
        if session.untracked_weights() and not dialogs.confirm(
                window, tr("Replace the trained weights?"), tr("Play the example?"),
                tr("The trained weights are not kept in a run; save the project first to "
                   "keep them."), tr("Play")):
            return
        player.play(example)

    for example in EXAMPLES.values():
        action = menu.addAction(str(example.title))
        action.setStatusTip(str(example.description))
        action.triggered.connect(lambda _checked, e=example: play(e))
    return player
