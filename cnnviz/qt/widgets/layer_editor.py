"""The property editor: a form for the selected layer, built from its dataclass fields.

Every change replaces the layer in the NetworkModel; changes to one field in a row
(spinning a spin box) merge into a single undo step.
"""

from __future__ import annotations

import types
import typing
from dataclasses import fields, replace

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QLabel,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from cnnviz.core.i18n import tr
from cnnviz.core.layers import Layer
from cnnviz.qt.network_model import NetworkModel
from cnnviz.qt.widgets.layer_help import FIELDS, POOL_STRIDE_TIP, layer_tip
from cnnviz.qt.widgets.lock import lock_icon
from cnnviz.qt.widgets.wheel_guard import wheel_only_when_focused

DOC_MIN_LINES = 2  # of the layer's explanation, scrolled if it has more


def _field_editor(name: str, hint: object) -> QWidget:
    """A spin box or combo box suited to a field's type and meaning."""
    help_ = FIELDS[name]
    if hint is bool:
        box = QCheckBox(str(help_.label))
        box.setToolTip(str(help_.tip))
        return box
    if typing.get_origin(hint) is typing.Literal:
        box = QComboBox()
        box.addItems(typing.get_args(hint))
        box.setToolTip(str(help_.tip))
        return box
    if hint is float:
        box = QDoubleSpinBox()
        box.setDecimals(help_.decimals)
        box.setSingleStep(help_.step)
    else:
        box = QSpinBox()
    box.setRange(help_.minimum, help_.maximum)
    box.setToolTip(str(help_.tip))
    if isinstance(hint, types.UnionType):  # `int | None`: 0 stands for None
        box.setMinimum(0)
        box.setSpecialValueText(tr("pool size"))
        box.setToolTip(str(POOL_STRIDE_TIP))
    box.setKeyboardTracking(False)  # typing "128" is one edit, not three
    return box


def _get(box: QWidget) -> object:
    if isinstance(box, QCheckBox):
        return box.isChecked()
    if isinstance(box, QComboBox):
        return box.currentText()
    value = box.value()
    return None if box.specialValueText() and value == box.minimum() else value


def _set(box: QWidget, value: object) -> None:
    if isinstance(box, QCheckBox):
        box.setChecked(bool(value))
        return
    if isinstance(box, QComboBox):
        box.setCurrentText(str(value))
    else:
        box.setValue(box.minimum() if value is None else value)


class LayerEditor(QWidget):
    def __init__(self, network: NetworkModel, parent: QWidget | None = None):
        super().__init__(parent)
        self._network = network
        self._row = -1
        self._type: type | None = None
        self._editors: dict[str, QWidget] = {}
        self._title = QLabel()
        self._title.setStyleSheet("font-weight: bold")
        self._form = QFormLayout()
        self._form.setVerticalSpacing(3)  # five fields and the layer list fit 720 pixels
        self._doc = QLabel()
        self._doc.setWordWrap(True)
        # the layer's explanation scrolls on its own, so that on a small screen the
        # fields above and the layer list keep their room
        doc = QScrollArea()
        doc.setWidget(self._doc)
        doc.setWidgetResizable(True)
        doc.setFrameShape(QFrame.Shape.NoFrame)
        doc.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        doc.setMinimumHeight(DOC_MIN_LINES * self._doc.fontMetrics().lineSpacing())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._title)
        layout.addLayout(self._form)
        layout.addWidget(doc, 1)
        network.changed.connect(self._refresh)
        self._refresh()

    def set_row(self, row: int) -> None:
        self._row = row
        self._refresh()

    def editor(self, field: str) -> QWidget:
        return self._editors[field]

    def _layer(self) -> Layer | None:
        layers = self._network.spec.layers
        return layers[self._row] if 0 <= self._row < len(layers) else None

    def _refresh(self) -> None:
        layer = self._layer()
        if type(layer) is not self._type:
            self._rebuild(layer)
        if layer is None:
            self._title.setText(tr("No layer selected"))
            self._doc.setText(tr("Select a layer in the list to change its settings, or add "
                                 "one from the palette above."))
            return
        self._title.setText(f"{self._network.spec.names[self._row]}: {type(layer).__name__}")
        for name, box in self._editors.items():
            box.blockSignals(True)  # showing the model's value is not an edit
            _set(box, getattr(layer, name))
            box.blockSignals(False)
            if isinstance(box, QCheckBox):  # the lock the layer list shows
                box.setIcon(lock_icon(self, closed=not box.isChecked()))

    def _rebuild(self, layer: Layer | None) -> None:
        while self._form.rowCount():
            self._form.removeRow(0)
        self._editors = {}
        self._type = type(layer) if layer is not None else None
        if layer is None:
            return
        hints = typing.get_type_hints(type(layer))
        for f in fields(layer):
            box = _field_editor(f.name, hints[f.name])
            wheel_only_when_focused(box)
            signal = (box.toggled if isinstance(box, QCheckBox) else box.currentTextChanged
                      if isinstance(box, QComboBox) else box.valueChanged)
            signal.connect(lambda _value, name=f.name: self._edited(name))
            if isinstance(box, QCheckBox):  # its text and the lock say it all
                self._form.addRow(box)
            else:
                self._form.addRow(str(FIELDS[f.name].label), box)
            self._editors[f.name] = box
        self._doc.setText(layer_tip(type(layer)) if fields(layer) else
                          layer_tip(type(layer)) + "\n\n" + tr("It has no settings."))

    def _edited(self, name: str) -> None:
        layer = self._layer()
        if layer is not None:
            value = _get(self._editors[name])
            self._network.replace(self._row, replace(layer, **{name: value}), name)


if __name__ == "__main__":
    from PyQt6.QtWidgets import QApplication

    from cnnviz.core.presets import get_preset

    app = QApplication([])
    editor = LayerEditor(NetworkModel(get_preset("tiny").spec))
    editor.set_row(0)
    editor.show()
    app.exec()
