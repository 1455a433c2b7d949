"""The architecture builder: edits go to the network model, shapes and totals follow,
errors are explained and block training, undo/redo and drag-to-reorder work."""

from __future__ import annotations

import pytest
from PyQt6.QtCore import QModelIndex, Qt
from test_qt_support import make_window

from cnnviz.core.layers import Conv2D, Dense, Dropout, MaxPool2D
from cnnviz.core.presets import get_preset
from cnnviz.qt.network_model import NetworkModel
from cnnviz.qt.widgets.builder import ArchitectureBuilder
from cnnviz.qt.widgets.layer_table import ERROR_TINT, NAME, OUTPUT, PARAMS


@pytest.fixture
def builder(qtbot):
    network = NetworkModel(get_preset("tiny").spec, num_classes=5)
    widget = ArchitectureBuilder(network)
    qtbot.addWidget(widget)
    return widget


def cell(builder, row, col, role=Qt.ItemDataRole.DisplayRole):
    model = builder.table.model()
    return model.data(model.index(row, col), role)


def test_rows_show_output_shapes_and_params(builder):
    assert cell(builder, 0, OUTPUT) == "26 × 26 × 16"
    assert cell(builder, 0, PARAMS) == "160"
    assert "floor((28 - 3 + 0) / 1) + 1 = 26" in cell(builder, 0, OUTPUT,
                                                      Qt.ItemDataRole.ToolTipRole)
    assert "3 x 3 x 1 x 16 + 16 = 160" in cell(builder, 0, PARAMS, Qt.ItemDataRole.ToolTipRole)
    assert "56,389" in builder._totals.text()


def test_add_remove_duplicate_update_shapes_and_totals(builder):
    builder.table.select_row(1)  # maxpool1
    builder.layer_palette.buttons["conv2d"].click()  # Conv2D(16, 3) after it
    spec = builder.network.spec
    assert isinstance(spec.layers[2], Conv2D) and builder.table.current_row() == 2
    assert cell(builder, 2, OUTPUT) == "11 × 11 × 16"
    assert cell(builder, 3, OUTPUT) == "9 × 9 × 32"  # conv2 now sees 11x11
    assert f"{builder.network.analysis.total_params:,}" in builder._totals.text()

    builder.duplicate_action.trigger()
    assert len(builder.network.spec.layers) == 9 and builder.table.current_row() == 3
    builder.remove_action.trigger()
    assert builder.table.current_row() == 3  # the selection stays in place
    builder.table.select_row(2)
    builder.remove_action.trigger()
    assert builder.network.spec == get_preset("tiny").spec
    assert "56,389" in builder._totals.text()


def test_drag_reorder_moves_the_layer(builder):
    model = builder.table.model()
    dragged = model.mimeData([model.index(6, NAME)])  # dense2 ...
    model.dropMimeData(dragged, Qt.DropAction.MoveAction, 5, 0, QModelIndex())  # ... above dense1
    assert builder.network.spec.names[5:] == ["dense1", "dense2"]  # numbered in order
    assert [layer.units for layer in builder.network.spec.layers[5:]] == [5, 64]
    assert cell(builder, 5, OUTPUT) == "5" and cell(builder, 6, OUTPUT) == "64"
    builder.network.undo_stack.undo()
    assert builder.network.spec == get_preset("tiny").spec

    builder.table.select_row(2)
    builder.up_action.trigger()  # conv2 before maxpool1
    assert isinstance(builder.network.spec.layers[1], Conv2D)
    assert builder.table.current_row() == 1


def test_invalid_layer_is_explained_in_row_and_problems(builder):
    builder.table.select_row(2)  # conv2 sees 13x13
    builder.editor.editor("kernel_size").setValue(15)
    reason = cell(builder, 2, NAME, Qt.ItemDataRole.ToolTipRole)
    assert "kernel 15 > input H 13" in reason and "= -1" in reason
    assert cell(builder, 2, NAME, Qt.ItemDataRole.BackgroundRole) == ERROR_TINT
    assert cell(builder, 3, OUTPUT) == "?"
    assert not builder._problems.isHidden()
    assert "kernel 15 &gt; input H 13" in builder._problems.text()
    assert "disabled until the errors are fixed" in builder._problems.text()


def test_spin_edits_merge_into_one_undo_step(builder):
    builder.table.select_row(0)
    filters = builder.editor.editor("filters")
    for value in (17, 18, 19):
        filters.setValue(value)
    stack = builder.network.undo_stack
    assert stack.count() == 1 and stack.undoText() == "Change conv1 filters"
    builder.editor.editor("activation").setCurrentText("tanh")
    assert stack.count() == 2
    stack.undo()
    stack.undo()
    assert builder.network.spec == get_preset("tiny").spec
    assert filters.value() == 16  # the editor shows the model, not its own copy
    stack.redo()
    assert builder.network.spec.layers[0].filters == 19


def test_pool_stride_none_is_shown_as_pool_size(builder):
    builder.table.select_row(1)
    stride = builder.editor.editor("stride")
    assert stride.value() == stride.minimum() and stride.specialValueText() == "pool size"
    stride.setValue(1)
    assert builder.network.spec.layers[1] == MaxPool2D(2, 1)
    stride.setValue(0)
    assert builder.network.spec.layers[1] == MaxPool2D(2, None)


def test_window_disables_start_with_the_reason_until_fixed(qtbot, tmp_path, monkeypatch):
    window = make_window(qtbot, tmp_path, monkeypatch)
    start = window.actions.start_pause
    assert start.isEnabled()
    window.builder.table.select_row(2)
    window.builder.editor.editor("kernel_size").setValue(9)  # conv2 sees 7x7 of 16x16 data
    assert not start.isEnabled()
    assert "kernel 9 > input H 7" in start.toolTip()
    window.actions.undo.trigger()
    assert start.isEnabled()
    window.actions.redo.trigger()
    assert not start.isEnabled()


def test_network_follows_the_data(qtbot, tmp_path, monkeypatch):
    window = make_window(qtbot, tmp_path, monkeypatch)  # 16x16x1 images, 3 classes
    spec = window.network.spec
    assert spec.input_shape == (16, 16, 1)
    assert spec.layers[-1] == Dense(3, "none")
    assert window.network.analysis.ok
    assert "16 × 16 × 1" in window.builder._input.text()


def test_presets_are_fitted_to_the_data_and_undoable(qtbot, tmp_path, monkeypatch):
    window = make_window(qtbot, tmp_path, monkeypatch)
    lenet = next(a for a in window.preset_actions if a.text() == "lenet5")
    lenet.trigger()
    spec = window.network.spec
    assert spec.input_shape == (16, 16, 1) and spec.layers[-1] == Dense(3, "none")
    assert window.session.config.epochs == get_preset("lenet5").epochs
    window.actions.undo.trigger()
    assert len(window.network.spec.layers) == len(get_preset("tiny").spec.layers)


def test_dropout_rate_editor(builder):
    builder.table.select_row(4)
    builder.layer_palette.buttons["dropout"].click()
    rate = builder.editor.editor("rate")
    rate.setValue(0.25)
    assert builder.network.spec.layers[5] == Dropout(0.25)
    assert cell(builder, 5, OUTPUT) == "800"


def test_keyboard_shortcuts(qtbot, tmp_path, monkeypatch):
    window = make_window(qtbot, tmp_path, monkeypatch)
    window.activateWindow()
    qtbot.waitUntil(lambda: window.isActiveWindow())
    window.builder.table.setFocus()
    window.builder.table.select_row(5)
    qtbot.keyClick(window.builder.table, Qt.Key.Key_Delete)
    assert len(window.network.spec.layers) == 6
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(window.network.spec.layers) == 7
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.ShiftModifier)
    assert len(window.network.spec.layers) == 6
    keys = {a.text().replace("&", ""): a.shortcut().toString() for a in
            (window.actions.save, window.actions.open, window.actions.start_pause)}
    assert keys == {"Save": "Ctrl+S", "Open…": "Ctrl+O", "Start": "Space"}
