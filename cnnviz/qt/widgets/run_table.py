"""The final figures of the runs shown together, side by side: a column per run (in its
curves' colour), a row per figure (training, validation and test loss and accuracy),
and in brackets each run's difference to the first run chosen (accuracy in percentage
points). Part of the Runs panel; hidden until runs are shown."""

from __future__ import annotations

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QBrush, QColor
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from cnnviz.core.i18n import tr
from cnnviz.core.runs import METRICS, about, data_text, differences, format_metric
from cnnviz.qt.run_log import RunLog
from cnnviz.qt.widgets.run_curves import run_colors


def row_names() -> list[str]:
    return [tr("train loss"), tr("train acc"), tr("val loss"), tr("val acc"),
            tr("test loss"), tr("test acc")]


def cell_text(key: str, value: float | None, difference: float | None) -> str:
    """'87.7 % (+5.3)': the figure, and its difference to the first run's if any."""
    text = format_metric(key, value)
    if difference is not None:
        text += f" ({format_metric(key, difference, signed=True)})"
    return text


class RunTable(QTableWidget):
    """Reads the run log's shown runs; the colours are the curves' (`live`: the run in
    progress's). As tall as its rows, whatever room the panel has."""

    def __init__(self, runs: RunLog, live: QColor, parent: QWidget | None = None):
        super().__init__(len(METRICS), 0, parent)
        self.runs, self.live = runs, live
        self.setVerticalHeaderLabels(row_names())
        self.setToolTip(tr("The final figures of the runs ticked; in brackets, each run's "
                           "difference to the first column (accuracy in percentage points)."))
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setWordWrap(False)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        header = self.horizontalHeader()  # columns as wide as their figures, names elided
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        runs.changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        shown = self.runs.shown_runs()
        self.setVisible(bool(shown))
        table = self
        table.setColumnCount(len(shown))
        first = shown[0] if shown else None
        colors = run_colors(shown, self.runs.current, self.live)
        for column, run in enumerate(shown):
            diff = differences(first, run) if column else dict.fromkeys(METRICS)
            final = run.final()
            label = (tr("{name} (this run)", name=run.name) if run.number == self.runs.current
                     else run.name)
            head = QTableWidgetItem(label)
            head.setForeground(QBrush(colors[run.number]))
            head.setToolTip(f"{run.name}: {data_text(run)}\n{about(run)}")
            table.setHorizontalHeaderItem(column, head)
            for row, key in enumerate(METRICS):
                item = QTableWidgetItem(cell_text(key, final[key], diff[key]))
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                      | Qt.AlignmentFlag.AlignVCenter)
                table.setItem(row, column, item)
        metrics = self.fontMetrics()
        widths = [max(metrics.horizontalAdvance(self.item(row, column).text())
                      for row in range(len(METRICS))) + 16 for column in range(len(shown))]
        for column, width in enumerate(widths):
            self.setColumnWidth(column, width)
        # Fixed, whatever a scroll area around the panel made it: the rows are all shown
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        header = table.horizontalHeader().sizeHint().height()
        scrolls = sum(widths) > self.width() - self.verticalHeader().width()
        scroll = table.horizontalScrollBar().sizeHint().height() if scrolls else 0
        table.setFixedHeight(header + scroll + 2 * table.frameWidth()
                             + len(METRICS) * table.verticalHeader().defaultSectionSize())
