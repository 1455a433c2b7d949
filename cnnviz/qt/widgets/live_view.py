"""The base of the views the LiveModel feeds, and the queue that spreads their redraws."""

from __future__ import annotations

from PyQt6 import sip
from PyQt6.QtCore import QObject, Qt, QTimer
from PyQt6.QtWidgets import QLabel, QWidget

from cnnviz.qt.live_model import LiveModel


class RedrawQueue(QObject):
    """Views waiting to redraw, one per pass of the event loop.

    New view data reaches every visible view at once; redrawing them all in one go
    (and Qt then painting them all in one go) would hold the event loop for the sum of
    their times, several tens of milliseconds with every view visible. One at a time,
    each followed by its paint, the window answers input between any two of them.
    """

    def __init__(self):
        super().__init__()
        self._waiting: list[LiveView] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)  # the next pass, after the paint of the last redraw
        self._timer.timeout.connect(self._redraw_next)

    def request(self, view: LiveView) -> None:
        if view not in self._waiting:
            self._waiting.append(view)
        if not self._timer.isActive():
            self._timer.start()

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def _redraw_next(self) -> None:
        if self._waiting:
            view = self._waiting.pop(0)
            if not sip.isdeleted(view) and view.isVisible():
                view.refresh()
        if self._waiting:
            self._timer.start()


_queue: RedrawQueue | None = None


def redraw_queue() -> RedrawQueue:
    """The application's one queue (made on first use, once Qt runs)."""
    global _queue
    if _queue is None or sip.isdeleted(_queue):
        _queue = RedrawQueue()
    return _queue


class LiveView(QWidget):
    """A view of the LiveModel's current Views: `refresh()` draws them. It redraws on
    each new Views only while visible (a hidden tab or dock would paint for nothing),
    in its turn in the redraw queue, and catches up when it is shown. When the model
    says why there is nothing to show, that covers the view."""

    def __init__(self, model: LiveModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        self.notice = QLabel(self)  # over the view, in no layout
        self.notice.setWordWrap(True)
        self.notice.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.notice.setAutoFillBackground(True)  # the view's stale pictures do not show
        self.notice.hide()
        model.views_changed.connect(self.refresh_if_visible)
        model.notice_changed.connect(self._show_notice)

    def _show_notice(self, notice: str | None) -> None:
        self.notice.setText(notice or "")
        self.notice.setGeometry(self.rect())
        self.notice.setVisible(notice is not None)
        self.notice.raise_()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.notice.setGeometry(self.rect())

    def refresh(self) -> None:
        raise NotImplementedError

    def refresh_if_visible(self, *_) -> None:
        if self.isVisible():
            redraw_queue().request(self)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.refresh()
