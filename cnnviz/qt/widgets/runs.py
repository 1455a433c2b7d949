"""The Runs panel: every training run of the project, with its data, settings and
results. Tick runs to show them together (their curves overlaid, their final figures
side by side below the list); rename (double-click a name), delete, start a new run
from a run's settings, or put a run's weights back in place."""

from __future__ import annotations

from html import escape

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QBrush
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cnnviz.core.i18n import Message, tr
from cnnviz.core.runs import Run, RunError, about, data_text, format_metric
from cnnviz.qt import dialogs
from cnnviz.qt.session import Session
from cnnviz.qt.widgets.curves import TRAIN_COLOR
from cnnviz.qt.widgets.run_curves import run_colors
from cnnviz.qt.widgets.run_table import RunTable

EMPTY_HINT = Message("Every training run is kept here, with its network, data, settings "
                     "and results. Tick runs to compare them: their curves overlaid, their "
                     "final figures side by side.")
SHOW, NAME, VAL, TEST = range(4)


class RunsPanel(QWidget):
    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.hint = QLabel(str(EMPTY_HINT))
        self.hint.setWordWrap(True)
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["", tr("Run"), tr("val acc"), tr("test acc")])
        self.table.setToolTip(tr("Tick runs to compare them; double-click a name to rename "
                                 "it."))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                   | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.table.verticalHeader().hide()
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setWordWrap(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(NAME, QHeaderView.ResizeMode.Stretch)
        self.compare = RunTable(session.runs, TRAIN_COLOR)  # the ticked runs' figures
        self.details = QLabel()
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.new_run = QPushButton(tr("New run from settings"))
        self.new_run.setToolTip(tr("This run's network, data and settings, with fresh "
                                   "weights and no layer frozen: Start trains it again from "
                                   "scratch."))
        self.restore = QPushButton(tr("Restore weights"))
        self.restore.setToolTip(tr("This run's network, data, settings, curves and weights "
                                   "back in place, to look at them or train on."))
        self.rename = QPushButton(tr("Rename"))
        self.delete = QPushButton(tr("Delete"))
        # the two long labels a row each, so the panel fits a 1024-wide projector's column
        buttons = QGridLayout()
        buttons.addWidget(self.new_run, 0, 0, 1, 2)
        buttons.addWidget(self.restore, 1, 0, 1, 2)
        buttons.addWidget(self.rename, 2, 0)
        buttons.addWidget(self.delete, 2, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.hint)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.compare)
        layout.addWidget(self.details)
        layout.addLayout(buttons)
        self.table.itemChanged.connect(self._on_item_changed)
        self.table.itemSelectionChanged.connect(self._update_selection)
        self.new_run.clicked.connect(lambda: self._adopt(self.session.new_run_from))
        self.restore.clicked.connect(lambda: self._adopt(self.session.restore_run))
        self.rename.clicked.connect(self._start_rename)
        self.delete.clicked.connect(self._delete)
        session.runs.changed.connect(self.refresh)
        session.run_changed.connect(self._update_selection)
        self.refresh()

    # -- showing -----------------------------------------------------------------------
    def selected(self) -> Run | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return self.session.runs.get(self.table.item(rows[0].row(), NAME).data(
            Qt.ItemDataRole.UserRole))

    def refresh(self) -> None:
        """Rebuild the list from the run log (newest first), keeping the selection."""
        log, table = self.session.runs, self.table
        chosen = self.selected()
        colors = run_colors(log.shown_runs(), log.current, TRAIN_COLOR)
        table.blockSignals(True)
        table.setRowCount(len(log.runs))
        for row, run in enumerate(reversed(log.runs)):
            show = QTableWidgetItem()
            show.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
            show.setCheckState(Qt.CheckState.Checked if run.number in log.shown
                               else Qt.CheckState.Unchecked)
            show.setToolTip(tr("Show this run with the others ticked"))
            if run.number in colors:
                show.setBackground(QBrush(colors[run.number]))
            name = QTableWidgetItem(run.name)
            name.setData(Qt.ItemDataRole.UserRole, run.number)
            name.setToolTip(self._describe(run))
            if run.number == log.current:
                font = name.font()
                font.setBold(True)
                name.setFont(font)
            table.setItem(row, SHOW, show)
            table.setItem(row, NAME, name)
            final = run.final()
            for column, key in ((VAL, "val_accuracy"), (TEST, "test_accuracy")):
                item = QTableWidgetItem(format_metric(key, final[key]))
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                      | Qt.AlignmentFlag.AlignVCenter)
                table.setItem(row, column, item)
            if chosen is not None and run.number == chosen.number:
                table.selectRow(row)
        table.resizeRowsToContents()
        table.blockSignals(False)
        self.hint.setVisible(not log.runs)
        self._update_selection()

    def _describe(self, run: Run) -> str:
        training = run.training()
        return tr("{name}: {data}, {epochs} epochs trained ({steps:,} steps); {about}",
                  name=run.name, data=data_text(run), epochs=len(training.epochs),
                  steps=training.steps, about=about(run))

    def _update_selection(self) -> None:
        run = self.selected()
        idle = not self.session.active
        self.details.setText("" if run is None else escape(self._describe(run)))
        self.new_run.setEnabled(run is not None and idle)
        self.restore.setEnabled(run is not None and idle and run.weights is not None)
        self.restore.setToolTip(tr("This run's network, data, settings, curves and weights "
                                   "back in place, to look at them or train on.")
                                if run is None or run.weights is not None else
                                tr("This run did not keep its weights."))
        self.rename.setEnabled(run is not None)
        self.delete.setEnabled(run is not None and (idle or run.number != self.session.runs
                                                    .current))

    # -- the learner's actions -------------------------------------------------------------
    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        number = self.table.item(item.row(), NAME).data(Qt.ItemDataRole.UserRole)
        log = self.session.runs
        if item.column() == SHOW:
            log.set_shown(number, item.checkState() == Qt.CheckState.Checked)
        elif item.column() == NAME:
            try:
                log.rename(number, item.text())
            except RunError as exc:
                dialogs.show_error(self, tr("Cannot rename the run"), str(exc))
                self.refresh()  # back to the name it has

    def _start_rename(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows:
            self.table.editItem(self.table.item(rows[0].row(), NAME))

    def _delete(self) -> None:
        run = self.selected()
        if run is not None and dialogs.confirm(
                self, tr("Delete the run?"), tr("Delete {name}?", name=run.name),
                tr("Its curves, figures and weights leave the project when it is saved next."),
                tr("Delete")):
            self.session.runs.remove(run.number)

    def _adopt(self, action) -> None:
        run = self.selected()
        if run is None or self.session.active:
            return
        if self.session.untracked_weights() and not (
                dialogs.confirm(self, tr("Replace the trained weights?"),
                                tr("Replace the network and its trained weights?"),
                                tr("They were not trained in a run this project keeps."),
                                tr("Replace"))):
            return
        action(run)


if __name__ == "__main__":  # a few made-up runs, no training
    import numpy as np
    from PyQt6.QtWidgets import QApplication

    from cnnviz.core.config import TrainConfig
    from cnnviz.core.history import History
    from cnnviz.core.presets import get_preset
    from cnnviz.qt.dataset_loader import DatasetLoader
    from cnnviz.qt.network_model import NetworkModel
    from cnnviz.qt.worker import TrainingWorker

    app = QApplication([])
    spec = get_preset("tiny").spec
    session = Session(NetworkModel(spec), TrainingWorker(), DatasetLoader(), TrainConfig(),
                      "shapes")
    for i, accuracy in enumerate((0.62, 0.81, 0.88)):
        history = History(list(np.linspace(1.6, 0.4 - 0.1 * i, 60)),
                          list(np.linspace(0.2, accuracy, 60)),
                          [{"loss": 0.5, "accuracy": accuracy, "val_loss": 0.6,
                            "val_accuracy": accuracy - 0.05, "seconds": 1.0}])
        session.runs.record(spec, TrainConfig(epochs=1, seed=i), "digits", 10, history, None, 60)
        session.runs.close()
    panel = RunsPanel(session)
    panel.resize(340, 500)
    panel.show()
    app.exec()
