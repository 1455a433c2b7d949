"""The step-through's model: the inspected image, where the learner is, what they clicked.

It holds the latest Inspection (core.inspection: numpy arrays of one image's pass forward
and backward, with the weights and step they came from) and the learner's choices: the
stage (input, each layer, softmax and loss, the backward step, where the network looks),
the position picked in each layer, the weight picked for the backward step, the class
and layer of the saliency page. Every number the close-ups show comes from the
Inspection's methods (core.arithmetic); the controller (step_controller.py) feeds it
from the engine in a background thread and computes nothing here either.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PyQt6.QtCore import QObject, pyqtSignal

from cnnviz.core import arithmetic as ar
from cnnviz.core.i18n import tr
from cnnviz.core.inspection import Inspection
from cnnviz.core.layers import Conv2D, Dense

IMAGE, BATCH = "image", "batch"  # the backward step for the probe image or a batch


@dataclass(frozen=True, eq=False)
class AppliedStep:
    """One real training step from the inspected weights: before and after it."""

    before: Inspection
    after: Inspection
    on: str  # IMAGE or BATCH


class StepModel(QObject):
    inspected = pyqtSignal()  # a new Inspection (image, weights or network)
    stage_changed = pyqtSignal(int)
    selection_changed = pyqtSignal()  # a position, weight, class or option picked
    looks_changed = pyqtSignal()
    applied_changed = pyqtSignal()
    status_changed = pyqtSignal(str)
    # asked of the controller
    apply_requested = pyqtSignal()
    wanted_changed = pyqtSignal()  # the batch, SmoothGrad or the looks are wanted now
    visible_changed = pyqtSignal(bool)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.inspection: Inspection | None = None
        self.batch: Inspection | None = None  # the same weights on a batch, when asked for
        self.looks = None  # engine.saliency.Looks of the image, when computed
        self.applied: AppliedStep | None = None
        self.live = False  # the weights come from a run that is stepping
        self.caption = ""  # what the image is
        self.class_names: tuple[str, ...] = ()
        self.stage = 0
        self.positions: dict[int, tuple[int, ...]] = {}  # layer index -> picked output
        self.weights: dict[int, tuple[str, tuple[int, ...]]] = {}  # layer -> (param, element)
        self.gradient_layer: int | None = None  # the layer whose weight the backward shows
        self.mode = IMAGE
        self.look_class: int | None = None  # None: the predicted class
        self.look_layer: int | None = None  # None: the last conv layer
        self.smooth = False
        self.visible = False
        self.status = ""
        # lines another part of the window adds under a conv output's formula, given the
        # layer's name, the filter and the close-up (the Compress workspace: it in int8)
        self.conv_notes: Callable[[str, int, ar.ConvOutput], list[str]] | None = None

    # -- the stages ------------------------------------------------------------------
    @property
    def layers(self) -> int:
        return len(self.inspection.spec.layers) if self.inspection is not None else 0

    @property
    def softmax_stage(self) -> int:
        return self.layers + 1

    @property
    def backward_stage(self) -> int:
        return self.layers + 2

    @property
    def looks_stage(self) -> int:
        return self.layers + 3

    def set_stage(self, stage: int) -> None:
        stage = max(0, min(stage, self.looks_stage))
        if stage != self.stage:
            was_looks = self.stage == self.looks_stage
            self.stage = stage
            self.stage_changed.emit(stage)
            if (stage == self.looks_stage) != was_looks:
                self.wanted_changed.emit()

    def step(self, delta: int) -> None:
        self.set_stage(self.stage + delta)

    # -- data from the controller -----------------------------------------------------
    def show(self, inspection: Inspection, batch: Inspection | None, looks, live: bool,
             caption: str, class_names: tuple[str, ...]) -> None:
        old = self.inspection
        self.inspection, self.batch, self.looks = inspection, batch, looks
        self.live, self.caption, self.class_names = live, caption, class_names
        self.applied = None
        if old is None or old.spec != inspection.spec:
            self._default_choices()
        self.inspected.emit()

    def clear(self) -> None:
        """The network changed: nothing to show until it has been inspected."""
        self.inspection = self.batch = self.looks = self.applied = None
        self.inspected.emit()

    def set_looks(self, looks) -> None:
        self.looks = looks
        self.looks_changed.emit()

    def set_applied(self, applied: AppliedStep | None) -> None:
        self.applied = applied
        self.applied_changed.emit()

    def set_status(self, text: str) -> None:
        self.status = text
        self.status_changed.emit(text)

    def set_visible(self, visible: bool) -> None:
        if visible != self.visible:
            self.visible = visible
            self.visible_changed.emit(visible)

    def _default_choices(self) -> None:
        """The strongest output of each layer (of a map's first channel): a number worth
        working out; the first layer's first weight."""
        ins = self.inspection
        self.positions = {
            i: (*np.unravel_index(int(np.argmax(out[0, ..., 0])), out.shape[1:3]), 0)
            if out.ndim == 4 else (int(np.argmax(out[0])),) for i, out in enumerate(ins.post)}
        weighted = [i for i, layer in enumerate(ins.spec.layers)
                    if isinstance(layer, Conv2D | Dense)]
        self.weights = {i: ("kernel", (0,) * ins.params[i]["kernel"].ndim) for i in weighted}
        self.gradient_layer = weighted[0] if weighted else None
        self.stage = min(self.stage, self.looks_stage)
        self.look_layer = None

    # -- the learner's choices --------------------------------------------------------
    def select(self, layer: int, position: tuple[int, ...]) -> None:
        """Pick output `position` of `layer` (checked against the layer's shape)."""
        self.inspection.check_output(layer, position)
        self.positions[layer] = tuple(int(p) for p in position)
        self.selection_changed.emit()

    def select_weight(self, layer: int, param: str, element: tuple[int, ...]) -> None:
        self.inspection.check_weight(layer, param, element)
        self.weights[layer] = (param, tuple(int(e) for e in element))
        self.gradient_layer = layer
        self.selection_changed.emit()

    def set_mode(self, mode: str) -> None:
        if mode != self.mode:
            self.mode = mode
            self.selection_changed.emit()
            self.wanted_changed.emit()

    def set_look(self, cls: int | None = None, layer: int | None = None,
                 smooth: bool | None = None) -> None:
        if cls is not None:
            self.look_class = cls
        if layer is not None:
            self.look_layer = layer
        if smooth is not None and smooth != self.smooth:
            self.smooth = smooth
            self.wanted_changed.emit()
        self.selection_changed.emit()

    def request_apply(self) -> None:
        self.apply_requested.emit()

    # -- what the close-ups read ------------------------------------------------------
    @property
    def backward(self) -> Inspection | None:
        """The inspection the backward step shows: the image's, or the batch's."""
        return self.batch if self.mode == BATCH else self.inspection

    def close_up(self, layer: int):
        return self.inspection.close_up(layer, self.positions[layer])

    @property
    def predicted(self) -> int:
        return int(np.argmax(self.inspection.probabilities[0]))

    @property
    def shown_class(self) -> int:
        """The class the saliency page shows."""
        return self.predicted if self.look_class is None else self.look_class

    @property
    def shown_conv(self) -> int | None:
        """The conv layer Grad-CAM looks at: the chosen one, else the last."""
        convs = [i for i, layer in enumerate(self.inspection.spec.layers)
                 if isinstance(layer, Conv2D)]
        if not convs:
            return None
        return self.look_layer if self.look_layer in convs else convs[-1]

    def step_text(self) -> str:
        """Which weights the numbers come from."""
        if self.inspection is None:
            return ""
        if self.live:
            return tr("weights after step {step} (training: they follow the run)",
                      step=f"{self.inspection.step:,}")
        return tr("weights after step {step}", step=f"{self.inspection.step:,}")
