"""The feature maps in All Views at Once while the window is resized: the mosaics refit
to the room their panel has at every size (inside it, none over another, tiles as big
as the room allows), and a mosaic panel never lays its grid out wider than itself."""

import cnnviz.engine  # noqa: F401, I001  (first: sets XLA's flags before JAX starts)

import numpy as np
import test_qt_layout
from PyQt6.QtCore import QRect, QRectF, QSize
from test_probe import qt_garbage_dies_in_this_thread  # noqa: F401 (fixture)

from cnnviz.core.mosaic import Mosaic
from cnnviz.qt.live_views import DOCKS
from cnnviz.qt.widgets.mosaic_view import GREY_LUT, MosaicPanel

SCREEN = QSize(2560, 1400)  # All Views at Once shows every view side by side on it
# the window made smaller and bigger again, as a learner does with its corner
SIZES = [SCREEN, QSize(1280, 720), QSize(1920, 1080), QSize(1024, 768), SCREEN,
         QSize(1280, 720), QSize(1024, 768)]
MIN_SHARE = 0.2  # of the panel the mosaics cover at least (before: 3% at 1024 × 768)
MIN_TILE = 6  # pixels: one channel of a conv or pool layer on screen (before: 1.5)
live = test_qt_layout.live  # the fixture: the window as the app builds it


def on_screen(widget, rect: QRect) -> QRect:
    return QRect(widget.mapToGlobal(rect.topLeft()), rect.size())


def pictures(live) -> tuple[QRect, dict[str, QRect]]:
    """(what of the mosaic panel one sees, in screen pixels: its part inside the dock's
    scroll area; where each mosaic's picture is, in screen pixels)."""
    panel = live.views["Feature maps"].panel
    area = live.panels["Feature maps"]
    seen = on_screen(area.viewport(), area.viewport().rect()).intersected(
        on_screen(panel.viewport(), panel.viewport().rect()))
    where = {key: on_screen(panel.viewport(), panel.mapFromScene(
                 cell.item.sceneBoundingRect()).boundingRect())
             for key, cell in panel.cells.items()}
    return seen, where


def test_the_feature_maps_refit_their_panel_at_every_size(qtbot, live):
    window, view = live.window, live.views["Feature maps"]
    window.resize(SCREEN)
    qtbot.waitUntil(lambda: window.size() == SCREEN)
    assert live.set_layout(DOCKS, SCREEN) == "" and live.layout == DOCKS
    views = live.model.views
    tiles = {m.name: min(m.shared.tile) / max(m.shared.image.shape[:2])
             for m in views.probe.layers if m.spatial}  # a tile's side / the picture's
    for size in SIZES:
        window.resize(size)
        qtbot.waitUntil(lambda size=size: window.size() == size)
        qtbot.waitUntil(lambda: view._layout_key[0] == view.columns())  # redrawn
        qtbot.wait(100)
        panel = view.panel
        assert QRectF(panel.viewport().rect()).contains(panel.ci.geometry()), size
        seen, where = pictures(live)
        assert len(where) == 1 + len(views.probe.layers)
        for key, rect in where.items():
            assert seen.contains(rect), (size, key, rect, seen)
        rects = list(where.values())
        for i, a in enumerate(rects):
            assert not any(a.intersects(b) for b in rects[i + 1:]), (size, a)
        covered = sum(r.width() * r.height() for r in rects)
        assert covered >= MIN_SHARE * seen.width() * seen.height(), (size, covered, seen)
        for name, share in tiles.items():
            assert share * max(where[name].width(), where[name].height()) >= MIN_TILE, \
                (size, name, where[name])


def mosaic(h: int, w: int) -> Mosaic:
    return Mosaic(np.zeros((h, w), np.uint8), (h, w), (1, 1), 1)


def test_a_title_wider_than_its_column_is_cut_and_whole_on_hover(qtbot):
    panel = MosaicPanel()
    qtbot.addWidget(panel)
    panel.resize(220, 160)
    panel.show()
    title = "a_layer_with_a_long_name · 128×128×256"
    for col in range(2):
        panel.add(col, 0, col, GREY_LUT).set(mosaic(8, 8), title)
    qtbot.wait(50)  # the grid laid out
    for cell in panel.cells.values():
        assert cell.label.text.endswith("…") and title.startswith(cell.label.text[:-1])
        assert cell.label.toolTip() == title
    assert QRectF(panel.viewport().rect()).contains(panel.ci.geometry())
    panel.resize(1200, 160)  # room for the whole title again
    qtbot.wait(50)
    assert all(c.label.text == title and c.label.toolTip() == "" for c in panel.cells.values())


def test_a_short_wide_panel_puts_more_mosaics_side_by_side(qtbot):
    panel = MosaicPanel()
    qtbot.addWidget(panel)
    panel.show()
    mosaics = [mosaic(28, 28)] * 8
    panel.resize(900, 180)
    qtbot.waitUntil(lambda: panel.viewport().width() == 900)
    wide = panel.best_columns(mosaics)
    panel.resize(150, 900)
    qtbot.waitUntil(lambda: panel.viewport().width() == 150)
    tall = panel.best_columns(mosaics)
    assert (wide, tall) == (8, 1)
