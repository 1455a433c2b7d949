"""Feeds the StepModel: the probe image's inspection, at rest and while training.

At rest (before a run, paused, after it) the weights are the session's, or those a run
would start from, and the optimizer state the run left at its last rest (a checkpoint
carries it) when it belongs to those weights, else a fresh one. While a run steps, each
new view data from the trainer brings the weights it was computed with (labelled with
their step). Either way one background thread runs the engine (engine.inspect, and
engine.saliency for the saliency page): the GUI thread never waits for JAX. Requests
that come while it works are gathered into one, made when it is done: the latest wins.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from functools import partial

import numpy as np
from PyQt6.QtCore import QObject

from cnnviz.core.i18n import tr
from cnnviz.core.snapshot import COMPILING, RUNNING, ProbeImage, Views
from cnnviz.data.class_names import shown_class_names
from cnnviz.qt.live_model import LiveModel
from cnnviz.qt.session import Session
from cnnviz.qt.step_model import BATCH, AppliedStep, StepModel
from cnnviz.qt.worker import Checkpoint, GeneratorThread, yield_cpu_to_the_gui

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class Job:
    """What one computation needs, gathered on the GUI thread."""

    spec: object  # NetworkSpec
    weights: object  # the weights, or None: those a run with `seed` starts from
    seed: int
    step: int
    probe: ProbeImage
    optimizer: str
    learning_rate: float
    optimizer_state: object  # the optax state of `weights`, or None: a fresh one
    dataset: object  # Dataset: where the batch comes from
    batch_size: int | None  # the backward step on a batch of this size, too
    looks: bool  # compute saliency and Grad-CAM
    smooth: bool  # and SmoothGrad
    apply: str | None  # run one training step on "image" or "batch"
    live: bool


class Tools:
    """The engine's compiled pieces for one network, kept between jobs."""

    def __init__(self, spec):
        from cnnviz.engine.inspect import Inspector
        from cnnviz.engine.saliency import Looker

        self.spec = spec
        self.inspector, self.looker = Inspector(spec), Looker(spec)
        self._start: tuple | None = None  # (seed, the weights a run starts from)

    def initial_params(self, seed: int):
        """The weights a run with `seed` starts from (made once: it takes many dispatches)."""
        from cnnviz.engine.trainer import initial_params

        if self._start is None or self._start[0] != seed:
            self._start = (seed, initial_params(self.spec, seed))
        return self._start[1]


def run_job(tools: Tools | None, job: Job, newer: threading.Event):
    """In the helper thread, a generator: ("inspection", tools, the image's inspection,
    the batch's or None) first, then ("applied", AppliedStep) if a step was asked for,
    then ("looks", Looks) if they were, unless `newer` is set by then (another job
    waits: the view shows the inspection sooner, the looks follow with it)."""
    if job.live:
        yield_cpu_to_the_gui()  # training and the window come first
    from cnnviz.engine.inspect import fresh_optimizer, optimizer_numbers
    from cnnviz.engine.probe import fixed_batch

    if tools is None or tools.spec != job.spec:
        tools = Tools(job.spec)
    params = job.weights if job.weights is not None else tools.initial_params(job.seed)
    state, numbers = job.optimizer_state, None
    if not job.live:  # while a run steps, its optimizer state stays with it
        if state is None:
            state = fresh_optimizer(job.optimizer, job.learning_rate, params)
        numbers = optimizer_numbers(job.optimizer, state, fresh=job.optimizer_state is None)

    def inspect(weights, images, labels, numbers_):
        return tools.inspector.inspect(weights, images, labels, job.step, numbers_)

    image = job.probe.image[None]
    label = job.probe.label
    if label is None:  # a drawing: the loss is taken against the class the network picks
        label = int(np.argmax(inspect(params, image, [0], None).logits[0]))
    ins = inspect(params, image, [label], numbers)
    xy = fixed_batch(job.dataset, job.batch_size) if job.batch_size else None
    batch = inspect(params, *xy, numbers) if xy is not None else None
    yield "inspection", tools, ins, batch
    if job.apply is not None:
        x, y = (image, np.array([label])) if job.apply != BATCH else xy
        before = ins if job.apply != BATCH else batch
        new_params, new_state, _ = tools.inspector.apply_step(
            params, state, job.optimizer, x, y, job.seed, job.step)
        after = tools.inspector.inspect(new_params, x, y, job.step + 1,
                                        optimizer_numbers(job.optimizer, new_state))
        yield "applied", AppliedStep(before, after, job.apply)
    if job.looks and not newer.is_set():
        yield "looks", tools.looker.look(params, job.probe.image, job.smooth)


class StepController(QObject):
    """Connects a StepModel to the live views' model (the probe, the trainer's view data)
    and to the session (weights, optimizer, data, network)."""

    def __init__(self, model: StepModel, live: LiveModel, session: Session,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.model, self.live, self.session = model, live, session
        self._tools: Tools | None = None
        self._thread: GeneratorThread | None = None
        self._busy = False
        self._pending = False
        self._apply: str | None = None
        self._done_key: tuple | None = None  # what the shown inspection was computed from
        self._checkpoint: tuple[object, str, object] | None = None  # weights, optimizer, state
        self._newer = threading.Event()  # set: a request waits for the job in flight
        self._looks_probe: ProbeImage | None = None  # the image the model's looks are of
        live.probe_requested.connect(self._on_probe)
        live.views_changed.connect(self._on_views)
        session.worker.checkpoint.connect(self._on_checkpoint)
        session.worker.device_found.connect(self.request)
        session.network.changed.connect(self._on_network)
        session.history_reset.connect(self.request)
        session.config_changed.connect(self.request)
        model.wanted_changed.connect(self.request)
        model.visible_changed.connect(self._on_visible)
        model.apply_requested.connect(self._on_apply)

    @property
    def training(self) -> bool:
        """A run steps: the trainer's view data brings the weights."""
        return self.session.active and self.session.state in (RUNNING, COMPILING)

    # -- what changed ------------------------------------------------------------------
    def _on_probe(self, _probe: ProbeImage) -> None:
        if not self.training:
            self.request()

    def _on_views(self, _views: Views) -> None:
        if self.training:
            self.request()

    def _on_checkpoint(self, checkpoint: Checkpoint) -> None:
        self._checkpoint = (checkpoint.weights, self.session.config.optimizer,
                            checkpoint.optimizer_state)
        self.request()

    def _on_network(self) -> None:
        self.model.clear()
        self.request()

    def _on_visible(self, visible: bool) -> None:
        if visible:
            self.request()

    def _on_apply(self) -> None:
        if self.training:
            self.model.set_status(tr("Pause training first: a step applied now would race "
                                     "the running one."))
            return
        self._apply = self.model.mode
        self.model.set_status(tr("Applying one training step (the first one compiles)…"))
        self.request()

    # -- computing ---------------------------------------------------------------------
    def _job(self) -> tuple[Job, tuple] | None:
        """The computation the model needs now and what it is computed from, or None
        (nothing to do, or done already)."""
        s, m = self.session, self.model
        if (not m.visible or s.dataset is None or not s.network.analysis.ok
                or s.worker.device is None):  # JAX is imported by one thread only
            return None
        live = self.training
        views = self.live.views
        if live:
            if views is None or views.probe.weights is None:
                return None
            weights, step, probe = views.probe.weights, views.step, views.probe.input
        else:
            if self.live.probe is None:
                return None
            weights, step, probe = s.weights, s.history.steps, self.live.probe
        if tuple(probe.image.shape) != tuple(s.network.spec.input_shape):
            return None  # an image of the data before: the new data's probe is on its way
        state = None
        if self._checkpoint is not None and weights is self._checkpoint[0] and (
                s.config.optimizer == self._checkpoint[1]):
            state = self._checkpoint[2]
        looks = m.stage == m.looks_stage or not live
        key = (s.network.spec, id(weights), step, id(probe), s.config.optimizer,
               s.config.batch_size, s.config.learning_rate, id(state), m.mode, looks, m.smooth)
        if key == self._done_key and self._apply is None:
            return None
        return Job(s.network.spec, weights, s.config.seed, step, probe, s.config.optimizer,
                   s.config.learning_rate, state, s.dataset,
                   s.config.batch_size if m.mode == BATCH else None, looks, m.smooth,
                   self._apply, live), key

    def request(self) -> None:
        if self._busy:
            self._pending = True
            self._newer.set()
            return
        asked = self._job()
        if asked is None:
            return
        job, key = asked
        self._busy, self._pending, self._apply = True, False, None
        self._newer = threading.Event()
        thread = GeneratorThread(partial(run_job, self._tools, job, self._newer),
                                 "step-through")
        thread.yielded.connect(partial(self._on_item, job, key))
        thread.errored.connect(self._on_error)
        thread.finished.connect(self._on_done)
        self._thread = thread
        thread.start()

    def _on_item(self, job: Job, key: tuple, item: tuple) -> None:
        if item[0] == "inspection":
            self._tools = item[1]
        if job.live != self.training or job.spec != self.session.network.spec:
            return  # the run started or stopped, or the network changed meanwhile
        m = self.model
        if item[0] == "inspection":
            _, _, ins, batch = item
            self._done_key = key
            dataset = self.session.dataset
            names = shown_class_names(dataset.class_names) if dataset is not None else ()
            same_image = self._looks_probe is job.probe  # its looks stay until new ones come
            m.show(ins, batch, m.looks if same_image else None, job.live, job.probe.caption,
                   names)
            if m.status and job.apply is None:
                m.set_status("")
        elif item[0] == "applied":
            m.set_applied(item[1])
            m.set_status(tr("One step applied to a copy of the weights: the network itself "
                            "is unchanged."))
        else:
            self._looks_probe = job.probe
            m.set_looks(item[1])

    def _on_error(self, exc: Exception) -> None:
        log.warning("step-through: %s", exc)
        self.model.set_status(tr("Could not compute the step-through: {error}", error=exc))

    def _on_done(self) -> None:
        self._busy = False
        if self._pending:
            self.request()

    def shutdown(self, timeout_s: float) -> bool:
        """Wait for a computation in flight; True if none is left."""
        self._pending = False
        return self._thread is None or self._thread.wait(timeout_s)
