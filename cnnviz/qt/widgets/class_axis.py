"""An axis of class names (the confusion matrix's) that keeps its names apart when the
columns are narrow: upright when each name fits its column, else turned 45 degrees (still
read left to right, the textbook's confusion matrix), else turned upright along the column,
and when even that is too crowded, every k-th name. Names longer than MAX_EMS line heights
are cut with an ellipsis; pointing at a row, a column or a turned name shows its whole
name."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pyqtgraph as pg
from PyQt6.QtCore import QPointF, QRectF, Qt
from PyQt6.QtGui import QFont, QFontMetricsF, QPolygonF, QTransform
from PyQt6.QtWidgets import QApplication

MAX_EMS = 8  # the longest name shown whole, in line heights (a name on a projector)
GAP_EMS = 0.25  # the least room between two names, in line heights


def line_height(text: str, metrics: QFontMetricsF) -> float:
    """The height `text` is drawn in: taller than the font's own line when characters come
    from a fallback font (Chinese names: 17.4 px against 14)."""
    return max(metrics.height(), metrics.boundingRect(QRectF(), 0, text).height())


@dataclass(frozen=True)
class Label:
    """One name as drawn: its class, its text (maybe cut), the point its end sits at, in
    the axis's coordinates, and the angle it is turned by (degrees counter-clockwise)."""

    index: int
    text: str
    anchor: QPointF
    angle: float

    def box(self, metrics: QFontMetricsF) -> QRectF:
        """The text's box in its own turned frame: it ends at the anchor, centred on it."""
        width, height = metrics.horizontalAdvance(self.text), line_height(self.text, metrics)
        if self.angle == 0:  # upright: centred under the anchor
            return QRectF(-width / 2, 0, width, height)
        return QRectF(-width, -height / 2, width, height)

    def polygon(self, metrics: QFontMetricsF) -> QPolygonF:
        """Where the text lies in the axis's coordinates."""
        turn = QTransform().translate(self.anchor.x(), self.anchor.y()).rotate(-self.angle)
        return turn.map(QPolygonF(self.box(metrics)))


def angle_for(widths: list[float], height: float, column: float, room_left: float,
              first: float, drawn: float | None = None) -> float:
    """The angle the names are drawn at: 0 if each pair of neighbours fits side by side,
    45 if turned names keep apart and the first one stays right of `room_left` pixels
    left of the axis (`first`: its tick's position), else 90. Names keep GAP_EMS of the
    font's line `height` apart, and their drawn lines (`drawn`: the tallest, taller than
    the font's when a fallback font draws them) never overlap."""
    gap = GAP_EMS * height
    drawn = height if drawn is None else drawn
    if all((a + b) / 2 + gap <= column for a, b in zip(widths, widths[1:], strict=False)):
        return 0
    diagonal = math.sqrt(0.5)
    reach = (widths[0] + drawn / 2) * diagonal if widths else 0  # the first name's leftward
    if column * diagonal >= max(drawn, height + gap) and first - reach >= -room_left:
        return 45
    return 90


class ClassAxis(pg.AxisItem):
    """A bottom or left axis whose ticks are the classes 0..n-1, labelled by name."""

    def __init__(self, orientation: str):
        super().__init__(orientation)
        self.names: tuple[str, ...] = ()
        self.labels: list[Label] = []  # the bottom axis's names as last drawn
        self._bounds = QRectF()  # where they reach, in the axis's coordinates

    def set_names(self, names: tuple[str, ...]) -> None:
        self.names = names
        metrics = QFontMetricsF(self.font())
        shown = [self._cut(name, metrics) for name in names]
        self.setTicks([list(enumerate(shown))])

    def font(self) -> QFont:
        return self.style["tickFont"] or QApplication.font()

    @staticmethod
    def _cut(name: str, metrics: QFontMetricsF) -> str:
        return metrics.elidedText(name, Qt.TextElideMode.ElideRight, MAX_EMS * metrics.height())

    def setTickFont(self, font: QFont | None) -> None:
        super().setTickFont(font)
        if self.names:
            self.set_names(self.names)  # cut to the new size

    # -- drawing the bottom axis's names turned ----------------------------------------
    def generateDrawSpecs(self, p):
        if self.orientation != "bottom" or not self.names:
            return super().generateDrawSpecs(p)
        self.labels = self._layout(QFontMetricsF(self.font()))
        specs = super().generateDrawSpecs(p)  # its _updateMaxTextSize sees the turned names
        if specs is None or not self._turned():
            return specs
        axis, ticks, _ = specs
        return axis, ticks, []  # drawPicture draws the turned names

    def _turned(self) -> bool:
        return self.orientation == "bottom" and bool(self.labels) and self.labels[0].angle != 0

    def _layout(self, metrics: QFontMetricsF) -> list[Label]:
        """The names' places for the axis's current length and range."""
        lo, hi = self.range
        column = self.geometry().width() / (hi - lo) if hi > lo else 0.0
        if column <= 0:
            return []
        shown = [self._cut(name, metrics) for name in self.names]
        widths = [metrics.horizontalAdvance(s) for s in shown]
        height = metrics.height()
        drawn = max((line_height(s, metrics) for s in shown), default=height)
        top = self._text_top()
        first = (0 - lo) * column
        room_left = self.pos().x()  # the left axis's width: an empty corner below it
        angle = angle_for(widths, height, column, room_left, first, drawn)
        every = 1 if angle != 90 else math.ceil(max(drawn, (1 + GAP_EMS) * height) / column)
        labels = [Label(i, s, QPointF((i - lo) * column, top), angle)
                  for i, s in enumerate(shown) if i % every == 0]
        if angle == 0:
            self._set_bounds(QRectF())
            return labels
        # each turned name hangs below the axis: lift it so its top is at `top`
        lifted, reach = [], QRectF()
        for label in labels:
            rise = label.polygon(metrics).boundingRect().top() - top
            lifted.append(Label(label.index, label.text, label.anchor - QPointF(0, rise),
                                angle))
            reach = reach.united(lifted[-1].polygon(metrics).boundingRect())
        self._set_bounds(reach)
        return lifted

    def _text_top(self) -> float:
        """Where the names start below the axis line: past the ticks and their gap."""
        return max(0, self.style["tickLength"]) + self.style["tickTextOffset"][1]

    def _set_bounds(self, bounds: QRectF) -> None:
        if bounds != self._bounds:
            self.prepareGeometryChange()
            self._bounds = bounds

    def _updateMaxTextSize(self, x: int):
        if self._bounds.isValid():  # turned names: the axis is as tall as they reach
            x = math.ceil(self._bounds.bottom() - self._text_top())
        super()._updateMaxTextSize(x)

    def boundingRect(self) -> QRectF:
        return super().boundingRect().united(self._bounds)

    def drawPicture(self, p, axisSpec, tickSpecs, textSpecs):
        super().drawPicture(p, axisSpec, tickSpecs, textSpecs)
        if not self._turned():
            return
        metrics = QFontMetricsF(self.font())
        for label in self.labels:
            p.save()
            p.translate(label.anchor)
            p.rotate(-label.angle)
            p.drawText(label.box(metrics), int(Qt.AlignmentFlag.AlignCenter), label.text)
            p.restore()

    # -- the whole name under the pointer ------------------------------------------------
    def hoverEvent(self, event) -> None:
        view = self.linkedView()
        if event.isExit() or view is None or not self.names:
            self.setToolTip("")
            return
        self.setToolTip(self._name_at(event.pos(), view.mapSceneToView(event.scenePos())))

    def _name_at(self, pos: QPointF, at: QPointF) -> str:
        """The whole name of the class at `pos` (in the axis's coordinates; `at`: in the
        plot's): the turned name under it (at 45 degrees it lies under the columns on
        its left), else its column's or row's."""
        if self._turned():
            metrics = QFontMetricsF(self.font())
            for label in self.labels:
                if label.polygon(metrics).containsPoint(pos, Qt.FillRule.OddEvenFill):
                    return self.names[label.index]
        i = round(at.x() if self.orientation == "bottom" else at.y())
        return self.names[i] if 0 <= i < len(self.names) else ""
