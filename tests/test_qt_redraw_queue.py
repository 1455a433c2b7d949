"""Live views redraw one at a time, each in its own pass of the event loop, so the
window answers input between them; hidden views do not redraw at all."""

from PyQt6.QtWidgets import QApplication

from cnnviz.qt.live_model import LiveModel
from cnnviz.qt.widgets.live_view import LiveView, redraw_queue


class Logged(LiveView):
    def __init__(self, model: LiveModel, log: list[str], name: str):
        super().__init__(model)
        self.log, self.name = log, name

    def refresh(self) -> None:
        self.log.append(self.name)


def test_views_redraw_in_turn_once_each(qtbot):
    model, log = LiveModel(), []
    a, b, hidden = (Logged(model, log, name) for name in ("a", "b", "hidden"))
    for view in (a, b, hidden):
        qtbot.addWidget(view)
    a.show()
    b.show()
    assert log == ["a", "b"]  # shown: drawn at once
    log.clear()
    model.views_changed.emit(None)
    model.views_changed.emit(None)  # new data before the first was drawn: drawn once
    assert log == [] and redraw_queue().waiting == 2
    QApplication.processEvents()
    assert log == ["a"]  # one per pass
    qtbot.waitUntil(lambda: redraw_queue().waiting == 0)
    assert log == ["a", "b"]


def test_a_view_closed_while_waiting_is_skipped(qtbot):
    model, log = LiveModel(), []
    a, b = Logged(model, log, "a"), Logged(model, log, "b")
    for view in (a, b):
        qtbot.addWidget(view)
        view.show()
    log.clear()
    model.views_changed.emit(None)
    a.close()
    b.deleteLater()
    qtbot.waitUntil(lambda: redraw_queue().waiting == 0)
    assert log == []
