"""A small array as a table of numbers: each cell coloured by sign and size, its number on
it, its exact value under the mouse. For kernels, patches, products, pool windows."""

from __future__ import annotations

import numpy as np
from PyQt6.QtCore import QRectF, QSize, Qt, pyqtSignal
from PyQt6.QtGui import QColor, QFontMetricsF, QPainter, QPen
from PyQt6.QtWidgets import QSizePolicy, QToolTip, QWidget

from cnnviz.core.i18n import tr

POSITIVE, NEGATIVE = QColor(214, 64, 52), QColor(48, 104, 214)
PADDING = QColor(160, 160, 160)
MARK = QColor(255, 140, 0)
CELL = QSize(54, 28)  # a cell that shows "-0.123" at the usual font size
MIN_CELL = QSize(30, 18)
MAX_CELL = QSize(80, 36)  # larger cells would only spread the numbers apart
WIDEST = "-0.000"  # the widest text a cell holds


def cell_colour(value: float, scale: float) -> QColor:
    """White at 0, red for positive and blue for negative, full at |value| >= scale."""
    t = min(abs(value) / scale, 1.0) if scale > 0 else 0.0
    end = POSITIVE if value >= 0 else NEGATIVE
    return QColor(round(255 + (end.red() - 255) * t), round(255 + (end.green() - 255) * t),
                  round(255 + (end.blue() - 255) * t))


class NumberGrid(QWidget):
    """`values` (rows, cols) under a title. `masked` cells (rows, cols) bool are padding;
    `marked` (row, col) gets a frame. `clicked(row, col)` on a press."""

    clicked = pyqtSignal(int, int)

    def __init__(self, title: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.title = title
        self.values = np.zeros((0, 0))
        self.masked: np.ndarray | None = None
        self.marked: tuple[int, int] | None = None
        self.scale = 1.0
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)

    def set_values(self, values: np.ndarray, scale: float | None = None,
                   masked: np.ndarray | None = None, marked: tuple[int, int] | None = None,
                   title: str | None = None) -> None:
        reshaped = np.shape(values) != self.values.shape
        self.values = np.atleast_2d(np.asarray(values, np.float64))
        self.scale = float(np.abs(self.values).max()) if scale is None else scale
        self.masked, self.marked = masked, marked
        if title is not None:
            self.title = title
        if reshaped:
            rows, cols = self.values.shape
            self.setMaximumSize(max(cols * MAX_CELL.width(), self.sizeHint().width()),
                                rows * MAX_CELL.height() + self._title_height())
            self.updateGeometry()
        self.update()

    def _title_height(self) -> int:
        return self.fontMetrics().height() + 4 if self.title else 0

    def sizeHint(self) -> QSize:
        rows, cols = self.values.shape
        return QSize(max(cols * CELL.width(), self.fontMetrics().horizontalAdvance(self.title)),
                     rows * CELL.height() + self._title_height())

    def minimumSizeHint(self) -> QSize:
        rows, cols = self.values.shape
        return QSize(cols * MIN_CELL.width(), rows * MIN_CELL.height() + self._title_height())

    def _cell(self) -> tuple[float, float]:
        rows, cols = self.values.shape
        height = self.height() - self._title_height()
        return self.width() / max(cols, 1), height / max(rows, 1)

    def _at(self, x: float, y: float) -> tuple[int, int] | None:
        w, h = self._cell()
        r, c = int((y - self._title_height()) // h), int(x // w)
        rows, cols = self.values.shape
        return (r, c) if 0 <= r < rows and 0 <= c < cols and y >= self._title_height() else None

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        top = self._title_height()
        if self.title:
            painter.drawText(QRectF(0, 0, self.width(), top), Qt.AlignmentFlag.AlignLeft,
                             self.title)
        w, h = self._cell()
        if w < 4 or h < 4:  # not laid out yet
            painter.end()
            return
        font = painter.font()
        size = min(font.pointSizeF(), h * 0.42)
        font.setPointSizeF(size)
        while size > 5 and QFontMetricsF(font).horizontalAdvance(WIDEST) > w - 4:
            size -= 0.5
            font.setPointSizeF(size)
        painter.setFont(font)
        grid = QPen(QColor(120, 120, 120))
        for (r, c), v in np.ndenumerate(self.values):
            rect = QRectF(c * w, top + r * h, w, h)
            padded = self.masked is not None and self.masked[r, c]
            painter.fillRect(rect, PADDING if padded else cell_colour(v, self.scale))
            painter.setPen(grid)
            painter.drawRect(rect)
            dark = not padded and abs(v) > 0.6 * self.scale > 0
            painter.setPen(QColor(255, 255, 255) if dark else QColor(0, 0, 0))
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, f"{v + 0.0:.3g}")  # no "-0"
        if self.marked is not None:
            r, c = self.marked
            painter.setPen(QPen(MARK, 3))
            painter.drawRect(QRectF(c * w + 1.5, top + r * h + 1.5, w - 3, h - 3))
        painter.end()

    def mouseMoveEvent(self, event) -> None:
        at = self._at(event.position().x(), event.position().y())
        if at is None:
            QToolTip.hideText()
            return
        value = self.values[at]
        padded = self.masked is not None and self.masked[at]
        text = tr("row {r}, column {c}: {v}", r=at[0], c=at[1], v=f"{value:.8g}")
        QToolTip.showText(event.globalPosition().toPoint(),
                          text + (tr(" (padding)") if padded else ""), self)

    def mousePressEvent(self, event) -> None:
        at = self._at(event.position().x(), event.position().y())
        if at is not None:
            self.clicked.emit(*at)
