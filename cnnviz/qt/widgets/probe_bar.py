"""Choosing the probe image: previous, next, random, a class to stay in, and what it is."""

from __future__ import annotations

from PyQt6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QWidget

from cnnviz.core.i18n import tr
from cnnviz.core.snapshot import ProbeImage
from cnnviz.data.class_names import shown_class_names
from cnnviz.qt.live_model import LiveModel
from cnnviz.qt.widgets.live_label import live_label
from cnnviz.qt.widgets.wheel_guard import wheel_only_when_focused

CAPTION_MIN_WIDTH = 110  # pixels: "validation image 1234" and its class in two lines


class ProbeBar(QWidget):
    def __init__(self, model: LiveModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        self.setToolTip(tr("The probe image is the one example the live views send through "
                           "the network. Pick another from the test set here, click an image "
                           "in Predictions or the confusion matrix, or draw your own."))
        buttons = []
        for text, tip, slot in (
                ("◀", tr("Probe with the previous image (of the chosen class)"),
                 lambda: model.step(-1)),
                ("▶", tr("Probe with the next image (of the chosen class)"),
                 lambda: model.step(+1)),
                (tr("Random"), tr("Probe with a random image (of the chosen class)"),
                 model.random)):
            button = QPushButton(text)
            button.setMaximumWidth(button.fontMetrics().horizontalAdvance(text) + 24)
            button.setToolTip(tip)
            button.clicked.connect(slot)
            buttons.append(button)
        self.classes = QComboBox()
        self.classes.setToolTip(tr("Step only through images of this class"))
        self.classes.activated.connect(self._on_class)
        wheel_only_when_focused(self.classes)
        self.caption = live_label(lines=2, wrap=True)  # two lines beside narrow views
        self.caption.setMinimumWidth(CAPTION_MIN_WIDTH)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel(tr("Probe image:")))
        for button in buttons:
            layout.addWidget(button)
        layout.addWidget(self.classes)
        layout.addWidget(self.caption, 1)
        model.dataset_changed.connect(self._fill_classes)
        model.probe_requested.connect(self._show_probe)
        self._fill_classes()
        if model.probe is not None:
            self._show_probe(model.probe)

    def _fill_classes(self) -> None:
        self.classes.clear()
        self.classes.addItem(tr("any class"), None)
        for label, name in enumerate(self._class_names()):
            self.classes.addItem(name, label)

    def _class_names(self) -> tuple[str, ...]:
        dataset = self.model.dataset
        return shown_class_names(dataset.class_names) if dataset is not None else ()

    def _on_class(self, row: int) -> None:
        self.model.set_class_filter(self.classes.itemData(row))

    def _show_probe(self, probe: ProbeImage) -> None:
        names = self._class_names()
        self.caption.setText(str(probe.caption) if probe.label is None else tr(
            "{caption} · true class: {name}", caption=probe.caption, name=names[probe.label]))
