"""The final figures of the runs shown together, side by side: training, validation and
test loss and accuracy of each, and each one's difference to the first run chosen (in
brackets; accuracy in percentage points). Under the curves, hidden until runs are shown."""

from __future__ import annotations

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QBrush, QColor
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cnnviz.core.i18n import tr
from cnnviz.core.runs import METRICS, Run, about, data_text, differences, format_metric
from cnnviz.qt.run_log import RunLog
from cnnviz.qt.widgets.run_curves import run_colors

MAX_ROWS_SHOWN = 5  # more scroll: the curves above keep their room


def headers() -> list[str]:
    return [tr("Run"), tr("train loss"), tr("train acc"), tr("val loss"), tr("val acc"),
            tr("test loss"), tr("test acc")]


def cell_text(key: str, value: float | None, difference: float | None) -> str:
    """'87.7 % (+5.3)': the figure, and its difference to the first run's if any."""
    text = format_metric(key, value)
    if difference is not None:
        text += f" ({format_metric(key, difference, signed=True)})"
    return text


class RunTable(QWidget):
    """Reads the run log's shown runs; the colours are the curves' (`live`: the run in
    progress's)."""

    def __init__(self, runs: RunLog, live: QColor, parent: QWidget | None = None):
        super().__init__(parent)
        self.runs, self.live = runs, live
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.table = QTableWidget(0, len(METRICS) + 1)
        self.table.setHorizontalHeaderLabels(headers())
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.note)
        layout.addWidget(self.table)
        runs.changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        shown = self.runs.shown_runs()
        self.setVisible(bool(shown))
        table = self.table
        table.setRowCount(len(shown))
        first = shown[0] if shown else None
        colors = run_colors(shown, self.runs.current, self.live)
        for row, run in enumerate(shown):
            diff = differences(first, run) if row else dict.fromkeys(METRICS)
            final = run.final()
            name = QTableWidgetItem(self._label(run))
            name.setForeground(QBrush(colors[run.number]))
            name.setToolTip(f"{data_text(run)}\n{about(run)}")
            table.setItem(row, 0, name)
            for column, key in enumerate(METRICS, start=1):
                item = QTableWidgetItem(cell_text(key, final[key], diff[key]))
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                      | Qt.AlignmentFlag.AlignVCenter)
                table.setItem(row, column, item)
        if first is not None:
            self.note.setText(tr("Final figures; in brackets, the difference to {name} "
                                 "(accuracy in percentage points).", name=first.name)
                              if len(shown) > 1 else tr("Final figures of {name}.",
                                                        name=first.name))
        rows = min(len(shown), MAX_ROWS_SHOWN)
        height = table.horizontalHeader().height() + 2 * table.frameWidth() + sum(
            table.rowHeight(r) for r in range(rows))
        table.setFixedHeight(height)

    def _label(self, run: Run) -> str:
        if run.number == self.runs.current:
            return tr("{name} (this run)", name=run.name)
        return run.name
