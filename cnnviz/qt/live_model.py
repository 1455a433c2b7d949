"""The live views' model: the latest view data, the replay, and the chosen probe image.

Views subscribe to it and hold no state of their own. It gets its data from outside
(`show`, `set_replay`, `set_dataset`: the controller in live_views.py feeds it from the
trainer's snapshots or from computations at rest) and asks for a new probe image with
`probe_requested`; it computes nothing itself.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from PyQt6.QtCore import QObject, pyqtSignal

from cnnviz.core.i18n import Message, tr
from cnnviz.core.replay import Replay
from cnnviz.core.snapshot import ProbeImage, Views
from cnnviz.data.dataset import Dataset

# the caption of a drawn probe, which the views compare with (a Message: equal whatever the
# language, shown in the current one)
DRAWING = Message("your drawing")
_SLOW_PARTS = ("stats", "grid", "confusion", "replay")  # computed less often than the probe


class LiveModel(QObject):
    views_changed = pyqtSignal(object)  # Views: every part filled with the latest known
    notice_changed = pyqtSignal(object)  # why there is nothing to show (str), or None
    replay_changed = pyqtSignal(object)  # Replay
    probe_requested = pyqtSignal(object)  # ProbeImage the user chose; its data follows
    dataset_changed = pyqtSignal()
    explain_requested = pyqtSignal(str, tuple)  # step through this (layer or stage, position)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.views: Views | None = None
        self.notice: str | None = None  # why the views have nothing to show, if they have not
        self.replay = Replay()
        self.dataset: Dataset | None = None
        self.probe: ProbeImage | None = None
        # a pruned model's masks by conv or dense layer name (True: the weight is kept)
        self.masks: dict[str, np.ndarray] = {}
        self.index = 0  # position of the probe in the pool while it comes from there
        self.class_filter: int | None = None  # next / previous / random stay in this class
        self._rng = np.random.default_rng()

    # -- data from outside --------------------------------------------------------------
    def show(self, views: Views) -> None:
        """New view data; parts it leaves out (None) keep their latest value."""
        new_replay = views.replay
        old = self.views
        if old is not None and old.class_names == views.class_names:
            views = replace(views, **{part: getattr(old, part) for part in _SLOW_PARTS
                                      if getattr(views, part) is None})
        self.views = views
        self.set_notice(None)
        self.views_changed.emit(views)
        if new_replay is not None and new_replay is not self.replay:
            self.set_replay(new_replay)

    def set_replay(self, replay: Replay) -> None:
        self.replay = replay
        self.replay_changed.emit(replay)

    def set_masks(self, masks: dict[str, np.ndarray]) -> None:
        """The pruning masks of the weights shown ({} when not pruned); the views redraw."""
        self.masks = masks
        if self.views is not None:
            self.views_changed.emit(self.views)

    def set_notice(self, notice: str | None) -> None:
        """Why there is nothing to show (the view data is forgotten), or None."""
        if notice is not None:
            self.views = None
        if notice != self.notice:
            self.notice = notice
            self.notice_changed.emit(notice)

    def clear(self) -> None:
        """Forget the view data (the network changed), keep the probe choice."""
        self.views = None

    def set_dataset(self, dataset: Dataset | None) -> None:
        """New data: the probe starts over at the first image of its pool."""
        self.dataset, self.views, self.index, self.class_filter = dataset, None, 0, None
        self.dataset_changed.emit()
        if dataset is not None and len(self.pool[0]):
            self.choose(0)

    # -- choosing the probe ---------------------------------------------------------------
    @property
    def pool(self) -> tuple[np.ndarray, np.ndarray]:
        """(images, labels) the probe is picked from: the test split (or validation)."""
        d = self.dataset
        if d is None:
            return np.zeros((0, 1, 1, 1), np.uint8), np.zeros(0, np.int32)
        return (d.x_test, d.y_test) if len(d.x_test) else (d.x_val, d.y_val)

    def request_probe(self, probe: ProbeImage) -> None:
        self.probe = probe
        self.probe_requested.emit(probe)

    def choose(self, index: int) -> None:
        x, y = self.pool
        self.index = int(index) % len(x)
        test = self.dataset is not None and len(self.dataset.x_test)
        caption = (tr("test image {index}", index=self.index) if test else
                   tr("validation image {index}", index=self.index))
        self.request_probe(ProbeImage(x[self.index], int(y[self.index]), caption))

    def choose_validation(self, index: int) -> None:
        d = self.dataset
        self.request_probe(ProbeImage(d.x_val[index], int(d.y_val[index]),
                                      tr("validation image {index}", index=index)))

    def _candidates(self) -> np.ndarray:
        labels = self.pool[1]
        if self.class_filter is None:
            return np.arange(len(labels))
        return np.flatnonzero(labels == self.class_filter)

    def step(self, delta: int) -> None:
        """The next (+1) or previous (-1) image of the chosen class."""
        candidates = self._candidates()
        if len(candidates):
            here = np.searchsorted(candidates, self.index, side="right" if delta > 0 else "left")
            self.choose(candidates[(here if delta > 0 else here - 1) % len(candidates)])

    def random(self) -> None:
        candidates = self._candidates()
        if len(candidates):
            self.choose(self._rng.choice(candidates))

    def set_class_filter(self, label: int | None) -> None:
        self.class_filter = label
        if label is not None and (self.probe is None or self.probe.label != label):
            self.step(+1)

    def draw(self, image: np.ndarray) -> None:
        self.request_probe(ProbeImage(image, None, DRAWING))

    def explain(self, layer: str, position: tuple = ()) -> None:
        """Ask the step-through to show `position` of `layer` (a layer's name, "softmax"
        or "looks", for the class `position[0]`) for the probe image."""
        self.explain_requested.emit(layer, tuple(position))
