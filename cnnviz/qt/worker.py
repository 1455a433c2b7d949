"""Long work off the GUI thread: a function or generator in a thread, its results as signals.

`GeneratorThread` is the one adapter. It calls its function inside its own thread and, if
that returns a generator, iterates it there too, so imports, JAX calls and downloads never
touch the GUI thread. Values cross back as queued signals, by reference (snapshots are
immutable numpy data). `TrainingWorker` runs one such thread per training run behind
signals that live as long as the window, so views connect to `snapshot` once.

The thread is a Python (non-daemon) thread rather than a QThread on purpose: Python
treats a QThread as a daemon, and threads started inside one inherit that, so a helper
thread JAX code starts there (the engine compiles in the background) would be killed
mid-compile at exit, which aborts the process. A non-daemon thread, and every thread it
starts, is joined before the interpreter shuts down.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial

import numpy as np
from PyQt6.QtCore import QCoreApplication, QEvent, QObject, pyqtSignal, pyqtSlot

from cnnviz.core.commands import Command, Stop
from cnnviz.core.compression import Masks
from cnnviz.core.config import TrainConfig
from cnnviz.core.history import History
from cnnviz.core.i18n import tr
from cnnviz.core.network import NetworkSpec
from cnnviz.core.optimizer_leaves import OptimizerLeaves, OptimizerStateError
from cnnviz.core.snapshot import FINISHED, PAUSED, STOPPED, Snapshot
from cnnviz.data.dataset import Dataset
from cnnviz.qt.throttle import LIVE_VIEWS_HZ, VIEW_HZ

log = logging.getLogger(__name__)

Weights = list[dict[str, np.ndarray]]

# States in which the trainer waits (or is done), so its weights can be copied safely.
RESTING = (PAUSED, FINISHED, STOPPED)
BACKGROUND_NICE = 10  # training's priority below the GUI thread's (0); see below
# How long a thread may hold the interpreter while another waits for it (Python's default
# is 5 ms). The GUI thread runs Python (pyqtgraph) while it paints; the training thread
# needs the interpreter for a moment between dispatches, and the device idles meanwhile.
GIL_SWITCH_S = 0.001


def yield_cpu_to_the_gui() -> None:
    """Run this thread, and every thread it starts, at a lower priority than the GUI.

    Training keeps every core busy; at equal priority a repaint then shares its core
    with JAX and takes twice as long, stalling the window. A lower priority costs
    training nothing while the GUI is idle. The first JAX call creates JAX's compute
    thread pools, which inherit this, so the thread that loads JAX calls it first.
    On Linux a thread's nice value is its own; elsewhere this does nothing.
    """
    if sys.platform.startswith("linux"):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICE)


class GeneratorThread(QObject):
    """Runs `fn()` in a thread of its own: a generator's items arrive as `yielded`, a
    plain return value as `returned`, an exception as `errored`; then `finished`.

    It has no Qt parent: the running thread keeps it alive, so it can still report if
    its listeners are gone (a window closed while JAX was importing); Qt then drops
    the signals."""

    yielded = pyqtSignal(object)
    returned = pyqtSignal(object)
    errored = pyqtSignal(object)
    finished = pyqtSignal()

    def __init__(self, fn: Callable[[], object], name: str,
                 expected: tuple[type[Exception], ...] = ()):
        """`expected`: the errors a user can cause (no data without a network, say):
        they reach the listeners as any other, but are logged in one line, without a
        traceback, for they are no fault of the program."""
        super().__init__()
        self._fn, self._expected = fn, expected
        self._thread = threading.Thread(target=self._run, name=f"cnnviz-{name}", daemon=False)

    def start(self) -> None:
        self._thread.start()

    def wait(self, timeout_s: float) -> bool:
        """Wait for the thread to end; True if it has (or never started)."""
        if self._thread.ident is not None:
            self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def _run(self) -> None:
        try:
            result = self._fn()
            if isinstance(result, Iterator):
                for item in result:
                    self.yielded.emit(item)
                result = None
            self.returned.emit(result)
        except Exception as exc:  # shown to the user by whoever listens; keep the trace here
            if isinstance(exc, self._expected):
                log.info("%s: %s", self._thread.name, exc)
            else:
                log.exception("background task failed")
            self.errored.emit(exc)
        finally:
            self.finished.emit()


@dataclass(frozen=True)
class Checkpoint:
    """The trainer's weights, history and optimizer state (the optax tree, for the
    step-through's update in numbers), copied in its own thread while it rests."""

    weights: Weights
    history: History
    optimizer_state: object = None
    optimizer_leaves: OptimizerLeaves | None = None  # the same state, kept to continue with


def load_engine() -> str:
    """Import the engine (and with it JAX) and say which device it trains on."""
    yield_cpu_to_the_gui()
    importlib.import_module("cnnviz.engine.trainer")  # first: it sets XLA's flags for JAX
    return _device_text()


def _device_text() -> str:
    import jax

    device = jax.devices()[0]
    if device.platform == "cpu":
        return tr("CPU ({n} cores)", n=os.cpu_count())
    return f"{device.platform.upper()} {device.id}: {device.device_kind}"


class TrainingWorker(QObject):
    """Runs Trainer.run() in a thread per run and relays what it yields.

    `snapshot` is the one signal views subscribe to for live training data. Commands
    (pause, step, learning rate, ...) go straight to the trainer, which is thread-safe;
    ones sent before the trainer exists are handed over as soon as it does.
    """

    snapshot = pyqtSignal(object)  # Snapshot
    checkpoint = pyqtSignal(object)  # Checkpoint, after every snapshot in a RESTING state
    failed = pyqtSignal(object)  # the exception that ended a run
    device_found = pyqtSignal(str)  # once JAX has loaded
    running_changed = pyqtSignal(bool)
    note = pyqtSignal(str)  # something the learner should know about the run just started

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        sys.setswitchinterval(GIL_SWITCH_S)
        self._lock = threading.Lock()
        self._trainer = None
        self._early: list[Command] = []
        self._run_thread: GeneratorThread | None = None
        self._running = False
        self._engine_thread: GeneratorThread | None = None
        self.device: str | None = None

    # -- JAX, loaded once in the background ------------------------------------------
    def load_engine(self) -> None:
        """Start importing JAX now, so the first Start does not wait for it."""
        if self._engine_thread is not None:
            return
        self._engine_thread = GeneratorThread(load_engine, "engine")
        self._engine_thread.returned.connect(self._on_device)
        self._engine_thread.errored.connect(self.failed)
        self._engine_thread.start()

    def _on_device(self, text: str) -> None:
        self.device = text
        self.device_found.emit(text)

    # -- runs --------------------------------------------------------------------------
    def is_running(self) -> bool:
        """From start() until the GUI thread has received everything the run sent."""
        return self._running

    def start(self, spec: NetworkSpec, dataset: Dataset, config: TrainConfig,
              weights: Weights | None, history: History, masks: Masks | None = None,
              optimizer_state: OptimizerLeaves | None = None) -> None:
        """Train from `weights` (None: fresh ones); with pruning `masks`, the weights they
        prune stay zero; with `optimizer_state` the optimizer goes on from it (a fresh one,
        and a `note`, if it does not fit)."""
        if self.is_running():
            raise RuntimeError("a training run is already in progress")
        self._early = []
        history = History.from_dict(history.to_dict())  # the trainer appends to its own copy
        thread = GeneratorThread(partial(self._train, spec, dataset, config, weights, history,
                                         masks, optimizer_state), "training")
        thread.yielded.connect(self._relay)
        thread.errored.connect(self.failed)
        thread.finished.connect(self._on_finished)
        self._run_thread = thread
        self._running = True
        thread.start()
        self.running_changed.emit(True)

    def _train(self, spec, dataset, config, weights, history, masks, optimizer_state):
        """The run, in the worker thread: the trainer's snapshots, plus a Checkpoint
        whenever it rests (it waits for a command then, so its params are stable)."""
        from cnnviz.engine.inspect import host_tree  # JAX loads here if not yet loaded
        from cnnviz.engine.resume import kept_leaves

        yield_cpu_to_the_gui()
        # a snapshot as often as the window redraws: more would cost both threads time
        options = {"history": history, "snapshot_interval": 1 / VIEW_HZ,
                   "probe_interval": 1 / LIVE_VIEWS_HZ}
        trainer = None
        if optimizer_state is not None:
            try:
                trainer = _trainer(spec, dataset, config, weights, masks, optimizer_state,
                                   options)
            except OptimizerStateError as exc:
                self.note.emit(tr("The optimizer state kept with the run was not used ({reason}); "
                                  "training starts a fresh one.", reason=exc))
        if trainer is None:
            trainer = _trainer(spec, dataset, config, weights, masks, None, options)
        with self._lock:
            self._trainer = trainer
            for cmd in self._early:
                trainer.command(cmd)
        try:
            for snap in trainer.run():
                yield snap
                if snap.state in RESTING:
                    state = host_tree(trainer.opt_state)
                    yield Checkpoint(trainer.numpy_params(),
                                     History.from_dict(trainer.history.to_dict()), state,
                                     kept_leaves(config.optimizer, trainer.history.steps,
                                                 state))
        finally:
            with self._lock:
                self._trainer = None

    # Real Qt slots (not plain methods, which PyQt would call through a proxy object), so
    # that stop_and_wait can deliver what a run sent by flushing this object's events.
    @pyqtSlot(object)
    def _relay(self, item: Snapshot | Checkpoint) -> None:
        if isinstance(item, Checkpoint):
            self.checkpoint.emit(item)
        else:
            self.snapshot.emit(item)

    @pyqtSlot()
    def _on_finished(self) -> None:
        self._running = False
        self.running_changed.emit(False)

    def command(self, cmd: Command) -> None:
        """Thread-safe; a no-op when nothing runs."""
        with self._lock:
            if self._trainer is not None:
                self._trainer.command(cmd)
            elif self.is_running():
                self._early.append(cmd)

    # -- shutdown ----------------------------------------------------------------------
    def stop_and_wait(self, timeout_s: float) -> bool:
        """Stop any run and wait for its thread; True if it ended in time. What the run
        sent before it ended (its last checkpoint) is delivered before this returns."""
        self.command(Stop())
        thread = self._run_thread
        if thread is None or thread.wait(timeout_s):
            QCoreApplication.sendPostedEvents(self, QEvent.Type.MetaCall)
            return True
        return False

    def shutdown(self, timeout_s: float) -> bool:
        """Stop any run and wait for every thread; True if all ended in time."""
        ok = self.stop_and_wait(timeout_s)
        engine = self._engine_thread
        return (engine is None or engine.wait(timeout_s)) and ok


def _trainer(spec, dataset, config, weights, masks, kept: OptimizerLeaves | None, options):
    """The run's Trainer (in the worker thread), its optimizer going on from `kept` if
    given (OptimizerStateError if it does not fit)."""
    from cnnviz.engine.trainer import Trainer

    if kept is not None and weights is not None:
        from cnnviz.engine.resume import run_state

        options = {**options, "opt_state": run_state(config, spec, weights,
                                                      options["history"].steps, kept)}
    if masks is None:
        return Trainer(spec, dataset, config, params=weights, **options)
    # the optimizer zeroes the pruned weights' updates
    from cnnviz.engine.compress_tuning import masked_trainer

    return masked_trainer(spec, dataset, config, weights, masks, **options)
