"""A padlock icon, drawn in the widget's own text colour (any theme, any font): closed
for a frozen layer, open for one that trains."""

from __future__ import annotations

from PyQt6.QtCore import QPointF, QRectF, Qt
from PyQt6.QtGui import QColor, QIcon, QPainter, QPalette, QPen, QPixmap
from PyQt6.QtWidgets import QWidget

FROZEN_COLOR = "#1f77b4"  # a closed lock stands out; an open one is the text's, faded


def lock_pixmap(size: int, closed: bool, color) -> QPixmap:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    s = size / 16
    painter.setPen(QPen(color, 1.8 * s))
    # the shackle: closed, its right leg goes into the body; open, it swings up
    lift = 0 if closed else 3 * s
    painter.drawArc(QRectF(4.5 * s, 1.5 * s - lift, 7 * s, 8 * s), 0, 180 * 16)
    painter.drawLine(QPointF(4.5 * s, 5.5 * s - lift), QPointF(4.5 * s, 7 * s))
    if closed:
        painter.drawLine(QPointF(11.5 * s, 5.5 * s), QPointF(11.5 * s, 7 * s))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(color)
    painter.drawRoundedRect(QRectF(2.5 * s, 7 * s, 11 * s, 8 * s), 1.5 * s, 1.5 * s)
    painter.end()
    return pixmap


def lock_icon(widget: QWidget, closed: bool = True) -> QIcon:
    """The lock at the widget's icon size, in its palette's text colour (a closed one in
    FROZEN_COLOR)."""
    size = widget.style().pixelMetric(widget.style().PixelMetric.PM_SmallIconSize)
    color = QColor(FROZEN_COLOR) if closed else widget.palette().color(
        QPalette.ColorRole.PlaceholderText)
    icon = QIcon()
    for scale in (1, 2):  # sharp on a high-density screen too
        pixmap = lock_pixmap(size * scale, closed, color)
        pixmap.setDevicePixelRatio(scale)
        icon.addPixmap(pixmap)
    return icon
