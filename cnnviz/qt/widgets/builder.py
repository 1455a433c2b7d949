"""The architecture builder: palette, layer list, property editor, totals and problems.

Every control edits the NetworkModel; everything shown is read back from it (and from
core's analysis of the spec) whenever it changes.
"""

from __future__ import annotations

import html

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from cnnviz.core.i18n import tr
from cnnviz.core.layers import Layer
from cnnviz.core.memory import available_memory, format_bytes
from cnnviz.core.presets import adapted_from, published_classes
from cnnviz.qt.network_model import NetworkModel
from cnnviz.qt.session import Session
from cnnviz.qt.widgets.layer_editor import LayerEditor
from cnnviz.qt.widgets.layer_palette import LayerPalette
from cnnviz.qt.widgets.layer_table import LayerTable, shape_label

ERROR_COLOR, WARNING_COLOR = "#d64541", "#c08000"
TABLE_MIN_ROWS = 6  # a longer network's list scrolls


def _count(n: int) -> str:
    for size, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return str(n)


class ArchitectureBuilder(QWidget):
    def __init__(self, network: NetworkModel, session: Session | None = None,
                 parent: QWidget | None = None):
        """With a `session`, the totals also say what training needs in memory at its
        batch size and optimizer."""
        super().__init__(parent)
        self.network, self.session = network, session
        self.layer_palette = LayerPalette()
        self.table = LayerTable(network)
        self.editor = LayerEditor(network)
        self._input = QLabel()
        self._input.setToolTip(tr("The shape of one image of the chosen dataset: height x "
                                  "width x channels (1 for grey, 3 for colour)."))
        self._totals = QLabel()
        self._totals.setToolTip(tr(
            "Parameters: every weight and bias that training adjusts.\n"
            "Multiply-adds: the arithmetic of one image's forward pass, a rough measure of "
            "how long the network takes to run.\n"
            "Training needs: an estimate of the memory a training step holds (weights, "
            "optimizer state, gradients, every layer's outputs for the batch, the training "
            "images); red when it is more than this machine has free."))
        self._totals.setWordWrap(True)
        self._problems = QLabel()
        self._problems.setWordWrap(True)
        self._problems.setTextFormat(Qt.TextFormat.RichText)
        self.remove_action = self._action(tr("Remove layer"), QKeySequence.StandardKey.Delete,
                                          tr("Remove the selected layer"), self._remove)
        self.duplicate_action = self._action(tr("Duplicate layer"), "Ctrl+D",
                                             tr("Insert a copy of the selected layer after it"),
                                             self._duplicate)
        self.up_action = self._action(tr("Move layer up"), "Alt+Up", tr(
            "Move the selected layer one place earlier"), lambda: self._move(-1))
        self.down_action = self._action(tr("Move layer down"), "Alt+Down", tr(
            "Move the selected layer one place later"), lambda: self._move(+1))
        self.layer_actions = (self.remove_action, self.duplicate_action, self.up_action,
                              self.down_action)
        self._layout()
        self.layer_palette.chosen.connect(self._add)
        self.table.current_row_changed.connect(self._on_row)
        network.changed.connect(self._refresh)
        if session is not None:
            session.config_changed.connect(self._refresh)
            session.data_changed.connect(self._refresh)
        self._refresh()
        self.table.select_row(0)

    def _action(self, text: str, key, tip: str, slot) -> QAction:
        action = QAction(text, self)
        action.setShortcut(QKeySequence(key))
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.setToolTip(tr("{tip} ({shortcut})", tip=tip,
                             shortcut=QKeySequence(key).toString()))
        action.setStatusTip(tip)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _layout(self) -> None:
        buttons = QHBoxLayout()
        for action, label in zip(self.layer_actions, (tr("Remove"), tr("Duplicate"), "▲", "▼"),
                                 strict=True):
            action.setIconText(label)  # what the button shows; menus show the full text
            button = QToolButton()
            button.setDefaultAction(action)
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setSpacing(3)  # with Chinese's taller lines, it fits a 1280x720 column
        layout.addWidget(self.layer_palette)
        layout.addWidget(self._input)
        # the buttons above the list: below it they would move whenever the settings
        # under it change height (another layer type), and repeated clicks would miss
        layout.addLayout(buttons)
        layout.addWidget(self.table, 1)
        layout.addWidget(self._totals)
        layout.addWidget(self._problems)
        layout.addWidget(self.editor, 1)  # its bold title names the layer it edits

    # -- editing ------------------------------------------------------------------------
    def set_editable(self, editable: bool) -> None:
        """Lock editing while a run trains this network (the list stays readable)."""
        for widget in (self.layer_palette, self.editor):
            widget.setEnabled(editable)
        self.table.setDragEnabled(editable)
        self.table.locks_editable = editable
        self.setToolTip("" if editable else tr("Stop training to change the network."))
        self._update_actions()

    def _add(self, layer: Layer) -> None:
        row = self.table.current_row()
        at = len(self.network.spec.layers) if row < 0 else row + 1
        self.network.insert(at, layer)
        self.table.select_row(at)

    def _remove(self) -> None:
        self.network.remove(self.table.current_row())

    def _duplicate(self) -> None:
        row = self.table.current_row()
        self.network.duplicate(row)
        self.table.select_row(row + 1)

    def _move(self, delta: int) -> None:
        row = self.table.current_row()
        self.network.move(row, row + delta)
        self.table.select_row(row + delta)

    # -- showing the model ------------------------------------------------------------------
    def _on_row(self, row: int) -> None:
        self.editor.set_row(row)
        self._update_actions()

    def _update_actions(self) -> None:
        row, count = self.table.current_row(), len(self.network.spec.layers)
        editable = self.editor.isEnabled()
        self.remove_action.setEnabled(editable and row >= 0)
        self.duplicate_action.setEnabled(editable and row >= 0)
        self.up_action.setEnabled(editable and row > 0)
        self.down_action.setEnabled(editable and 0 <= row < count - 1)

    @staticmethod
    def _frozen_text(analysis) -> str:
        """Keras' split, when there is one: what training changes and what it does not
        (frozen layers, BatchNorm's moving averages)."""
        if not analysis.non_trainable_params:
            return ""
        return html.escape(tr(" ({trainable} trainable, {fixed} not)",
                              trainable=f"{analysis.trainable_params:,}",
                              fixed=f"{analysis.non_trainable_params:,}"))

    def _memory_text(self) -> str:
        memory = self.session.training_memory() if self.session is not None else None
        if memory is None:
            return ""
        text = tr(" · training needs about {total} at batch {batch}",
                  total=format_bytes(memory.total), batch=self.session.config.batch_size)
        if not memory.fits(available_memory()):
            return f'<span style="color:{ERROR_COLOR}">{html.escape(text)}</span>'
        return html.escape(text)

    def _preset_text(self) -> str:
        """Beside the count, for a preset adapted to the data: that it was, and the count
        the preset has as published (the one books and tutorials give)."""
        preset = adapted_from(self.network.spec, self.network.num_classes)
        if preset is None:
            return ""
        classes = published_classes(preset)
        return "<br><i>" + html.escape(tr(
            "{name}, adapted to this data ({shape}, {classes} classes); as published "
            "({published_shape}, {published_classes} classes) it has {params} parameters.",
            name=preset.name, shape=shape_label(self.network.spec.input_shape),
            classes=self.network.num_classes, published_shape=shape_label(
                preset.spec.input_shape), published_classes=classes,
            params=f"{preset.spec.analyze(classes).total_params:,}")) + "</i>"

    def _refresh(self) -> None:
        spec, analysis = self.network.spec, self.network.analysis
        classes = self.network.num_classes
        shape = shape_label(spec.input_shape)
        self._input.setText(tr("Input  {shape}   →   {classes} classes", shape=shape,
                               classes=classes) if classes else tr("Input  {shape}",
                                                                   shape=shape))
        self._totals.setText(tr("<b>{params:,}</b> parameters", params=analysis.total_params)
                             + self._frozen_text(analysis) + " · "
                             + html.escape(tr("{macs} multiply-adds per image",
                                              macs=_count(analysis.total_macs)))
                             + self._memory_text() + self._preset_text())
        lines = [f'<span style="color:{ERROR_COLOR if p.severity == "error" else WARNING_COLOR}">'
                 f'{"✖" if p.severity == "error" else "⚠"} {html.escape(str(p))}</span>'
                 for p in analysis.problems]
        if not analysis.ok:
            lines.append("<i>" + html.escape(tr("Training is disabled until the errors are "
                                                "fixed.")) + "</i>")
        self._problems.setText("<br>".join(lines))
        self._problems.setVisible(bool(lines))
        rows = min(len(spec.layers), TABLE_MIN_ROWS)  # the list shows them before it scrolls
        self.table.setMinimumHeight(self.table.horizontalHeader().sizeHint().height() + 2
                                    + rows * self.table.verticalHeader().defaultSectionSize())
        self._update_actions()


if __name__ == "__main__":
    from PyQt6.QtWidgets import QApplication

    from cnnviz.core.presets import get_preset

    app = QApplication([])
    builder = ArchitectureBuilder(NetworkModel(get_preset("tiny").spec, num_classes=5))
    builder.resize(420, 720)
    builder.show()
    app.exec()
