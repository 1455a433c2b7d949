"""What the mosaic views show is the engine's data: the pixels of the feature maps,
filters and replay views equal the documented normalisation of the activations and
weights the engine computes for that snapshot, for conv, pool and dense layers."""

import cnnviz.engine  # noqa: F401, I001  (first: sets XLA's flags before JAX starts)

import numpy as np
import pytest
from test_probe import qt_garbage_dies_in_this_thread  # noqa: F401 (fixture)
from test_probe import SPEC, normalised, run_with_probe

from cnnviz.engine.model import apply_with_activations, to_float
from cnnviz.qt.live_model import LiveModel
from cnnviz.qt.widgets.feature_maps import INPUT, PER_CHANNEL, FeatureMapsView
from cnnviz.qt.widgets.filters import FiltersView
from cnnviz.qt.widgets.replay import ReplayView

import reference


@pytest.fixture(scope="module")
def data():
    return reference.subset(reference.shapes_dataset(), 96, 40, 30, crop=12)


@pytest.fixture(scope="module")
def run(data):
    return run_with_probe(data)


@pytest.fixture
def model(run, data):
    model = LiveModel()
    model.dataset = data  # no probe request: the views come from the run
    model.show(run[1][-2].views)
    return model


def shown_tiles(cell) -> list[np.ndarray]:
    """The tiles of what the cell's ImageItem displays, cut by its mosaic's tiling."""
    image, m = cell.item.image, cell.mosaic
    tiles = []
    for i in range(m.count):
        y, x = m.origin(i)
        tiles.append(image[y:y + m.tile[0], x:x + m.tile[1]])
    return tiles


def test_feature_maps_show_the_engine_activations(qtbot, model, run, data):
    view = FeatureMapsView(model)
    qtbot.addWidget(view)
    view.show()
    _, snaps, params = run
    snap = snaps[-2]
    assert model.views is snap.views
    _, acts = apply_with_activations(SPEC, params[-2], to_float(data.x_test[3][None]))
    for per_channel in (False, True):
        view.scale.setCurrentText(PER_CHANNEL if per_channel else "layer-wide")
        for name, act in zip(SPEC.names, acts, strict=True):
            values = np.asarray(act[0], np.float64)
            tiles = shown_tiles(view.panel.cells[name])
            if values.ndim == 3:  # conv and pool: a tile per channel
                assert len(tiles) == values.shape[-1]
                for c, tile in enumerate(tiles):
                    ch = values[..., c]
                    lo, hi = (ch.min(), ch.max()) if per_channel else (values.min(),
                                                                      values.max())
                    assert np.abs(tile.astype(int) - normalised(ch, lo, hi)).max() <= 1
            else:  # flatten and dense: a cell per unit, one scale for the layer
                strip = np.array([t[0, 0] for t in tiles], int)
                assert np.abs(strip - normalised(values, values.min(), values.max())
                              ).max() <= 1
    probe = shown_tiles(view.panel.cells[INPUT])[0]
    assert np.array_equal(probe, normalised(data.x_test[3][..., 0], 0, 255))


def test_clicking_a_channel_enlarges_it_and_reads_values(qtbot, model):
    view = FeatureMapsView(model)
    qtbot.addWidget(view)
    view.show()
    conv = model.views.probe.layers[0]
    view._on_click("conv1", 2, 0, 0)
    assert np.array_equal(view.detail.item.image, conv.shared.tile_image(2))
    view._on_hover("conv1", 2, 4, 5)
    assert view.status.text() == f"conv1, channel 2, row 4, column 5: {conv.values[4, 5, 2]:.4g}"


def test_filters_show_the_weights_and_the_gradient(qtbot, model, run):
    view = FiltersView(model)
    qtbot.addWidget(view)
    view.show()
    _, snaps, params = run
    kernel = params[-2][0]["kernel"]  # (3, 3, 1, 4)
    m = np.abs(kernel).max()
    tiles = shown_tiles(view.panel.cells["conv1"])
    for f, tile in enumerate(tiles):
        assert np.abs(tile.astype(int) - normalised(kernel[:, :, 0, f], -m, m)).max() <= 1
    view.gradient.setChecked(True)
    gradient = snaps[-2].views.filters[0].gradient
    g = np.abs(gradient).max()
    for f, tile in enumerate(shown_tiles(view.panel.cells["conv1"])):
        assert np.abs(tile.astype(int) - normalised(gradient[:, :, 0, f], -g, g)).max() <= 1


def test_the_replay_slider_shows_that_snapshots_filters(qtbot, run):
    trainer, snaps, params = run
    replay = trainer.replay
    model = LiveModel()
    view = ReplayView(model)
    qtbot.addWidget(view)
    view.show()
    model.set_replay(replay)
    assert view.slider.maximum() == len(replay) - 1
    assert view.slider.value() == view.slider.maximum()  # follows the newest
    by_step = {s.step: p for s, p in zip(snaps, params, strict=True)}
    for k, frame in enumerate(replay.frames):
        view.slider.setValue(k)
        kernel = by_step[frame.step][0]["kernel"]  # the weights when the frame was taken
        m = np.abs(kernel).max()
        for f, tile in enumerate(shown_tiles(view.panel.cells[("filters", "conv1")])):
            assert np.abs(tile.astype(int) - normalised(kernel[:, :, 0, f], -m, m)).max() <= 1
        assert np.array_equal(view.panel.cells[("maps", "conv1")].item.image,
                              frame.maps["conv1"].image)
        assert f"step {frame.step:,}" in view.caption.text()
    view.play.setChecked(True)
    view.hide()
    assert not view.timer.isActive()
