"""Putting the Step through view into the main window: `add_step_through(window, live,
session)` builds its model, controller and view, adds it as a tab of the central area,
and takes the other views' "step through this" requests (LiveModel.explain) there."""

from __future__ import annotations

from typing import Protocol

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QWidget

from cnnviz.core.i18n import marked
from cnnviz.core.inspection import PositionError
from cnnviz.qt.live_model import LiveModel
from cnnviz.qt.session import Session
from cnnviz.qt.step_controller import StepController
from cnnviz.qt.step_model import StepModel
from cnnviz.qt.widgets.step_through.view import StepThroughView

TITLE = marked("Step through")  # its key, shown translated by the window


class Host(Protocol):
    def add_tab(self, widget: QWidget, title: str) -> None: ...
    def show_tab(self, widget: QWidget) -> None: ...
    def add_shutdown(self, wait) -> None: ...


def add_step_through(window: Host, live: LiveModel, session: Session) -> StepThroughView:
    model = StepModel(session)
    controller = StepController(model, live, session, model)
    view = StepThroughView(model, live)
    window.add_tab(view, TITLE)
    window.add_shutdown(controller.shutdown)

    def explain(layer: str, position: tuple) -> None:
        window.show_tab(view)
        go_to(model, layer, position)

    live.explain_requested.connect(explain)
    return view


def go_to(model: StepModel, layer: str, position: tuple) -> None:
    """The stage of `layer` with `position` picked, once the model has an inspection
    (the one on its way is for the same image, so a position that fits now fits then)."""
    if model.inspection is None:
        model.inspected.connect(lambda: _go(model, layer, position),
                                type=Qt.ConnectionType.SingleShotConnection)
        return
    _go(model, layer, position)


def _go(model: StepModel, layer: str, position: tuple) -> None:
    ins = model.inspection
    if ins is None:
        return
    if layer in ("softmax", "looks"):
        if position and layer == "looks":
            model.set_look(cls=int(position[0]))
        model.set_stage(model.softmax_stage if layer == "softmax" else model.looks_stage)
        return
    try:
        index = ins.index(layer)
        if position:
            model.select(index, position)
    except PositionError:
        return
    model.set_stage(index + 1)
