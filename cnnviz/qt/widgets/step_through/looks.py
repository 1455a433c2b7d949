"""Where the network looks: a saliency map (optionally SmoothGrad) and Grad-CAM on a conv
layer, for any class, over the image; Grad-CAM's channel weights as bars beside that
layer's feature maps."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QRectF
from PyQt6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from cnnviz.core.glossary import FirstMention
from cnnviz.core.i18n import tr
from cnnviz.core.layers import Conv2D
from cnnviz.core.mosaic import channel_mosaic, display_images
from cnnviz.qt.step_model import StepModel
from cnnviz.qt.widgets.live_label import live_label
from cnnviz.qt.widgets.mosaic_view import ACTIVATION_LUT, MosaicPanel, image_view_box
from cnnviz.qt.widgets.step_through.page import Page, Wrap

HEAT = pg.colormap.get("inferno").getLookupTable(0.0, 1.0, 256, alpha=True)
HEAT[:, 3] = np.linspace(0, 200, 256).astype(np.uint8)  # faint where the map is low
POSITIVE, NEGATIVE = (214, 64, 52), (48, 104, 214)


class Overlay(QWidget):
    """The image with a heat map over it, the map stretched to the image's size."""

    def __init__(self, title: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.title = live_label(title, lines=2, wrap=True)
        self.view = pg.GraphicsLayoutWidget()
        self.view.setMinimumSize(140, 140)
        self.box = image_view_box(self.view.ci, 0, 0)
        self.image, self.heat = pg.ImageItem(), pg.ImageItem()
        self.heat.setZValue(1)
        self.box.addItem(self.image)
        self.box.addItem(self.heat)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.view, 1)
        self._shape = None

    def show_maps(self, picture: np.ndarray, heat: np.ndarray | None, title: str) -> None:
        """picture (H, W) or (H, W, 3) uint8; heat (h, w) >= 0 or None."""
        self.title.setText(title)
        self.image.setImage(picture, autoLevels=False, levels=(0, 255))
        h, w = picture.shape[:2]
        if heat is None:
            self.heat.clear()
        else:
            top = float(heat.max()) or 1.0
            self.heat.setImage(heat, autoLevels=False, levels=(0, top), lut=HEAT)
            self.heat.setRect(QRectF(0, 0, w, h))
        if self._shape != (h, w):
            self._shape = (h, w)
            self.box.autoRange(padding=0.02)


class LooksPage(Page):
    def __init__(self, model: StepModel, parent: QWidget | None = None):
        super().__init__(model, parent)
        self.cls = QComboBox()
        self.cls.setToolTip(tr("The class whose score the maps explain"))
        self.layer = QComboBox()
        self.layer.setToolTip(tr("The conv layer Grad-CAM looks at"))
        self.smooth = QCheckBox(tr("SmoothGrad"))
        self.smooth.setToolTip(tr("Average the saliency over 25 noisy copies of the image: "
                                  "less speckle, the same places"))
        self.saliency = Overlay("")
        self.cam = Overlay("")
        self.bars = pg.PlotWidget()
        self.bars.setMenuEnabled(False)
        self.bars.setMouseEnabled(False, False)
        self.bars.setLabel("bottom", tr("channel"))
        self.bars.setLabel("left", tr("weight a(f)"))
        self.bar_item = pg.BarGraphItem(x=[], height=[], width=0.8)
        self.bars.addItem(self.bar_item)
        self.maps = MosaicPanel()
        term = FirstMention()
        self.about = QLabel(tr(
            "Saliency: how much a small change of each pixel would change the class's score "
            "(the largest |{gradient}| over its channels). Grad-CAM: the layer's maps weighted "
            "by how much the score rises with each (the bars), summed, negatives dropped.",
            gradient=term("gradient")))
        self.about.setWordWrap(True)
        controls = Wrap([tr("class"), self.cls], [tr("Grad-CAM layer"), self.layer, self.smooth])
        pictures = QHBoxLayout()
        pictures.addWidget(self.saliency, 1)
        pictures.addWidget(self.cam, 1)
        weights = QHBoxLayout()
        weights.addWidget(self.bars, 1)
        weights.addWidget(self.maps, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(controls)
        layout.addWidget(self.about)
        layout.addLayout(pictures, 3)
        layout.addLayout(weights, 2)
        self.cls.activated.connect(
            lambda row: self.model.set_look(cls=row - 1) if row else self._predicted())
        self.layer.activated.connect(lambda row: self.model.set_look(layer=self._convs()[row]))
        self.smooth.toggled.connect(lambda on: self.model.set_look(smooth=on))

    def _predicted(self) -> None:
        self.model.look_class = None
        self.model.set_look()

    def _convs(self) -> list[int]:
        return [i for i, layer in enumerate(self.model.inspection.spec.layers)
                if isinstance(layer, Conv2D)]

    def refresh(self) -> None:
        m, ins, looks = self.model, self.model.inspection, self.model.looks
        if ins is None:
            return
        names = m.class_names or tuple(map(str, range(ins.logits.shape[1])))
        items = [tr("the predicted class ({name})", name=names[m.predicted]), *names]
        if [self.cls.itemText(i) for i in range(self.cls.count())] != items:
            self.cls.clear()
            self.cls.addItems(items)
        self.cls.setCurrentIndex(0 if m.look_class is None else m.look_class + 1)
        convs = [ins.names[i] for i in self._convs()]
        if [self.layer.itemText(i) for i in range(self.layer.count())] != convs:
            self.layer.clear()
            self.layer.addItems(convs)
        self.smooth.blockSignals(True)
        self.smooth.setChecked(m.smooth)
        self.smooth.blockSignals(False)
        if looks is None or (m.smooth and looks.smooth_grads is None):
            self.saliency.title.setText(tr("computing…"))
            return
        picture = display_images(ins.images[:1])[0]
        picture = picture[..., 0] if picture.shape[-1] == 1 else picture
        cls = m.shown_class
        self.saliency.show_maps(picture, looks.saliency(cls, m.smooth), tr(
            "saliency for {name}{smooth}", name=names[cls],
            smooth=tr(" (SmoothGrad)") if m.smooth else ""))
        layer = m.shown_conv
        if layer is None:
            self.cam.show_maps(picture, None, tr("Grad-CAM needs a conv layer"))
            return
        self.layer.setCurrentIndex(self._convs().index(layer))
        cam = looks.grad_cam(layer, cls)
        title = tr("Grad-CAM on {layer} for {name}", layer=ins.names[layer], name=names[cls])
        if not cam.cam.any():
            title += tr(": nothing is left, the weighted maps lower the score everywhere")
        self.cam.show_maps(picture, cam.cam, title)
        weights = cam.weights
        self.bar_item.setOpts(x=np.arange(len(weights)), height=weights,
                              brushes=[POSITIVE if w >= 0 else NEGATIVE for w in weights])
        activation = looks.activations[layer]
        lo, hi = float(activation.min()), float(activation.max())
        if not self.maps.cells:
            self.maps.add("maps", 0, 0, ACTIVATION_LUT)
        self.maps.cells["maps"].set(channel_mosaic(activation, lo, hi), tr(
            "{layer}'s feature maps, channel 0 first", layer=ins.names[layer]))


if __name__ == "__main__":
    from cnnviz.qt.widgets.step_through.preview import preview

    preview(lambda m: m.looks_stage)
