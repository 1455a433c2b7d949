"""Training replay: a timeline of light snapshots the trainer kept (filters, the probe
image's feature maps, metrics), to watch how the network developed, also after training
and after reopening the project (the replay is saved with it).
"""

from __future__ import annotations

import numpy as np
from PyQt6.QtCore import Qt, QTimer
from PyQt6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSlider, QVBoxLayout, QWidget

from cnnviz.core.i18n import tr
from cnnviz.core.replay import Frame, Replay
from cnnviz.qt.live_model import LiveModel
from cnnviz.qt.widgets.live_label import live_label
from cnnviz.qt.widgets.mosaic_view import ACTIVATION_LUT, GREY_LUT, SIGNED_LUT, MosaicPanel
from cnnviz.qt.widgets.wheel_guard import wheel_only_when_focused

COLUMNS = 4
PLAY_FPS = 8


class ReplayView(QWidget):
    def __init__(self, model: LiveModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        self.play = QPushButton(tr("▶ Play"))
        self.play.setToolTip(tr("Replay the run from the slider's position"))
        self.play.setCheckable(True)
        self.play.toggled.connect(self._on_play)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setToolTip(tr("One position per kept snapshot, oldest on the left"))
        self.slider.valueChanged.connect(self.show_frame)
        wheel_only_when_focused(self.slider)
        self.caption = live_label(tr("No replay yet: train the network to record one."))
        intro = QLabel(tr(
            "While it trains, the network is photographed at regular intervals: its filters "
            "(top, blue = negative, red = positive) and the feature maps of the probe image at "
            "that moment (layer-wide colour scale). Drag the slider to travel through training."))
        intro.setWordWrap(True)
        self.panel = MosaicPanel()
        self.timer = QTimer(self)
        self.timer.setInterval(1000 // PLAY_FPS)
        self.timer.timeout.connect(self._advance)
        bar = QHBoxLayout()
        bar.addWidget(self.play)
        bar.addWidget(self.slider, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.caption)
        layout.addWidget(intro)
        layout.addWidget(self.panel, 1)
        self._layout_key: tuple | None = None
        self.replay = Replay()
        model.replay_changed.connect(self._on_replay)
        self._on_replay(model.replay)

    def _on_replay(self, replay: Replay) -> None:
        """Keep showing the same moment, or the newest if the slider was at the end."""
        at_end = self.slider.value() >= self.slider.maximum()
        shown = self.frame.step if self.frame is not None else None
        self.replay = replay
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, len(replay) - 1))
        if len(replay) and not at_end and shown is not None:
            steps = np.array([f.step for f in replay.frames])
            self.slider.setValue(int(np.clip(np.searchsorted(steps, shown, "right") - 1, 0,
                                             len(steps) - 1)))
        else:
            self.slider.setValue(self.slider.maximum())
        self.slider.blockSignals(False)
        if self.isVisible():
            self.show_frame(self.slider.value())

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.show_frame(self.slider.value())

    @property
    def frame(self) -> Frame | None:
        if not len(self.replay):
            return None
        return self.replay.frames[min(self.slider.value(), len(self.replay) - 1)]

    def _build(self, frame: Frame) -> None:
        self.panel.reset()
        for i, name in enumerate(frame.filters):
            self.panel.add(("filters", name), *divmod(i, COLUMNS), SIGNED_LUT)
        first_row = -(-len(frame.filters) // COLUMNS)
        for i, name in enumerate(frame.maps):
            row, col = divmod(i, COLUMNS)
            self.panel.add(("maps", name), first_row + row, col,
                           GREY_LUT if name == "input" else ACTIVATION_LUT)

    def show_frame(self, index: int) -> None:
        frame = self.frame
        if frame is None:
            self.panel.reset()
            self._layout_key = None
            self.caption.setText(tr("No replay yet: train the network to record one."))
            return
        key = (tuple(frame.filters), tuple(frame.maps))
        if key != self._layout_key:
            self._layout_key = key
            self._build(frame)
        for name, mosaic in frame.filters.items():
            self.panel.cells[("filters", name)].set(mosaic, tr("{name} filters", name=name))
        for name, mosaic in frame.maps.items():
            self.panel.cells[("maps", name)].set(mosaic, name)
        where = dict(i=index + 1, n=len(self.replay), step=frame.step, epoch=frame.epoch + 1)
        self.caption.setText(
            tr("Snapshot {i} of {n} · step {step:,} · epoch {epoch}", **where)
            if np.isnan(frame.loss) else
            tr("Snapshot {i} of {n} · step {step:,} · epoch {epoch} · loss {loss:.3f} · batch "
               "accuracy {accuracy:.0%}", **where, loss=frame.loss, accuracy=frame.accuracy))

    def _on_play(self, playing: bool) -> None:
        self.play.setText(tr("❚❚ Pause") if playing else tr("▶ Play"))
        if playing:
            if self.slider.value() >= self.slider.maximum():
                self.slider.setValue(0)
            self.timer.start()
        else:
            self.timer.stop()

    def _advance(self) -> None:
        if self.slider.value() >= self.slider.maximum():
            self.play.setChecked(False)
        else:
            self.slider.setValue(self.slider.value() + 1)

    def hideEvent(self, event) -> None:
        self.play.setChecked(False)  # no timer runs for a view nobody sees
        super().hideEvent(event)


if __name__ == "__main__":
    from cnnviz.qt.widgets.preview import preview

    preview(ReplayView)
