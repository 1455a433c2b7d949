"""Feature maps: what every layer makes of the probe image, live while the network learns.

Each conv or pool layer's output is a stack of channels (feature maps), shown as one
mosaic tile per channel; a flatten or dense layer's output is a strip of one cell per
unit. Click a tile to enlarge that channel and read its values under the mouse.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from cnnviz.core.glossary import FirstMention
from cnnviz.core.i18n import marked, tr, translate
from cnnviz.core.snapshot import LayerMaps
from cnnviz.data.class_names import shown_class_names
from cnnviz.qt.live_model import LiveModel
from cnnviz.qt.widgets.live_label import live_label
from cnnviz.qt.widgets.live_view import LiveView
from cnnviz.qt.widgets.mosaic_view import (
    ACTIVATION_LUT,
    GREY_LUT,
    MosaicPanel,
    image_view_box,
)
from cnnviz.qt.widgets.probe_bar import ProbeBar
from cnnviz.qt.widgets.step_through.entry import on_right_click, pixel_menu
from cnnviz.qt.widgets.wheel_guard import wheel_only_when_focused

DETAIL_MIN_WIDTH = 150  # the enlarged channel and its texts (a few words to a line)
INPUT = "input"
SHARED, PER_CHANNEL = marked("layer-wide"), marked("per channel")


def intro_text() -> str:
    term = FirstMention()
    return tr("Each small square is one {channel} ({feature_map}) of a layer's output for the "
              "probe image: bright = strong response, dark = weak. Dense layers are strips of "
              "units. Click a square to enlarge it.", channel=term("channel"),
              feature_map=term("feature map"))


def layer_title(maps: LayerMaps) -> str:
    shape = "×".join(map(str, maps.values.shape))
    return (f"{maps.name} · {shape}" if maps.spatial
            else tr("{name} · {shape} units", name=maps.name, shape=shape))


class ChannelDetail(QWidget):
    """One channel enlarged, its colour scale, and the value under the mouse."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.title = live_label(tr("Click a feature map to enlarge it."), wrap=True)
        self.view = pg.GraphicsLayoutWidget()
        self.box = image_view_box(self.view.ci, 0, 0)
        self.item = pg.ImageItem()
        self.box.addItem(self.item)
        self.scale = live_label(lines=3, wrap=True)
        self.value = live_label(lines=2, wrap=True)  # a narrow column: the value goes below
        self.setMinimumWidth(DETAIL_MIN_WIDTH)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.scale)
        layout.addWidget(self.value)
        self.maps: LayerMaps | None = None
        self.channel = 0
        self.view.scene().sigMouseMoved.connect(self._on_move)

    def show_channel(self, maps: LayerMaps, channel: int, per_channel: bool) -> None:
        first = self.maps is None or self.maps.name != maps.name or self.channel != channel
        self.maps, self.channel = maps, channel
        mosaic = maps.per_channel if per_channel else maps.shared
        if maps.spatial:
            self.title.setText(tr("{name}, channel {c}", name=maps.name, c=channel))
            tile = np.ascontiguousarray(mosaic.tile_image(channel))  # pyqtgraph needs it
            lo, hi = ((maps.channel_lo[channel], maps.channel_hi[channel]) if per_channel
                      else (maps.lo, maps.hi))
        else:
            self.title.setText(tr("{name}: all {n} units", name=maps.name, n=maps.values.shape[0]))
            tile = mosaic.image
            lo, hi = maps.lo, maps.hi
        self.item.setImage(tile, autoLevels=False, levels=(0, 255), lut=ACTIVATION_LUT)
        if per_channel and maps.spatial:
            scale = tr("Colour: dark purple = {lo:.3g}, yellow = {hi:.3g} (this channel)",
                       lo=lo, hi=hi)
        else:
            scale = tr("Colour: dark purple = {lo:.3g}, yellow = {hi:.3g} (layer)", lo=lo, hi=hi)
        self.scale.setText(scale)
        if first:
            self.box.autoRange(padding=0.02)

    def _on_move(self, pos) -> None:
        if self.maps is None or not self.box.sceneBoundingRect().contains(pos):
            return
        p = self.item.mapFromScene(pos)
        r, c = int(p.y()), int(p.x())
        values = self.maps.values
        if self.maps.spatial and 0 <= r < values.shape[0] and 0 <= c < values.shape[1]:
            self.value.setText(tr("row {r}, column {c}: {v:.4g}", r=r, c=c,
                                  v=values[r, c, self.channel]))
        elif not self.maps.spatial and self.maps.shared.cell_at(p.y(), p.x()) is not None:
            unit = self.maps.shared.cell_at(p.y(), p.x())[0]
            self.value.setText(tr("unit {i}: {v:.4g}", i=unit, v=values[unit]))


class FeatureMapsView(LiveView):
    def __init__(self, model: LiveModel, parent: QWidget | None = None):
        super().__init__(model, parent)
        self.scale = QComboBox()
        for key in (SHARED, PER_CHANNEL):
            self.scale.addItem(translate(key), key)
        self.scale.setToolTip(tr(
            "Colour scale. Layer-wide: one scale for all channels of a layer, so you can "
            "compare how strongly channels respond. Per channel: each channel stretched to "
            "its own min..max, so even weak maps show their pattern."))
        self.scale.currentIndexChanged.connect(self.refresh)
        wheel_only_when_focused(self.scale)
        intro = QLabel(intro_text())
        intro.setWordWrap(True)
        self.status = live_label()
        self.panel = MosaicPanel()
        self.panel.hovered.connect(self._on_hover)
        self.panel.left.connect(lambda: self.status.setText(""))
        self.panel.clicked.connect(self._on_click)
        on_right_click(self.panel, self._step_through)
        self.detail = ChannelDetail()
        about = QHBoxLayout()  # the colour scale beside the intro: the probe bar needs the row
        about.addWidget(intro, 1)
        about.addWidget(QLabel(tr("Colours:")))
        about.addWidget(self.scale)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.panel)
        split.addWidget(self.detail)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 1)
        split.setCollapsible(1, False)
        layout = QVBoxLayout(self)
        layout.addWidget(ProbeBar(model))
        layout.addLayout(about)
        layout.addWidget(split, 1)
        layout.addWidget(self.status)
        self._layout_key: tuple | None = None
        self.selected: tuple[str, int] | None = None
        self.panel.resized.connect(self._relayout)  # the window, a dock or the splitter

    def columns(self) -> int:
        """Layers per row: the count that shows their tiles largest in the panel's width
        and height (a short, wide panel puts more side by side)."""
        probe = self.model.views.probe
        return self.panel.best_columns([probe.picture, *(m.shared for m in probe.layers)])

    def _relayout(self) -> None:
        if (self.model.views is not None and self._layout_key is not None
                and self._layout_key[0] != self.columns()):
            self.refresh()

    @property
    def per_channel(self) -> bool:
        return self.scale.currentData() == PER_CHANNEL

    def _maps(self, name: str) -> LayerMaps:
        return next(m for m in self.model.views.probe.layers if m.name == name)

    def refresh(self) -> None:
        views = self.model.views
        if views is None:
            return
        columns = self.columns()
        key = (columns, *((m.name, m.values.shape) for m in views.probe.layers))
        if key != self._layout_key:  # another network or panel size: new cells
            same_network = self._layout_key is not None and self._layout_key[1:] == key[1:]
            self._layout_key = key
            self.panel.reset()
            self.panel.add(INPUT, 0, 0, GREY_LUT)
            for i, maps in enumerate(views.probe.layers, start=1):
                self.panel.add(maps.name, *divmod(i, columns), ACTIVATION_LUT)
            if not same_network:
                self.selected = (views.probe.layers[0].name, 0) if views.probe.layers else None
        probe = views.probe
        names = shown_class_names(views.class_names)
        title = (tr("input ({name})", name=names[probe.input.label])
                 if probe.input.label is not None else tr("input"))
        self.panel.cells[INPUT].set(probe.picture, title)
        for maps in probe.layers:
            self.panel.cells[maps.name].set(maps.per_channel if self.per_channel
                                            else maps.shared, layer_title(maps))
        if self.selected is not None:
            self.panel.cells[self.selected[0]].mark(self.selected[1])
            self.detail.show_channel(self._maps(self.selected[0]), self.selected[1],
                                     self.per_channel)

    def step_layer(self, delta: int) -> None:
        """Enlarge the first channel of the previous (-1) or next (+1) layer (for
        presentation mode's layer buttons)."""
        views = self.model.views
        if views is None or not views.probe.layers:
            return
        names = [m.name for m in views.probe.layers]
        here = names.index(self.selected[0]) if self.selected is not None else -1
        if self.selected is not None:
            self.panel.cells[self.selected[0]].mark(None)
        self.selected = (names[min(max(here + delta, 0), len(names) - 1)], 0)
        self.refresh()

    def _on_hover(self, key: str, tile: int, row: int, col: int) -> None:
        if key == INPUT or self.model.views is None:
            return
        maps = self._maps(key)
        if maps.spatial:
            self.status.setText(tr("{name}, channel {c}, row {r}, column {col}: {v:.4g}",
                                   name=key, c=tile, r=row, col=col,
                                   v=maps.values[row, col, tile]))
        else:
            self.status.setText(tr("{name}, unit {i}: {v:.4g}", name=key, i=tile,
                                   v=maps.values[tile]))

    def _step_through(self, key: str, tile: int, row: int, col: int, event) -> None:
        """Right-click on a layer's pixel: a menu to step through its arithmetic."""
        if key != INPUT and self.model.views is not None:
            position = (row, col, tile) if self._maps(key).spatial else (tile,)
            self._menu = pixel_menu(self, self.model, key, position, event)

    def _on_click(self, key: str, tile: int, row: int, col: int) -> None:
        if key == INPUT:
            return
        if self.selected is not None:
            self.panel.cells[self.selected[0]].mark(None)
        self.selected = (key, tile)
        self.refresh()


if __name__ == "__main__":
    from cnnviz.qt.widgets.preview import preview

    preview(FeatureMapsView)
