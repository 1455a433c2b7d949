"""The lesson vocabulary (core.lesson_vocabulary) carried out on the window.

Every action goes through what the learner would use: a preset's menu action, the
network's undoable edits, the session's data and settings, the Start and Step actions.
Every check reads the models (network analysis, session, the latest snapshot). `changed`
fires whenever something a check or a quoted number reads may have changed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from PyQt6.QtCore import QObject, Qt, pyqtSignal

from cnnviz.core.fine_tune import FineTuneError, needs_new_head, plan_fine_tune
from cnnviz.core.i18n import Message, tr
from cnnviz.core.layers import is_frozen
from cnnviz.core.lesson_quotes import epochs_trained, quote_values, steps_trained
from cnnviz.core.network import NetworkSpec
from cnnviz.core.runs import source_text
from cnnviz.core.snapshot import PAUSED, Snapshot
from cnnviz.data.registry import DATASETS
from cnnviz.qt.lesson_parts import LessonActionError, WindowParts, bring_to_front
from cnnviz.qt.live_views import LiveViews
from cnnviz.qt.main_window import MainWindow
from cnnviz.qt.widgets.highlight import shown

STOP_S = 30.0


class LessonHost(QObject):
    changed = pyqtSignal()

    def __init__(self, window: MainWindow, live: LiveViews, parent: QObject | None = None):
        super().__init__(parent or window)
        self.window, self.live = window, live
        self.session, self.network = window.session, window.network
        self.notes: list[str] = []  # what the last actions could not do as asked
        self.latest: Snapshot | None = None  # the run's last snapshot, if further on
        self.parts = WindowParts(window, live, self)
        self.parts.changed.connect(self.changed)
        s = self.session
        for signal in (self.network.changed, s.run_changed, s.config_changed, s.data_changed,
                       s.runs.changed, window.tabs.currentChanged):
            signal.connect(self.changed)
        s.history_reset.connect(self._forget_run)
        s.worker.snapshot.connect(self._on_snapshot)
        self.actions: dict[str, Callable[[object], None]] = {
            "dataset": self._dataset, "config": self._config, "preset": self._preset,
            "network": self._network, "remove_layer": self._remove_layer,
            "add_layer": self._add_layer, "edit_layer": self._edit_layer,
            "select_layer": self._select_layer, "view": self.parts.show,
            "highlight": self.parts.frame, "reset_weights": self._reset_weights,
            "start_training": self._start_training, "step": self._step,
            "stop_training": self._stop_training, "sparsity": self._sparsity,
            "prune": self._prune, "quantize": self._quantize,
            "step_through": self._show_stage, "per_class": self._per_class,
            "fine_tune": self._fine_tune, "show_runs": self._show_runs,
        }
        self.checks: dict[str, Callable[[object], bool]] = {
            "network_valid": lambda _: self.network.analysis.ok,
            "layer_output_shape": self._has_output_shape,
            "layer_kinds": lambda kinds: tuple(x.kind for x in self.network.spec.layers)
            == kinds,
            "has_layer": lambda kind: any(x.kind == kind for x in self.network.spec.layers),
            "dataset": lambda name: s.dataset_name == name and s.dataset is not None,
            "config": self._has_config,
            "training_started": lambda _: s.active or self.steps() > 0,
            "steps_trained": lambda n: self.steps() >= n,
            "epochs_trained": lambda n: epochs_trained(s.history, self.latest) >= n,
            "view_shown": lambda view: shown(self.parts.view_widget(view)),
            "pruned": lambda p: self._compressed("prune", p),
            "quantized": lambda _: self._compressed("quantize", 0),
            "stepped_through": self._stepped_through,
            "per_class": lambda n: (s.per_class or 0) == n and s.dataset is not None,
            "frozen_layers": lambda n: sum(map(is_frozen, self.network.spec.layers)) >= n,
            "runs_kept": lambda n: len(s.runs.runs) >= n,
            "runs_shown": lambda n: len(s.runs.shown) >= n,
        }

    # -- state ---------------------------------------------------------------------------
    def _on_snapshot(self, snap: Snapshot) -> None:
        self.latest = snap
        self.changed.emit()

    def _forget_run(self) -> None:
        self.latest = None
        self.changed.emit()

    def steps(self) -> int:
        return steps_trained(self.session.history, self.latest)

    def busy(self) -> bool:
        """Data still loading, or a compression running: checks and numbers may change
        once they are done."""
        compress = self.parts.compress()
        return (self.session.dataset is None and self.session.data_error is None) or bool(
            compress and compress.model.busy)

    def _compressed(self, kind: str, sparsity: int) -> bool:
        compress = self.parts.compress()
        result = compress.model.result if compress else None
        return result is not None and result.step.kind == kind and (
            kind != "prune" or result.step.sparsity * 100 >= sparsity - 1e-6)

    def holds(self, checks: tuple[tuple[str, object], ...]) -> bool:
        return all(self.checks[name](value) for name, value in checks)

    def _has_output_shape(self, value: tuple) -> bool:
        name, shape = value
        info = next((i for i in self.network.analysis.layers if i.name == name), None)
        return info is not None and info.out_shape is not None \
            and tuple(info.out_shape[:len(shape)]) == shape

    def _has_config(self, values: dict[str, object]) -> bool:
        config = self.session.config
        return all(set(v) <= set(config.augment) if k == "augment" else getattr(config, k) == v
                   for k, v in values.items())

    def _stepped_through(self, value: tuple) -> bool:
        view = self.parts.step_through()
        model = view.model if view is not None else None
        if model is None or model.inspection is None:
            return False
        layer, position = value
        if layer == "backward":
            return model.stage == model.backward_stage
        if layer == "softmax":
            return model.stage == model.softmax_stage
        names = self.network.spec.names
        if layer not in names or model.stage != names.index(layer) + 1:
            return False
        picked = model.positions.get(names.index(layer), ())
        return tuple(picked[:len(position)]) == position

    def quotes(self) -> dict[str, object]:
        s, dataset = self.session, self.session.dataset
        return quote_values(self.network.spec, self.network.analysis, s.config,
                            s.dataset_name, len(dataset.class_names) if dataset else None,
                            s.history, self.latest)

    # -- actions ---------------------------------------------------------------------------
    def apply(self, actions: tuple[tuple[str, object], ...]) -> None:
        """Do each action in turn; LessonActionError if one cannot be done now."""
        self.notes = []
        for name, value in actions:
            self.actions[name](value)

    def _dataset(self, names: tuple[str, ...]) -> None:
        known = [n for n in names if n in DATASETS]
        offline = [n for n in known if DATASETS[n].info.cached()]
        if not offline:
            raise LessonActionError(Message("none of {names} is built in or downloaded",
                                            names=", ".join(names)))
        if offline[0] != names[0]:
            self.notes.append(tr("{wanted} is not downloaded, so this lesson uses {used} "
                                 "instead (the command line downloads it: cnnviz train "
                                 "--dataset {wanted}).", wanted=names[0], used=offline[0]))
        self.session.select_dataset(offline[0])

    def _per_class(self, count: int) -> None:
        self.session.set_per_class(count or None)

    def _fine_tune(self, value: tuple) -> None:
        """As Train > Fine-tune... with the trained weights: a new head when the classes
        differ, the first layers frozen."""
        dataset, per_class, frozen, settings = value
        s = self.session
        self._stop_training(None)  # a run ending now hands over its last weights first
        entry = DATASETS.get(dataset)
        if s.weights is None or entry is None:
            raise LessonActionError(Message("train the network first") if s.weights is None
                                    else Message("no dataset {name}", name=dataset))
        info = entry.info
        source = s.runs.get(s.runs.current) if s.runs.current is not None else None
        known = s.dataset.class_names if s.dataset is not None else None
        try:
            plan = plan_fine_tune(self.network.spec, s.weights, info.input_shape,
                                  info.num_classes, frozen=frozen, seed=s.config.seed,
                                  new_head=needs_new_head(known, info.class_names))
        except FineTuneError as exc:
            raise LessonActionError(Message("cannot fine-tune: {reason}",
                                            reason=str(exc))) from None
        name = source.name if source is not None else tr("this project")
        s.fine_tune(plan.spec, plan.weights, dataclasses.replace(s.config, **settings),
                    dataset, per_class or None, source_text(name, s.dataset_name))

    def _show_runs(self, count: int) -> None:
        runs = self.session.runs
        runs.set_shown_all([run.number for run in runs.runs[-count:]])

    def _config(self, values: dict[str, object]) -> None:
        self.session.set_config(**values)

    def _preset(self, name: str) -> None:
        action = next(a for a in self.window.preset_actions if a.text() == name)
        action.trigger()

    def _network(self, layers: tuple) -> None:
        spec = self.network.fitted(NetworkSpec(self.network.spec.input_shape, layers))
        self.network.edit(spec.layers, tr("Set up the lesson's network"))

    def _index(self, name: str) -> int:
        try:
            return self.network.spec.names.index(name)
        except ValueError:
            raise LessonActionError(Message("your network has no layer {name}",
                                            name=name)) from None

    def _remove_layer(self, name: str) -> None:
        self.network.remove(self._index(name))

    def _add_layer(self, value: tuple) -> None:
        after, layer = value
        self.network.insert(0 if after == "input" else self._index(after) + 1, layer)

    def _edit_layer(self, value: tuple) -> None:
        name, changes = value
        index = self._index(name)
        try:
            layer = dataclasses.replace(self.network.spec.layers[index], **changes)
        except TypeError:
            raise LessonActionError(Message("{name} has no {fields}", name=name,
                                            fields=", ".join(changes))) from None
        self.network.replace(index, layer, next(iter(changes)) if len(changes) == 1 else None)

    def _select_layer(self, name: str) -> None:
        self.window.builder.table.select_row(self._index(name))

    def _reset_weights(self, _: object) -> None:
        self._stop_training(None)  # a run that reached the last step's check may still end
        if self.window.actions.reset_weights.isEnabled():
            self.window.actions.reset_weights.trigger()

    def _start_training(self, _: object) -> None:
        """Start, or resume a paused run (Start/Pause does both)."""
        if not self.session.active or self.session.state == PAUSED:
            self._trigger(self.window.actions.start_pause)

    def _stop_training(self, _: object) -> None:
        """As Stop, but waits for the run to end (a compile may take a while), so that
        what follows does not change a network still training."""
        if self.session.active and not self.session.worker.stop_and_wait(STOP_S):
            raise LessonActionError(Message("the run did not stop in time; press Stop and "
                                            "try again"))

    def _step(self, count: int) -> None:
        for _ in range(count):
            self._trigger(self.window.actions.step)

    def _trigger(self, action) -> None:
        if not action.isEnabled():
            raise LessonActionError(Message("training cannot start: {reason}",
                                            reason=self.session.blocker() or "-"))
        action.trigger()

    def _show_stage(self, value: tuple) -> None:
        """As a feature map's right-click: the Step through view at that stage (and
        pixel); the backward step, which no view asks for, by its stage."""
        view = self.parts.step_through()
        if view is None:
            raise LessonActionError(Message("the {view} view is not built yet",
                                            view="step-through"))
        layer, position = value
        if layer != "backward":
            self.live.model.explain(layer, position)
            return
        bring_to_front(view)
        if view.model.inspection is None:  # on its way: go there once it is here
            view.model.inspected.connect(lambda: view.model.set_stage(
                view.model.backward_stage), type=Qt.ConnectionType.SingleShotConnection)
        else:
            view.model.set_stage(view.model.backward_stage)

    def _sparsity(self, percent: int) -> None:
        self.parts.workspace().prune.slider.setValue(percent)

    def _prune(self, _: object) -> None:
        self.parts.workspace().prune.tune.click()

    def _quantize(self, _: object) -> None:
        self.parts.workspace().quantize.run.click()
