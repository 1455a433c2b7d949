"""The base of the views the LiveModel feeds."""

from __future__ import annotations

from PyQt6.QtWidgets import QWidget

from cnnviz.qt.live_model import LiveModel


class LiveView(QWidget):
    """A view of the LiveModel's current Views: `refresh()` draws them. It redraws on
    each new Views only while visible (a hidden tab or dock would paint for nothing) and
    catches up when it is shown."""

    def __init__(self, model: LiveModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        model.views_changed.connect(self.refresh_if_visible)

    def refresh(self) -> None:
        raise NotImplementedError

    def refresh_if_visible(self, *_) -> None:
        if self.isVisible():
            self.refresh()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.refresh()
