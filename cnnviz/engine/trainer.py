"""The Trainer: a plain generator of Snapshots, steered by commands between steps.

All JAX work happens in the thread that iterates ``run()``. The training set goes to
the device once; each dispatch trains ``steps_per_dispatch`` batches gathered by index
inside one jitted call, so there is no per-step host-to-device copy and (on CPU) the
per-call overhead is shared by several steps. Snapshots are throttled by time.

Once a view sends SetProbe, snapshots also carry the live views' data (engine.probe),
on their own, slower clocks: the probe image's activations and the filters at most every
`probe_interval`, the costlier parts (gradient, statistics, test grid, a replay frame)
at most every `detail_interval`, the confusion matrix at each epoch's end. Without a
probe (the CLI) none of it is computed. While the run steps, views are asked for at one
snapshot and delivered at the next (so they are up to one probe interval old, labelled
with their step); when it rests, they come at once.

Each dispatch is handed its steps' learning rates, worked out on the host
(core.schedules: the schedule, live changes, cuts on a plateau), so none of them
recompiles. At each epoch's end the plateau schedule and early stopping
(core.early_stopping) look at the validation metrics; the weights of the best epoch (the
host copy `_keep` takes anyway) are put back at the end when the config asks.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator

import jax
import jax.numpy as jnp
import numpy as np

from cnnviz.core.commands import (
    Command,
    Pause,
    Resume,
    SetLearningRate,
    SetProbe,
    SetReplay,
    StepOnce,
    Stop,
)
from cnnviz.core.config import ConfigError, TrainConfig
from cnnviz.core.divergence import LossWatch, largest_weight
from cnnviz.core.early_stopping import replayed
from cnnviz.core.history import BEST_RESTORED, DIVERGED, EARLY_STOPPED, Halt, History
from cnnviz.core.i18n import Message
from cnnviz.core.network import NetworkError, NetworkSpec, Problem, all_frozen_message
from cnnviz.core.replay import MAX_FRAMES, Replay
from cnnviz.core.schedules import LearningRate
from cnnviz.core.snapshot import (
    COMPILING,
    FINISHED,
    PAUSED,
    RUNNING,
    STOPPED,
    Confusion,
    ProbeImage,
    Snapshot,
    Views,
)
from cnnviz.data.dataset import Dataset, DatasetError
from cnnviz.engine.model import Params, init_params, params_to_numpy
from cnnviz.engine.probe import (  # noqa: F401 (EVAL_BATCH: API)
    EVAL_BATCH,
    Prober,
    Request,
    padded_batches,
)
from cnnviz.engine.resume import checked_state
from cnnviz.engine.steps import (
    config_optimizer,
    make_eval_step,
    make_penalty,
    make_train_step,
    set_learning_rate,
)


def default_steps_per_dispatch(batch_size: int) -> int:
    """Enough steps per jitted call to amortise dispatch at small batches; one at large
    batches, where compile time would grow. keras-cifar10 on a 2-core AMD EPYC (Zen 4),
    benchmarks/batch_parts.py, 5 rounds, idle: at batch 32, one, two and four steps a
    call trained 0.90x, 0.91x and 0.97x as fast as eight; at batch 128, one and two ran
    alike (1.00x, 1.02x). A call's overhead is fixed while a step's time grows with the
    batch, so the count follows the batch on any CPU."""
    return max(1, min(8, 256 // batch_size))


def evaluate(spec: NetworkSpec, params: Params, x: np.ndarray, y: np.ndarray,
             eval_step=None) -> tuple[float, float]:
    """(mean loss, accuracy) over all of x, in fixed-size batches (one compilation)."""
    if len(x) == 0:
        return float("nan"), float("nan")
    eval_step = eval_step or make_eval_step(spec)
    loss_sum = correct = 0.0
    for xb, yb, weight, _ in padded_batches(x, y):
        ls, c = eval_step(params, xb, yb, weight)
        loss_sum += float(ls)
        correct += float(c)
    return loss_sum / len(x), correct / len(x)


def initial_params(spec: NetworkSpec, seed: int) -> Params:
    """The weights a run with this seed starts from (views show them before training)."""
    return init_params(spec, jax.random.fold_in(jax.random.PRNGKey(seed), 0))


class _BackgroundCompile:
    """Compile `jitted` for these argument shapes on a helper thread. Not a daemon: the
    interpreter must not tear down while XLA is compiling (that aborts the process), so
    exiting waits for a compile still in flight."""

    def __init__(self, jitted, *args):
        # shapes only: the arrays themselves may be donated by a step meanwhile
        args = jax.tree.map(lambda a: jax.ShapeDtypeStruct(np.shape(a), jnp.result_type(a)),
                            args)
        self.compiled = None
        self.done = threading.Event()
        threading.Thread(target=self._run, args=(jitted, args), name="cnnviz-compile").start()

    def _run(self, jitted, args) -> None:
        try:
            self.compiled = jitted.lower(*args).compile()
            self.done.set()
        except Exception:  # noqa: BLE001 - training then stays on the one-step path
            return


class Trainer:
    """Trains `spec` on `dataset` as `config` says, from `params` if given (else a fresh
    seeded init) and from `opt_state` if given (a host tree of the state a run left, as
    engine.inspect.host_tree makes it: OptimizerStateError if it does not fit), else a
    fresh optimizer state. Iterate ``run()``; call ``command()`` from any thread."""

    def __init__(self, spec: NetworkSpec, dataset: Dataset, config: TrainConfig,
                 params: Params | None = None, history: History | None = None, *,
                 opt_state=None, snapshot_interval: float = 0.05,
                 steps_per_dispatch: int | None = None, probe_interval: float = 0.1,
                 detail_interval: float = 1.0):
        if not spec.check(dataset.num_classes).trainable_params:
            raise NetworkError([Problem(all_frozen_message())])
        problem = config.validation_problem(len(dataset.x_val))
        if problem:
            raise ConfigError(problem)
        if tuple(spec.input_shape) != dataset.input_shape:
            raise DatasetError(Message("the network takes {shape} images but {name} has {data}",
                                       shape=tuple(spec.input_shape), name=dataset.name,
                                       data=dataset.input_shape))
        if len(dataset.x_train) < config.batch_size:
            raise DatasetError(Message("batch size {batch_size} is larger than the {n} "
                                       "training images", batch_size=config.batch_size,
                                       n=len(dataset.x_train)))
        self.spec, self.dataset, self.config = spec, dataset, config
        self.history = history or History()
        self.snapshot_interval = snapshot_interval
        self.steps_per_dispatch = steps_per_dispatch or default_steps_per_dispatch(
            config.batch_size)
        self.steps_per_epoch = len(dataset.x_train) // config.batch_size
        # the rate of every step (schedule, live changes, cuts on a plateau), and early
        # stopping: both as they stand after the epochs the history records
        self.schedule = LearningRate(config, self.steps_per_epoch)
        for metrics in self.history.epochs:
            self.schedule.end_of_epoch(metrics)
        self.stopping = replayed(config, self.history.epochs) if config.early_stopping else None
        self._best: list[dict[str, np.ndarray]] | None = None  # the best epoch's weights
        self.learning_rate = self.schedule.rate(self.history.steps + 1)  # of the next step
        self._commands: queue.Queue[Command] = queue.Queue()
        self._key = jax.random.PRNGKey(config.seed)
        self.params = params if params is not None else initial_params(spec, config.seed)
        self.optimizer = config_optimizer(config, spec)
        # a run continued: its optimizer state as it stood (Adam's moments and count go on)
        self.opt_state = self.optimizer.init(self.params) if opt_state is None else (
            checked_state(self.optimizer, self.params, opt_state))
        # the part of the loss that L2 weight decay adds (SGD's), shown beside the loss
        self._penalty = make_penalty(spec, config)
        self.state = COMPILING
        # JAX dispatches asynchronously: without a bound, this loop would queue dispatches
        # a second or more ahead of the device, and snapshots, views and commands would
        # lag that far behind. Two in flight keep the device busy all the same.
        self.max_in_flight = 2
        # the live views' data: nothing until a view sends SetProbe
        self.probe_interval, self.detail_interval = probe_interval, detail_interval
        self._probe: ProbeImage | None = None
        self._prober: Prober | None = None
        self.replay = Replay()
        self._last_probe = self._last_detail = -np.inf
        self._next_frame = 0
        self._last_batch: np.ndarray | None = None  # indices of the batch trained last
        self._steps_sent = self.history.steps  # steps dispatched so far (done or not)
        # live views asked for at the last snapshot, delivered at the next
        self._in_flight: tuple[Request, bool, bool] | None = None  # (request, detail, frame)
        # divergence: the losses are watched as they reach the host; a copy of the last
        # weights known to be finite (at the start, at each epoch's end) is kept to return to
        self.watch = LossWatch()
        self._kept: tuple[int, list[dict[str, np.ndarray]]] | None = None

    # -- commands -------------------------------------------------------------------
    def command(self, cmd: Command) -> None:
        """Thread-safe; applied before the next step."""
        self._commands.put(cmd)

    def numpy_params(self) -> list[dict[str, np.ndarray]]:
        return params_to_numpy(self.params)

    # -- the run ---------------------------------------------------------------------
    def run(self) -> Iterator[Snapshot]:
        cfg = self.config
        self._started = time.perf_counter()
        self._pending_loss: list = []  # device arrays of steps not yet synced
        self._pending_acc: list = []
        self._unsent = (np.zeros(0, np.float32), np.zeros(0, np.float32))  # synced, not shown
        self._images_since = 0
        self._rate_clock = self._started
        self._rate = 0.0
        yield self._snapshot(COMPILING)
        self._keep()
        self.state = RUNNING
        x_all = jax.device_put(self.dataset.x_train)  # (N, H, W, C), once for the whole run
        y_all = jax.device_put(self.dataset.y_train.astype(np.int32))
        # One jitted function: k = 1 compiles first, so the first step shows quickly;
        # k = steps_per_dispatch compiles in the background meanwhile and takes over when
        # ready. (Both give bit-identical results, so the switch point does not matter.)
        train_step = make_train_step(self.spec, self.optimizer, cfg.augment)
        fast = None
        if self.steps_per_dispatch > 1 and self._steps_left() > 8 * self.steps_per_dispatch and (
                not train_step.in_parts(cfg.batch_size)):
            fast = _BackgroundCompile(
                train_step, self.params, self.opt_state, x_all, y_all,
                np.zeros((self.steps_per_dispatch, cfg.batch_size), np.int32), self._key, 0,
                np.zeros(self.steps_per_dispatch, np.float32))
        eval_step = make_eval_step(self.spec)
        step = self.history.steps
        start_epoch = step // self.steps_per_epoch
        last_emit = time.perf_counter()
        stepping = False  # paused, but one StepOnce pending
        first = True
        for epoch in range(start_epoch, cfg.epochs):
            epoch_clock = time.perf_counter()
            order = np.random.default_rng([cfg.seed, epoch]).permutation(len(self.dataset.x_train))
            batches = order[: self.steps_per_epoch * cfg.batch_size].reshape(
                self.steps_per_epoch, cfg.batch_size).astype(np.int32)
            i = step - epoch * self.steps_per_epoch
            while i < self.steps_per_epoch:
                if self.watch.diverged_at is not None:
                    yield self._diverge()
                    return
                # commands; a pause blocks here until resume / step / stop
                while True:
                    action = self._drain_commands(block=self.state == PAUSED and not stepping)
                    if action == STOPPED:
                        yield self._finish(STOPPED)
                        return
                    if action == PAUSED and self.state != PAUSED:
                        self.state = PAUSED
                        yield self._snapshot(PAUSED)
                    elif action == "step":
                        stepping = True
                    if self.state != PAUSED or stepping:
                        break
                # k is 1 or steps_per_dispatch, never another size: each size compiles
                k = self.steps_per_dispatch
                if stepping or first or i + k > self.steps_per_epoch or not (
                        fast and fast.done.is_set()):
                    k = 1
                fn = fast.compiled if k > 1 else train_step
                rates = self.schedule.rates(step + 1, k)
                self.learning_rate = self.schedule.rate(step + k)
                self.params, self.opt_state, losses, accs = fn(
                    self.params, self.opt_state, x_all, y_all, jnp.asarray(batches[i:i + k]),
                    self._key, step + 1, rates)
                self._pending_loss.append(losses)
                self._pending_acc.append(accs)
                if len(self._pending_loss) > self.max_in_flight:
                    self._pending_loss[-self.max_in_flight - 1].block_until_ready()
                self._last_batch = batches[i + k - 1]
                self._images_since += k * cfg.batch_size
                step += k
                self._steps_sent = step
                i += k
                now = time.perf_counter()
                if stepping or first or now - last_emit >= self.snapshot_interval:
                    yield self._snapshot(PAUSED if stepping else RUNNING, complete=(
                        stepping or first or not self.snapshot_interval))
                    last_emit = time.perf_counter()
                    stepping = False
                first = False
            self._flush()
            if self.watch.diverged_at is not None:
                yield self._diverge()
                return
            confusion = None
            if self._prober is not None:  # the same pass also gives the confusion matrix
                val_loss, val_acc, confusion = self._prober.evaluate(self.params, epoch)
            else:
                val_loss, val_acc = evaluate(self.spec, self.params, self.dataset.x_val,
                                             self.dataset.y_val, eval_step)
            recent = slice(-self.steps_per_epoch, None)
            metrics = {
                "loss": float(np.mean(self.history.step_loss[recent])),
                "accuracy": float(np.mean(self.history.step_accuracy[recent])),
                "val_loss": None if np.isnan(val_loss) else val_loss,
                "val_accuracy": None if np.isnan(val_acc) else val_acc,
                "seconds": time.perf_counter() - epoch_clock,
                "learning_rate": self.learning_rate,
            }
            self.history.epochs.append(metrics)
            self._keep()
            stop = self._end_of_epoch(metrics)
            yield self._snapshot(self.state, epoch_done=True, epoch=epoch,
                                 val=(val_loss, val_acc), confusion=confusion)
            last_emit = time.perf_counter()
            if stop:
                self._restore_best(EARLY_STOPPED)
                yield self._finish(STOPPED)
                return
        self._restore_best(BEST_RESTORED)
        yield self._finish(FINISHED)

    def _steps_left(self) -> int:
        return self.config.epochs * self.steps_per_epoch - self.history.steps

    def _drain_commands(self, block: bool) -> str | None:
        """Apply queued commands; returns STOPPED, PAUSED, RUNNING or 'step' for the
        last state-changing one (None if none)."""
        action = None
        while True:
            try:
                cmd = self._commands.get(timeout=0.1) if block else self._commands.get_nowait()
            except queue.Empty:
                if block and action is None:
                    continue
                return action
            block = False
            match cmd:
                case Stop():
                    return STOPPED
                case Pause():
                    action = PAUSED
                case Resume():
                    self.state = RUNNING
                    action = RUNNING
                case StepOnce():
                    action = "step"
                case SetLearningRate(value=value) if value > 0:
                    # from the next step on; the schedule goes on from there in proportion
                    self.schedule.set_rate(float(value), self._steps_sent + 1)
                    self.learning_rate = float(value)
                    self.opt_state = set_learning_rate(self.opt_state, self.learning_rate)
                case SetProbe(probe=probe):
                    self._probe = probe
                    if self._prober is None:
                        self._prober = Prober(self.spec, self.dataset)
                        self._prober.warm_up(self.params, self.config.batch_size)
                    self._last_probe = -np.inf  # show the new image at the next snapshot
                case SetReplay(replay=replay):
                    self.replay = replay.upto(self.history.steps)

    def _flush(self, wait: bool = True) -> None:
        """Move steps' metrics to the host (one sync, not one per step): all of them, or
        without `wait` those already computed. Not waiting keeps dispatched steps queued
        while a snapshot goes out, so the device never runs dry while this thread waits
        for its turn at the interpreter (the GUI thread shares it)."""
        done = len(self._pending_loss) if wait else next(
            (i for i, a in enumerate(self._pending_acc) if not a.is_ready()),
            len(self._pending_acc))
        if not done:
            return
        losses = np.concatenate(jax.device_get(self._pending_loss[:done])).astype(np.float32)
        accs = np.concatenate(jax.device_get(self._pending_acc[:done])).astype(np.float32)
        del self._pending_loss[:done], self._pending_acc[:done]
        self.watch.see(self.history.steps + 1, losses)
        self.history.add_steps(losses, accs)
        self._unsent = (np.concatenate([self._unsent[0], losses]),
                        np.concatenate([self._unsent[1], accs]))

    def _snapshot(self, state: str, *, epoch_done: bool = False, epoch: int | None = None,
                  val: tuple[float, float] | None = None,
                  confusion: Confusion | None = None, complete: bool = True) -> Snapshot:
        """`complete`: wait for every step dispatched so far; else (a live snapshot on
        the throttle's clock) take the steps already done. Snapshots at rest and at an
        epoch's end are always complete, so their views show the final weights."""
        views_due = self._views_due(state, epoch_done)
        self._flush(wait=complete)
        losses, accs = self._unsent
        self._unsent = (np.zeros(0, np.float32), np.zeros(0, np.float32))
        now = time.perf_counter()
        if now - self._rate_clock > 0.5 and self._images_since:
            self._rate = self._images_since / (now - self._rate_clock)
            self._images_since, self._rate_clock = 0, now
        step = self.history.steps
        if epoch is None:
            epoch = min(step // self.steps_per_epoch, self.config.epochs - 1)
        val_loss, val_acc = val if val is not None else (None, None)
        return Snapshot(
            state=state, step=step, epoch=epoch, epochs=self.config.epochs,
            steps_per_epoch=self.steps_per_epoch, learning_rate=self.learning_rate,
            weight_decay_loss=None if self._penalty is None else float(
                self._penalty(self.params)),
            elapsed=now - self._started, images_per_second=self._rate,
            step_losses=losses, step_accuracies=accs, epoch_done=epoch_done,
            val_loss=None if val_loss is None or np.isnan(val_loss) else val_loss,
            val_accuracy=None if val_acc is None or np.isnan(val_acc) else val_acc,
            views=self._views(state, epoch, epoch_done, confusion) if views_due else None)

    def _views_due(self, state: str, epoch_done: bool) -> bool:
        """A probe is set and the views are due: on the probe clock while running,
        always when the run rests or an epoch ends."""
        if self._prober is None or self._probe is None or state == COMPILING:
            return False
        return state != RUNNING or epoch_done or (
            time.perf_counter() - self._last_probe >= self.probe_interval
            and self._prober.ready.is_set())

    def _views(self, state: str, epoch: int, epoch_done: bool,
               confusion: Confusion | None) -> Views | None:
        """The views' data: at rest, for the weights now; while running, those asked for
        at the last live snapshot (None at the first), while the device computes the ones
        asked for now. The costlier parts follow the detail clock (or come when the run
        rests); a replay frame is added every so many steps."""
        now = time.perf_counter()
        resting = state != RUNNING or epoch_done
        if resting and self._in_flight is not None:  # older than what comes now: dropped
            if self._in_flight[2]:  # with the replay frame it was to bring
                self._next_frame = min(self._next_frame, self._in_flight[0].step)
            self._in_flight = None
        self._last_probe = now
        prober, step = self._prober, self._steps_sent
        detail = resting or now - self._last_detail >= self.detail_interval
        if detail:
            self._last_detail = now
        frames = self.replay.frames
        frame = (step >= self._next_frame or state in (FINISHED, STOPPED)) and (
            not frames or step > frames[-1].step)
        if frame:
            self._next_frame = step + max(1, self.config.epochs * self.steps_per_epoch
                                          // MAX_FRAMES)
        batch = self._last_batch
        asked = (prober.request(
            self.params, self._probe, step, epoch,
            prober.weighted if detail or frame else prober.convs,
            (self.dataset.x_train[batch], self.dataset.y_train[batch])
            if detail and batch is not None else None, grid=detail), detail, frame)
        if not resting:  # deliver the last snapshot's, keep this one's for the next
            asked, self._in_flight = self._in_flight, asked
            if asked is None:
                return None
        return self._deliver(*asked, confusion)

    def _deliver(self, request: Request, detail: bool, frame: bool,
                 confusion: Confusion | None) -> Views:
        """A request's results as Views, waiting for them if need be; adds its replay
        frame to the replay."""
        prober, step = self._prober, request.step
        probe, kernels, grads, grid = prober.fetch(request)
        filters = prober.filters(kernels, grads)
        if frame:
            h = self.history
            done = 0 < step <= h.steps  # its step's metrics have reached the host
            self.replay = self.replay.add(prober.frame(
                step, request.epoch, h.step_loss[step - 1] if done else None,
                h.step_accuracy[step - 1] if done else None, probe, filters, kernels, grads))
        return Views(step, self.dataset.class_names, probe, filters,
                     prober.stats(kernels, grads, probe) if detail else None, grid, confusion,
                     self.replay if frame else None)

    def _keep(self) -> None:
        """Remember the weights as they are now if they are all finite: where a run that
        diverges later returns to. A host copy: taken when the device has drained anyway
        (the start, an epoch's end), it costs no compilation and no device memory."""
        weights = params_to_numpy(self.params)
        if all(np.isfinite(v).all() for layer in weights for v in layer.values()):
            self._kept = (self.history.steps, weights)

    def _diverge(self) -> Snapshot:
        """Stop a run whose loss stopped being finite: back to the last finite weights
        (with a fresh optimizer state: the old one holds the overflow too), the halt
        recorded in the history."""
        step, kept = self._kept if self._kept is not None else (
            None, params_to_numpy(self.params))
        self.params = jax.device_put(kept)
        self.opt_state = set_learning_rate(self.optimizer.init(self.params), self.learning_rate)
        self.history.halts.append(Halt(DIVERGED, self.watch.diverged_at, self.learning_rate,
                                       self.config.optimizer, step, largest_weight(kept)))
        return self._finish(STOPPED)

    def _end_of_epoch(self, metrics: dict) -> bool:
        """The plateau schedule's and early stopping's look at an epoch's metrics (the
        weights _keep took are the best epoch's if it improved); True to stop."""
        self.schedule.end_of_epoch(metrics)
        if self.stopping is None:
            return False
        stop = self.stopping.end_of_epoch(metrics)
        if self.stopping.watch.best_epoch == len(self.history.epochs) - 1 and self._kept:
            self._best = self._kept[1]
        return stop

    def _restore_best(self, reason: str) -> None:
        """At the end of a run with early stopping: the best epoch's weights back when
        asked for (and when they are not the last epoch's), and the halt that records
        it: EARLY_STOPPED for a run it stopped (restored or not), BEST_RESTORED for one
        that ran its course (only when restored)."""
        if self.stopping is None or self.stopping.watch.best_epoch is None:
            return
        steps, spe = self.history.steps, self.steps_per_epoch
        best_step = (self.stopping.watch.best_epoch + 1) * spe
        restore = self.config.restore_best and self._best is not None and best_step != steps
        if restore:
            self.params = jax.device_put(self._best)
        if reason == EARLY_STOPPED or restore:
            self.history.halts.append(Halt(reason, steps, self.learning_rate,
                                           self.config.optimizer, best_step if restore
                                           else steps, best_step=best_step))

    def _finish(self, state: str) -> Snapshot:
        self.state = state
        return self._snapshot(state)
