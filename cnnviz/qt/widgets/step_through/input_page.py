"""The input: the image as the network takes it, its pixel values under the mouse."""

from __future__ import annotations

from PyQt6.QtWidgets import QLabel, QVBoxLayout, QWidget

from cnnviz.core.i18n import tr
from cnnviz.core.mosaic import display_images
from cnnviz.qt.step_model import StepModel
from cnnviz.qt.widgets.step_through.maps import MapView
from cnnviz.qt.widgets.step_through.page import Page


class InputPage(Page):
    def __init__(self, model: StepModel, parent: QWidget | None = None):
        super().__init__(model, parent)
        self.map = MapView()
        self.about = QLabel()
        self.about.setWordWrap(True)
        self.value = QLabel()
        layout = QVBoxLayout(self)
        layout.addWidget(self.about)
        layout.addWidget(self.map, 1)
        layout.addWidget(self.value)
        self.map.hovered.connect(self._on_hover)

    def _on_hover(self, r: int, c: int) -> None:
        pixel = self.model.inspection.images[0, r, c]
        self.value.setText(tr("row {r}, column {c}: {v}", r=r, c=c,
                              v=", ".join(f"{v:.4g}" for v in pixel)))

    def refresh(self) -> None:
        ins = self.model.inspection
        if ins is None:
            return
        image = ins.images[0]
        h, w, c = image.shape
        self.about.setText(tr(
            "{caption}: {h}x{w} pixels, {c} channel(s). The network takes each pixel as a "
            "number from 0 to 1 (the byte divided by 255); hover a pixel for its numbers.",
            caption=self.model.caption, h=h, w=w, c=c))
        picture = display_images(ins.images[:1])[0]
        self.map.set_picture(picture[..., 0] if c == 1 else picture)


if __name__ == "__main__":
    from cnnviz.qt.widgets.step_through.preview import preview

    preview(lambda m: 0)
