"""The palette: one button per layer type; a click asks for that layer to be added."""

from __future__ import annotations

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import QGridLayout, QSizePolicy, QToolButton, QWidget

from cnnviz.core.i18n import tr
from cnnviz.core.layers import LAYER_TYPES, Conv2D, Dense, Layer
from cnnviz.qt.widgets.layer_help import layer_tip

# Layers as a new one starts out: small, and valid after most image layers.
NEW_LAYER: dict[type, Layer] = {t: t() for t in LAYER_TYPES.values() if t not in (Conv2D, Dense)}
NEW_LAYER |= {Conv2D: Conv2D(16, 3), Dense: Dense(64)}
COLUMNS = 2


class LayerPalette(QWidget):
    chosen = pyqtSignal(object)  # a new Layer

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(4)
        self.buttons: dict[str, QToolButton] = {}
        for i, (kind, layer_type) in enumerate(LAYER_TYPES.items()):
            button = QToolButton()
            button.setText(f"+ {layer_type.__name__}")
            button.setToolTip(tr("Add after the selected layer.") + "\n\n" + layer_tip(layer_type))
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            button.clicked.connect(lambda _checked, t=layer_type: self.chosen.emit(NEW_LAYER[t]))
            grid.addWidget(button, i // COLUMNS, i % COLUMNS)
            self.buttons[kind] = button
