"""The layer list: one row per layer with its output shape and parameter count, and a
lock beside each layer that has weights (closed: frozen).

`LayerTableModel` is a read-only Qt view of a NetworkModel (rows are rebuilt from the
spec on every change); a drag-and-drop reorder becomes one undoable NetworkModel.move,
a click on a lock one undoable NetworkModel.replace.
"""

from __future__ import annotations

from dataclasses import replace

from PyQt6.QtCore import QAbstractTableModel, QMimeData, QModelIndex, Qt, pyqtSignal
from PyQt6.QtGui import QColor
from PyQt6.QtWidgets import QAbstractItemView, QHeaderView, QStyle, QTableView, QWidget

from cnnviz.core.i18n import Message, tr
from cnnviz.core.layers import WEIGHTED, is_frozen
from cnnviz.core.summary import describe_layer
from cnnviz.qt.network_model import NetworkModel
from cnnviz.qt.widgets.layer_help import params_formula, shape_formula
from cnnviz.qt.widgets.lock import lock_icon

LOCK, NAME, OUTPUT, PARAMS = range(4)
HEADERS = ("", Message("Layer"), Message("Output"), Message("Params"))
HEADER_TIPS = (
    "",  # lock_tip()
    Message("Layers in the order the image flows through them; drag a row to move it."),
    Message("The shape each layer hands on: height x width x channels, or a flat vector. "
            "Hover a row for the formula."),
    Message("Weights and biases of each layer (a frozen layer's too, and BatchNorm's moving "
            "averages, which are not trained). Hover a row for where the number comes from."),
)
ROW_MIME = "application/x-cnnviz-layer-row"
ERROR_TINT = QColor(230, 60, 60, 70)  # translucent, so it reads on light and dark themes
WARNING_TINT = QColor(230, 170, 30, 60)


def lock_tip() -> str:
    return tr("A closed lock marks a frozen layer: training leaves its weights as they are. "
              "Click a lock to freeze or unfreeze its layer.")


def shape_label(shape: tuple[int, ...] | None) -> str:
    return "?" if shape is None else " × ".join(str(d) for d in shape)


class LayerTableModel(QAbstractTableModel):
    def __init__(self, network: NetworkModel, parent: QWidget | None = None):
        super().__init__(parent)
        self._network = network
        self._locks = {closed: lock_icon(parent, closed) for closed in (True, False)}
        network.changed.connect(self._reset)

    def _reset(self) -> None:
        self.beginResetModel()
        self.endResetModel()

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008 (Qt's API)
        return 0 if parent.isValid() else len(self._network.spec.layers)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal:
            if role == Qt.ItemDataRole.DisplayRole:
                return str(HEADERS[section])
            if role == Qt.ItemDataRole.ToolTipRole:
                return lock_tip() if section == LOCK else str(HEADER_TIPS[section])
        return None

    def _problem(self, row: int):
        """The most severe problem reported for this layer, if any."""
        problems = [p for p in self._network.analysis.problems if p.index == row]
        return min(problems, key=lambda p: p.severity != "error", default=None)

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        info = self._network.analysis.layers[index.row()]
        col = index.column()
        if col == LOCK:
            return self._lock(info.layer, role)
        if role == Qt.ItemDataRole.DisplayRole:
            if col == NAME:
                return f"{info.name}   {describe_layer(info.layer)}"
            if col == OUTPUT:
                return shape_label(info.out_shape)
            return f"{info.params:,}" if info.out_shape is not None else "?"
        if role == Qt.ItemDataRole.ToolTipRole:
            problem = self._problem(index.row())
            if col == NAME or (problem and problem.severity == "error"):
                return str(problem) if problem else f"{info.name}: {describe_layer(info.layer)}"
            return shape_formula(info) if col == OUTPUT else params_formula(info)
        if role == Qt.ItemDataRole.BackgroundRole:
            problem = self._problem(index.row())
            if problem:
                return ERROR_TINT if problem.severity == "error" else WARNING_TINT
        if role == Qt.ItemDataRole.DecorationRole and col == NAME:
            problem = self._problem(index.row())
            if problem:
                icon = (QStyle.StandardPixmap.SP_MessageBoxCritical if problem.severity == "error"
                        else QStyle.StandardPixmap.SP_MessageBoxWarning)
                return self.parent().style().standardIcon(icon)
        if role == Qt.ItemDataRole.TextAlignmentRole and col != NAME:
            return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        return None

    def _lock(self, layer, role):
        if not isinstance(layer, WEIGHTED):
            return None
        frozen = is_frozen(layer)
        if role == Qt.ItemDataRole.DecorationRole:
            return self._locks[frozen]  # drawn once, for the view's palette
        if role == Qt.ItemDataRole.ToolTipRole:
            return (tr("Frozen: training leaves this layer's weights as they are. Click to "
                       "let it train.") if frozen else
                    tr("Trains. Click to freeze it (its weights then stay as they are)."))
        return None


    def toggle_lock(self, row: int) -> None:
        """Freeze the layer in `row`, or let it train again (one undoable edit)."""
        layer = self._network.spec.layers[row]
        if isinstance(layer, WEIGHTED):
            self._network.replace(row, replace(layer, trainable=is_frozen(layer)), "trainable")

    # -- drag to reorder ------------------------------------------------------------------
    def flags(self, index: QModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.ItemIsDropEnabled
        return (Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                | Qt.ItemFlag.ItemIsDragEnabled)

    def supportedDropActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction

    def mimeTypes(self) -> list[str]:
        return [ROW_MIME]

    def mimeData(self, indexes: list[QModelIndex]) -> QMimeData:
        data = QMimeData()
        data.setData(ROW_MIME, str(indexes[0].row()).encode())
        return data

    def dropMimeData(self, data, action, row, column, parent) -> bool:
        """Move the dragged layer. Dropped on a row it takes that row's place; between rows
        it goes there. Returns False so the view does not also delete the source row
        (the move already happened, as one undoable step)."""
        if not data.hasFormat(ROW_MIME):
            return False
        source = int(bytes(data.data(ROW_MIME)).decode())
        count = self.rowCount()
        if parent.isValid():
            target = parent.row()
        else:
            gap = count if row < 0 else row
            target = gap - 1 if gap > source else gap
        if target != source:
            self._network.move(source, min(target, count - 1))
        return False


class LayerTable(QTableView):
    """The table, set up for single-row selection and drag-to-reorder."""

    current_row_changed = pyqtSignal(int)  # -1 when nothing is selected

    def __init__(self, network: NetworkModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.setModel(LayerTableModel(network, self))
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.setDragDropOverwriteMode(False)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.setDropIndicatorShown(True)
        self.setAlternatingRowColors(True)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.horizontalHeader()
        header.setSectionResizeMode(NAME, QHeaderView.ResizeMode.Stretch)
        for col in (LOCK, OUTPUT, PARAMS):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.locks_editable = True  # False while a run trains the network
        self.clicked.connect(self._on_click)
        self._row = -1
        self.model().modelReset.connect(self._restore_row)
        self.selectionModel().currentRowChanged.connect(self._on_current)

    def _on_click(self, index: QModelIndex) -> None:
        if index.column() == LOCK and self.locks_editable:
            self.model().toggle_lock(index.row())

    def current_row(self) -> int:
        return self._row

    def select_row(self, row: int) -> None:
        row = min(row, self.model().rowCount() - 1)
        if row < 0:
            self.clearSelection()
            self._set_row(-1)
        else:
            self.selectRow(row)

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._set_row(current.row() if current.isValid() else -1)

    def _set_row(self, row: int) -> None:
        if row != self._row:
            self._row = row
            self.current_row_changed.emit(row)

    def _restore_row(self) -> None:
        # a model reset drops the selection silently; select the same position again
        self.select_row(self._row)
