"""The training side of the window: data, hyper-parameters, weights, history and the run.

Panels read a Session and call its methods; the dataset loader and the training worker
feed it. Weights and history belong to the network they were trained with: when the
network changes, the history (the curves) is cleared, and the weights too unless every
weight keeps its name and shape (e.g. after changing an activation). The run being
trained is recorded in `runs` as it goes; clearing the history ends it, so the next
training is a new run, and the old one stays there to compare.
"""

from __future__ import annotations

from dataclasses import replace

from PyQt6.QtCore import QObject, pyqtSignal

from cnnviz.core.commands import Pause, Resume, SetLearningRate, StepOnce, Stop
from cnnviz.core.compression import Masks, layer_sparsity, total_sparsity
from cnnviz.core.config import TrainConfig
from cnnviz.core.divergence import (
    HUGE_WEIGHT,
    LossWatch,
    explain_divergence,
    explain_explosion,
    explain_huge_weights,
    largest_weight,
)
from cnnviz.core.fine_tune import all_trainable
from cnnviz.core.history import DIVERGED, EARLY_STOPPED, History
from cnnviz.core.i18n import tr
from cnnviz.core.memory import TrainingMemory, available_memory, too_much, training_memory
from cnnviz.core.network import (
    NetworkError,
    NetworkSpec,
    all_frozen_message,
    trainable_flags_only,
)
from cnnviz.core.optimizer_leaves import OptimizerLeaves
from cnnviz.core.runs import FINE_TUNED, Run, same_weights, with_current
from cnnviz.core.snapshot import COMPILING, FINISHED, PAUSED, STOPPED, Snapshot
from cnnviz.data.dataset import Dataset
from cnnviz.data.per_class import per_class_slice
from cnnviz.data.registry import DATASETS
from cnnviz.io.compression import CompressionFileError, flat_masks, masks_for
from cnnviz.io.weights import WeightsError, flat_names, from_flat_names
from cnnviz.qt.dataset_loader import DataRequest, DatasetLoader
from cnnviz.qt.network_model import NetworkModel
from cnnviz.qt.run_log import RunLog
from cnnviz.qt.worker import Checkpoint, TrainingWorker, Weights

IDLE = "idle"  # no run in progress; a Snapshot's states cover the rest

# What Start does next, given the weights and history it finds.
FRESH, CONTINUE, AGAIN = "fresh", "continue", "again"


class Session(QObject):
    config_changed = pyqtSignal()
    data_changed = pyqtSignal()  # dataset name, loading state or the loaded data
    run_changed = pyqtSignal()  # state, activity or weights: what the controls allow
    history_reset = pyqtSignal()  # history replaced wholesale; curves redraw from it
    edited = pyqtSignal()  # something worth saving changed
    error = pyqtSignal(str, str)  # title, message
    diverged = pyqtSignal(object)  # the Halt of a run whose loss stopped being finite

    def __init__(self, network: NetworkModel, worker: TrainingWorker, loader: DatasetLoader,
                 config: TrainConfig, dataset_name: str, parent: QObject | None = None):
        super().__init__(parent)
        self.network, self.worker, self.loader = network, worker, loader
        self.config = config
        self.dataset_name = dataset_name
        self.per_class: int | None = None  # training images per class (None: all)
        self.dataset: Dataset | None = None  # as trained on: the slice, if per_class
        self._loaded: Dataset | None = None  # the whole dataset, the slice taken from it
        self.runs = RunLog(self)
        self.data_error: str | None = None
        self.weights: Weights | None = None
        self.history = History()
        self.previous: History | None = None  # the run before this one (its curves)
        self.state = IDLE
        self._trained_spec = network.spec  # the network weights and history belong to
        self._step_when_paused = False
        # the running loss, watched as the snapshots bring it: a warning if it explodes
        self._watch = LossWatch()
        self.warning: str | None = None  # about the run now, shown beside its state
        # a pruned model's masks (core.compression): the runs hold its pruned weights at 0
        self.masks: Masks | None = None
        # the optimizer state the run left at its last rest, and what it belongs to
        self._kept: tuple[tuple, tuple, OptimizerLeaves] | None = None
        network.changed.connect(self._on_network_changed)
        loader.loaded.connect(self._on_loaded)
        loader.failed.connect(self._on_load_failed)
        worker.snapshot.connect(self._on_snapshot)
        worker.checkpoint.connect(self._on_checkpoint)
        worker.failed.connect(self._on_failed)
        worker.running_changed.connect(self._on_running_changed)

    # -- data ------------------------------------------------------------------------
    def _request(self) -> DataRequest:
        return DataRequest(self.dataset_name, self.config.seed, self.config.validation_fraction)

    def select_dataset(self, name: str) -> None:
        """Switch to another dataset; the weights stay if they fit it (a run continues
        from them), the curves start afresh (the old ones are kept as `previous`)."""
        if name == self.dataset_name and (self.dataset is not None or self.loader.loading):
            return
        self.dataset_name = name
        self._clear_history()
        self.edited.emit()
        self.load_data()

    def switch_discards(self, name: str) -> bool:
        """Whether switching to dataset `name` would discard the trained weights: they
        do not fit its input and classes (or, for a folder, may not)."""
        if self.weights is None or name == self.dataset_name:
            return False
        info = DATASETS.get(name)
        if info is None:
            return True
        spec = self.network.spec
        adapted = spec.adapted(info.info.input_shape, info.info.num_classes)
        return _refit(self.weights, spec, adapted) is None

    def load_data(self) -> None:
        self.dataset, self.data_error = None, None
        self.loader.request(self._request())
        self.data_changed.emit()

    def _on_loaded(self, req: DataRequest, dataset: Dataset) -> None:
        if req != self._request():
            return
        self._loaded = dataset
        self.dataset = self._sliced()
        self.network.set_data_shape(dataset.input_shape, dataset.num_classes)
        self.data_changed.emit()
        self.run_changed.emit()

    def _on_load_failed(self, req: DataRequest, exc: Exception) -> None:
        if req != self._request():
            return
        self.data_error = str(exc)
        self.data_changed.emit()
        self.error.emit(tr("Could not load {name}", name=req.name), str(exc))

    def _sliced(self) -> Dataset | None:
        loaded = self._loaded
        if loaded is None or self.per_class is None:
            return loaded
        return per_class_slice(loaded, self.per_class, self.config.seed)

    def set_per_class(self, per_class: int | None) -> None:
        """Train on `per_class` images of each class (None: all of them): other data, so
        the run so far is over, as when switching the dataset."""
        if per_class == self.per_class:
            return
        self.per_class = per_class
        self._clear_history()
        self.edited.emit()
        if self.dataset is not None:
            self.dataset = self._sliced()
        self.data_changed.emit()
        self.run_changed.emit()

    def steps_per_epoch(self) -> int | None:
        if self.dataset is None:
            return None
        return len(self.dataset.x_train) // self.config.batch_size

    # -- hyper-parameters ----------------------------------------------------------------
    def set_config(self, **changes: object) -> None:
        """Change hyper-parameters; the learning rate also reaches a running trainer."""
        config = replace(self.config, **changes)
        if config == self.config:
            return
        reload = (config.seed, config.validation_fraction) != (
            self.config.seed, self.config.validation_fraction)
        self.config = config
        if "learning_rate" in changes and self.active:
            self.worker.command(SetLearningRate(config.learning_rate))
        self.config_changed.emit()
        self.edited.emit()
        if reload:
            self.load_data()
        self.run_changed.emit()

    # -- weights and history -------------------------------------------------------------
    def _clear_history(self) -> None:
        """A new history; the one it replaces is kept as `previous` (its curves stay on
        view for comparison), and the run it recorded is over."""
        self.runs.close()
        if self.history.steps or self.history.epochs:
            self.previous, self.history = self.history, History()
            self.history_reset.emit()
        if not self.active:
            self.state, self.warning = IDLE, None

    def _on_network_changed(self) -> None:
        spec = self.network.spec
        if spec == self._trained_spec:
            return
        if trainable_flags_only(spec, self._trained_spec):
            # freezing a layer (or not) changes no weight: the same run goes on
            self._trained_spec = spec
            self.run_changed.emit()
            return
        if self.weights is not None:  # first: whoever hears of the cleared history reads them
            self.weights = _refit(self.weights, self._trained_spec, spec)
        pruned, self.masks = self.masks, _refit_masks(self.masks, self._trained_spec, spec)
        if self.weights is None:
            self.masks = None
        self._trained_spec = spec
        self._clear_history()
        if pruned is not None and self.masks is None:
            self.warning = tr("The pruning masks no longer fit the network and were dropped: "
                              "it trains as a dense network.")
        self.run_changed.emit()

    def reset_weights(self) -> None:
        """Forget the training: fresh weights at the next Start, empty curves."""
        self.weights = self.masks = None
        self._clear_history()
        self.state, self.warning = IDLE, None
        self.edited.emit()
        self.run_changed.emit()

    def load_state(self, config: TrainConfig, dataset_name: str, weights: Weights | None,
                   history: History, *, per_class: int | None = None,
                   runs: list[Run] | None = None) -> None:
        """A project's training side (opened from a file, or a new one), for the network
        as it is now, with its runs (the current one among them); loads the data it
        names unless that is already loaded."""
        same_data = (dataset_name, config.seed, config.validation_fraction) == (
            self.dataset_name, self.config.seed, self.config.validation_fraction)
        self.config, self.dataset_name, self.per_class = config, dataset_name, per_class
        self.dataset = self._sliced() if same_data else None
        self.weights, self.history, self.previous = weights, history, None
        self.masks = None  # a project's own come with the file's other members (set_masks)
        self._kept = None  # a project's own comes with it (keep_optimizer_state)
        self.runs.load(*with_current(runs or [], self.network.spec, config, dataset_name,
                                     history, per_class, weights))
        self._trained_spec = self.network.spec
        self.state, self.warning = IDLE, None
        largest = largest_weight(weights) if weights is not None else 0.0
        if largest > HUGE_WEIGHT:  # finite, so the file is read; but nothing computes with them
            self.warning = explain_huge_weights(largest)
            self.error.emit(tr("Weights too large to compute with"), self.warning)
        self.config_changed.emit()
        if not same_data or (self.dataset is None and not self.loader.loading):
            self.load_data()
        self.history_reset.emit()
        self.run_changed.emit()

    def set_masks(self, masks: Masks | None) -> None:
        """The pruning masks of the project just opened (fitted to its network), or None;
        training then holds its pruned weights at zero."""
        self.masks = masks if self.weights is not None else None
        self.run_changed.emit()

    def pruned_share(self) -> float | None:
        """The share of the kernel weights the masks hold at zero, or None: no masks."""
        if self.masks is None:
            return None
        return total_sparsity(layer_sparsity(self._trained_spec, self.masks))

    # -- runs kept --------------------------------------------------------------------------
    def untracked_weights(self) -> bool:
        """Whether there are trained weights that no kept run holds (e.g. an imported
        network): replacing them loses them."""
        return self.weights is not None and self.runs.current is None

    def restore_run(self, run: Run) -> None:
        """`run`'s network, data, settings, curves and weights (it must have kept them)
        back in place: training continues that run. The run in place, restored as it is,
        keeps its pruning masks and its optimizer's state (the next Start goes on as if
        nothing had been restored); any other run starts a fresh state (its weights
        differ)."""
        same = self._is_in_place(run)
        kept, masks = (self._kept_here(), self.masks) if same else (None, None)
        self._adopt(run.spec, run.config, run.dataset, run.per_class, run.weights,
                    History.from_dict(run.history.to_dict()))
        self.runs.make_current(run.number)
        if same:
            self.set_masks(masks)
            if kept is not None:  # settings as the state left them: optimizer_state checks
                self._kept = (self._run_now()[0], *kept)

    def _is_in_place(self, run: Run) -> bool:
        """Whether `run` is the one in place as it is now: the current run, its curves and
        weights the session's (the same, or equal ones read back from a file)."""
        return (run.number == self.runs.current and run.history == self.history
                and same_weights(run.weights, self.weights))

    def new_run_from(self, run: Run) -> None:
        """`run`'s network (every layer trainable), data and settings with fresh weights:
        Start begins a new run, from scratch."""
        self.set_up(all_trainable(run.spec), run.config, run.dataset, run.per_class)

    def set_up(self, spec: NetworkSpec, config: TrainConfig, dataset_name: str,
               per_class: int | None) -> None:
        """This network, data and settings with fresh weights, the runs kept: Start
        begins a new run."""
        self._adopt(spec, config, dataset_name, per_class, None, History())

    def fine_tune(self, spec: NetworkSpec, weights: Weights, config: TrainConfig,
                  dataset_name: str, per_class: int | None, source: str) -> None:
        """Fine-tune `weights` (core.fine_tune's plan) on other data: the run so far is
        kept, the next is recorded as fine-tuned from `source` (in words)."""
        self._adopt(spec, config, dataset_name, per_class, weights, History())
        self.runs.start_next_as(FINE_TUNED, source)

    def _adopt(self, spec: NetworkSpec, config: TrainConfig, dataset_name: str,
               per_class: int | None, weights: Weights | None, history: History) -> None:
        """This network, data, settings, weights and history in place, the runs kept."""
        runs, shown = self.runs.runs, self.runs.shown
        self.network.reset(spec)
        self.load_state(config, dataset_name, weights, history, per_class=per_class,
                        runs=runs)
        self.runs.set_shown_all(shown)
        self.edited.emit()

    # -- the optimizer's state, kept to continue the run ---------------------------------------
    def _run_now(self) -> tuple[tuple, tuple]:
        """What an optimizer state belongs to: these very weights, history and masks (a
        new run, a reset, a restored run, fine-tuning or another project replaces them),
        this network (frozen layers included) and these optimizer settings."""
        return ((self.weights, self.history, self.masks),
                (self.network.spec, self.config.optimizer, self.config.weight_decay))

    def keep_optimizer_state(self, state: OptimizerLeaves | None) -> None:
        """`state` (the run's at its last rest, or a project's) goes on at the next Start
        while the run it belongs to does."""
        self._kept = None if state is None else (*self._run_now(), state)

    def optimizer_state(self) -> OptimizerLeaves | None:
        """The kept optimizer state if it still belongs to the run as it is now, else None."""
        kept = self._kept_here()
        return kept[1] if kept is not None and kept[0] == self._run_now()[1] else None

    def _kept_here(self) -> tuple[tuple, OptimizerLeaves] | None:
        """The kept state and the settings it was kept with, if these very weights,
        history and masks left it; else None."""
        if self._kept is None or self.weights is None:
            return None
        objects, kept_objects = self._run_now()[0], self._kept[0]
        same = all(a is b for a, b in zip(objects, kept_objects, strict=True))
        return self._kept[1:] if same else None

    # -- the run ---------------------------------------------------------------------------
    @property
    def active(self) -> bool:
        return self.worker.is_running()

    def start_mode(self) -> str:
        if self.weights is None:
            return FRESH
        spe = self.steps_per_epoch()
        stopped = self.history.halts and self.history.halts[-1].reason == EARLY_STOPPED
        if not stopped and (spe is None or self.history.steps < spe * self.config.epochs):
            return CONTINUE
        return AGAIN  # it ran its course, or early stopping ended it

    def blocker(self) -> str | None:
        """Why training cannot start now, or None if it can."""
        if self.active:
            return tr("training is already running")
        if self.dataset is None:
            return (tr("{name} did not load: {reason}", name=self.dataset_name,
                       reason=self.data_error) if self.data_error
                    else tr("{name} is still loading", name=self.dataset_name))
        analysis = self.network.analysis
        if not analysis.ok:
            return tr("fix the network first: {problem}",
                      problem=tr("; ").join(map(str, analysis.errors)))
        if not analysis.trainable_params:
            return tr("fix the network first: {problem}", problem=all_frozen_message())
        problem = self.config.validation_problem(len(self.dataset.x_val))
        if problem:
            return problem
        spe = self.steps_per_epoch()
        if not spe:
            return tr("batch size {batch_size} is larger than the {n} training images",
                      batch_size=self.config.batch_size, n=len(self.dataset.x_train))
        return self.too_big()

    def too_big(self) -> str | None:
        """Why the network as it is cannot fit in the memory free now, or None."""
        memory = self.training_memory()
        return None if memory is None else too_much(memory, available_memory())

    def training_memory(self) -> TrainingMemory | None:
        """What training the network as it is needs, at the chosen batch size and with the
        chosen optimizer (and the training images, once loaded); None while it has errors."""
        analysis = self.network.analysis
        if not analysis.ok:
            return None
        images = len(self.dataset.x_train) if self.dataset is not None else 0
        return training_memory(analysis, self.network.spec.input_shape, self.config.batch_size,
                               self.config.optimizer, images)

    def start(self, *, paused: bool = False) -> None:
        if self.blocker() is not None:
            return
        mode = self.start_mode()
        if mode == AGAIN:
            self.weights = self.masks = None
            self._clear_history()
        # the same run goes on with its optimizer's state; any other starts a fresh one
        state = self.optimizer_state() if mode == CONTINUE else None
        self.state = COMPILING  # until the trainer's first snapshot says more
        self._watch, self.warning = LossWatch(), None
        self.worker.start(self.network.spec, self.dataset, self.config, self.weights,
                          self.history, self.masks, state)
        if paused:
            self.worker.command(Pause())

    def pause(self) -> None:
        self.worker.command(Pause())

    def resume(self) -> None:
        self.worker.command(Resume())

    def step(self) -> None:
        """One batch, then paused; from idle this starts a run that waits after it."""
        if self.active:
            self.worker.command(StepOnce())
        else:
            self._step_when_paused = True
            self.start(paused=True)

    def stop(self) -> None:
        self.worker.command(Stop())

    def _on_snapshot(self, snap: Snapshot) -> None:
        watch = self._watch
        exploded = watch.exploded_at
        watch.see(snap.step - len(snap.step_losses) + 1, snap.step_losses)
        if watch.exploded_at != exploded:
            self.warning = explain_explosion(watch.exploded_at, watch.exploded_loss,
                                             snap.learning_rate, self.config.optimizer)
            self.run_changed.emit()
        if snap.state != self.state:
            self.state = snap.state
            self.run_changed.emit()
        if snap.state == PAUSED and self._step_when_paused:
            self._step_when_paused = False
            self.worker.command(StepOnce())

    def _on_checkpoint(self, checkpoint: Checkpoint) -> None:
        halts = checkpoint.history.halts[len(self.history.halts):]  # this run's, so far
        self.weights, self.history = checkpoint.weights, checkpoint.history
        self._trained_spec = self.network.spec
        self.keep_optimizer_state(checkpoint.optimizer_leaves)
        self.runs.record(self.network.spec, self.config, self.dataset_name, self.per_class,
                         self.history, self.weights, self.steps_per_epoch())
        if self.state in (FINISHED, STOPPED) and self.dataset is not None:  # the run is over
            self.runs.measure(self.runs.current, self.dataset.x_test, self.dataset.y_test)
        self.edited.emit()
        for halt in halts:
            if halt.reason == DIVERGED:
                self.warning = explain_divergence(halt)
                self.diverged.emit(halt)
                self.error.emit(tr("Training diverged"), self.warning)
        self.run_changed.emit()

    def _on_failed(self, exc: Exception) -> None:
        self.error.emit(tr("Training failed"), str(exc) or type(exc).__name__)

    def _on_running_changed(self, running: bool) -> None:
        if not running:
            self._step_when_paused = False
            if self.state not in (FINISHED, STOPPED):  # it failed: nothing to show
                self.state = IDLE
        self.run_changed.emit()


def _refit_masks(masks: Masks | None, old: NetworkSpec, new: NetworkSpec) -> Masks | None:
    """The masks for `new` if every one of them keeps its layer's name and shape, else None."""
    try:
        return None if masks is None else masks_for(new, flat_masks(old, masks))
    except (CompressionFileError, NetworkError):
        return None


def _refit(weights: Weights, old: NetworkSpec, new: NetworkSpec) -> Weights | None:
    """The weights for `new` if every one of them keeps its name and shape, else None."""
    try:
        return from_flat_names(new, flat_names(old, weights))
    except (WeightsError, NetworkError):
        return None
