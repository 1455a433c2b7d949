"""Ways into the step-through from the other views: a right-click on a feature map's pixel
or on a class's probability opens a menu whose entries ask LiveModel.explain for it."""

from __future__ import annotations

from collections.abc import Callable

from PyQt6.QtWidgets import QMenu, QWidget

from cnnviz.core.i18n import tr
from cnnviz.qt.live_model import LiveModel
from cnnviz.qt.widgets.mosaic_view import MosaicPanel


def popup(parent: QWidget, entries: list[tuple[str, Callable[[], None]]], event) -> QMenu:
    """A context menu at a pyqtgraph mouse event's place (not modal: nothing waits)."""
    menu = QMenu(parent)
    for text, slot in entries:
        menu.addAction(text).triggered.connect(slot)
    menu.popup(event.screenPos().toPoint())
    return menu


def on_right_click(panel: MosaicPanel, handler: Callable) -> None:
    """Call handler(key, tile, row, col, event) on a right-click on one of the panel's tiles.
    The panel names the tile (its `clicked`, sent first) and the scene the button."""
    hit: list[tuple] = []
    panel.clicked.connect(lambda *where: hit.append(where))

    def clicked(event) -> None:
        where = hit.pop() if hit else None
        hit.clear()
        if where is not None and event.button() == event.button().RightButton:
            handler(*where, event)

    panel.scene().sigMouseClicked.connect(clicked)


def pixel_menu(parent: QWidget, model: LiveModel, layer: str, position: tuple, event) -> QMenu:
    return popup(parent, [(tr("Step through {layer} at ({position})", layer=layer,
                              position=", ".join(map(str, position))),
                           lambda: model.explain(layer, position))], event)


def class_menu(parent: QWidget, model: LiveModel, cls: int, name: str, event) -> QMenu:
    return popup(parent, [
        (tr("Step through softmax and the loss"), lambda: model.explain("softmax")),
        (tr("Where does the network look for {name}?", name=name),
         lambda: model.explain("looks", (cls,)))], event)
