"""The network being edited: a NetworkSpec, its analysis, and the undo history of edits.

Layer edits go through a QUndoStack as whole-tuple replacements (specs are immutable,
so an undo step is just the layers before and after). The input shape is not an edit:
it follows the chosen dataset, and changing it is never undone.
"""

from __future__ import annotations

from PyQt6.QtCore import QObject, pyqtSignal
from PyQt6.QtGui import QUndoCommand, QUndoStack

from cnnviz.core.i18n import tr
from cnnviz.core.layers import Layer
from cnnviz.core.network import Analysis, NetworkSpec
from cnnviz.core.shapes import Shape
from cnnviz.qt.widgets.layer_help import FIELDS

_MERGE_ID = 1  # QUndoCommand.id() shared by edits that may merge


def field_name(field: str) -> str:
    """A layer field as the layer editor labels it, within a sentence ("kernel size")."""
    label = str(FIELDS[field].label) if field in FIELDS else field.replace("_", " ")
    return label[:1].lower() + label[1:]


class _SetLayers(QUndoCommand):
    """Replace the layer tuple; consecutive edits of the same field of the same layer
    (e.g. spinning a spin box) merge into one undo step."""

    def __init__(self, model: NetworkModel, layers: tuple[Layer, ...], text: str,
                 merge_key: object = None):
        super().__init__(text)
        self._model = model
        self._before = model.spec.layers
        self._after = layers
        self._merge_key = merge_key

    def id(self) -> int:
        return _MERGE_ID if self._merge_key is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, _SetLayers) or other._merge_key != self._merge_key:
            return False
        self._after = other._after
        return True

    def redo(self) -> None:
        self._model._set_layers(self._after)

    def undo(self) -> None:
        self._model._set_layers(self._before)


class NetworkModel(QObject):
    """Owns the spec; views read `spec` / `analysis` and listen to `changed`."""

    changed = pyqtSignal()

    def __init__(self, spec: NetworkSpec, num_classes: int | None = None,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.undo_stack = QUndoStack(self)
        self._spec = spec
        self._num_classes = num_classes
        self._analysis = spec.analyze(num_classes)

    @property
    def spec(self) -> NetworkSpec:
        return self._spec

    @property
    def analysis(self) -> Analysis:
        return self._analysis

    @property
    def num_classes(self) -> int | None:
        return self._num_classes

    def _update(self, spec: NetworkSpec) -> None:
        self._spec = spec
        self._analysis = spec.analyze(self._num_classes)
        self.changed.emit()

    def _set_layers(self, layers: tuple[Layer, ...]) -> None:
        self._update(NetworkSpec(self._spec.input_shape, layers))

    # -- undoable edits ----------------------------------------------------------------
    def edit(self, layers: tuple[Layer, ...], text: str, merge_key: object = None) -> None:
        if tuple(layers) != self._spec.layers:
            self.undo_stack.push(_SetLayers(self, tuple(layers), text, merge_key))

    def insert(self, index: int, layer: Layer) -> None:
        layers = list(self._spec.layers)
        layers.insert(index, layer)
        self.edit(tuple(layers), tr("Add {layer}", layer=type(layer).__name__))

    def remove(self, index: int) -> None:
        layers = list(self._spec.layers)
        name = self._spec.names[index]
        del layers[index]
        self.edit(tuple(layers), tr("Remove {layer}", layer=name))

    def duplicate(self, index: int) -> None:
        layers = list(self._spec.layers)
        layers.insert(index + 1, layers[index])
        self.edit(tuple(layers), tr("Duplicate {layer}", layer=self._spec.names[index]))

    def move(self, source: int, target: int) -> None:
        """Move the layer at `source` so that it ends up at index `target`."""
        layers = list(self._spec.layers)
        name = self._spec.names[source]
        layers.insert(target, layers.pop(source))
        self.edit(tuple(layers), tr("Move {layer}", layer=name))

    def replace(self, index: int, layer: Layer, field: str | None = None) -> None:
        """Set the layer at `index`; edits of one `field` in a row undo as one step."""
        layers = list(self._spec.layers)
        layers[index] = layer
        name = self._spec.names[index]
        text = tr("Change {layer} {field}", layer=name, field=field_name(field)) if field else (
            tr("Change {layer}", layer=name))
        self.edit(tuple(layers), text, (index, field) if field else None)

    def fitted(self, spec: NetworkSpec) -> NetworkSpec:
        """`spec` (e.g. a preset) on this network's input, its output sized to the classes."""
        if self._num_classes is None:
            return NetworkSpec(self._spec.input_shape, spec.layers)
        return spec.adapted(self._spec.input_shape, self._num_classes)

    # -- not undoable --------------------------------------------------------------------
    def reset(self, spec: NetworkSpec) -> None:
        """A new document: this spec, as it is, with an empty undo history."""
        self.undo_stack.clear()
        self._update(spec)

    def set_data_shape(self, input_shape: Shape, num_classes: int) -> None:
        """Follow the dataset: take its input shape, and size the output layer to its
        classes. When the learner changes the data, that part is an undoable edit, so
        they can see and undo it; the first data a network meets (the data chosen last
        time, at start) only sets it up: nothing the learner did, nothing to undo."""
        first = self._num_classes is None
        self._num_classes = num_classes
        self._update(NetworkSpec(tuple(input_shape), self._spec.layers))
        adapted = self._spec.adapted(input_shape, num_classes)
        if adapted.layers == self._spec.layers:
            return
        if first:
            self._update(adapted)
        else:
            self.edit(adapted.layers, tr("Set output units to {n} classes", n=num_classes))
