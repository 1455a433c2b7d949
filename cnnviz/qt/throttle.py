"""Redrawing at a bounded rate, however fast the data comes."""

from __future__ import annotations

from collections.abc import Callable

from PyQt6.QtCore import QObject, QTimer

VIEW_HZ = 10  # live views redraw at most this often: enough to look live, cheap to paint
# New feature maps, filters and predictions while training, at every second snapshot:
# each update costs the trainer (the probe) and the window (the redraws) a share of the
# training speed (benchmarks/README.md). A new probe image (a stroke on the canvas) is
# shown at the next snapshot all the same.
LIVE_VIEWS_HZ = VIEW_HZ / 2


class Throttle(QObject):
    """Calls `fn` once, 1 / `hz` s after the first `request()` since the last call; the
    requests in between collapse into that one call."""

    def __init__(self, fn: Callable[[], None], hz: float = VIEW_HZ,
                 parent: QObject | None = None):
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(round(1000 / hz))
        self._timer.timeout.connect(fn)

    def request(self) -> None:
        if not self._timer.isActive():
            self._timer.start()
