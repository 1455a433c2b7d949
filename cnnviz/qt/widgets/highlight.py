"""A frame drawn over part of the window, to point a learner at it.

It is a transparent widget on top of the window (mouse clicks pass through), placed
around the framed widgets and moved with them: it watches them and every widget around
them for moves, resizes, showing, hiding and going behind another dock's tab (no timer
polls).
"""

from __future__ import annotations

from PyQt6.QtCore import QEvent, QObject, QRect, Qt
from PyQt6.QtGui import QColor, QPainter, QPen
from PyQt6.QtWidgets import QWidget

COLOR = QColor(255, 140, 0)  # orange: reads on the light and the dark theme
WIDTH = 3
MARGIN = 4  # pixels around the framed widgets
WATCHED = (QEvent.Type.Move, QEvent.Type.Resize, QEvent.Type.Show, QEvent.Type.Hide,
           QEvent.Type.ParentChange, QEvent.Type.ZOrderChange)


def shown(widget: QWidget) -> bool:
    """Whether `widget` is on the screen: a dock behind another dock's tab counts as
    visible to Qt, but nothing of it shows."""
    return widget.isVisible() and not widget.visibleRegion().isEmpty()


class Highlight(QWidget):
    def __init__(self, window: QWidget):
        super().__init__(window)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self._targets: list[QWidget] = []
        self._watched: list[QWidget] = []
        self.hide()

    @property
    def targets(self) -> list[QWidget]:
        return list(self._targets)

    def frame(self, widgets: list[QWidget]) -> None:
        """Frame `widgets` (together); none: no frame."""
        for w in self._watched:
            w.removeEventFilter(self)
        self._targets, self._watched = list(widgets), []
        window = self.parentWidget()
        for target in widgets:
            w: QWidget | None = target
            while w is not None and w is not window:
                if w not in self._watched:
                    w.installEventFilter(self)
                    self._watched.append(w)
                w = w.parentWidget()
        window.removeEventFilter(self)
        if widgets:
            window.installEventFilter(self)
        self._place()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in WATCHED:
            self._place()
        return False

    def _place(self) -> None:
        window = self.parentWidget()
        visible = [t for t in self._targets if shown(t)]
        if not visible:
            self.hide()
            return
        rect = QRect()
        for target in visible:
            rect = rect.united(QRect(target.mapTo(window, target.rect().topLeft()),
                                     target.size()))
        self.setGeometry(rect.adjusted(-MARGIN, -MARGIN, MARGIN, MARGIN))
        self.show()
        self.raise_()

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(COLOR, WIDTH))
        half = WIDTH // 2 + 1
        painter.drawRoundedRect(self.rect().adjusted(half, half, -half, -half), 6, 6)
