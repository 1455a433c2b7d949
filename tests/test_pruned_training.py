"""A pruned project trained from the main Training panel: its masks (the file's
extras/compression-masks) are held, so every pruned weight stays exactly zero, and the
panel says so; a network change that the masks no longer fit drops them, saying so."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from test_qt_support import SMALL_NET, make_window

from cnnviz.core.compression import apply_masks, magnitude_masks
from cnnviz.core.compression_record import PruneStep
from cnnviz.core.config import TrainConfig
from cnnviz.core.history import History
from cnnviz.core.layers import Conv2D, Dropout
from cnnviz.engine.compress_pipeline import Compressed
from cnnviz.engine.model import init_params, params_to_numpy
from cnnviz.io.compression import compressed_project
from cnnviz.io.project import Project, save_project
from cnnviz.qt.widgets.compress import add_compress_workspace

SPARSITY = 0.8


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    window = make_window(qtbot, tmp_path, monkeypatch)
    add_compress_workspace(window)  # it reads and writes the masks member
    yield window
    assert window.finish_threads(30)


def open_pruned(window, tmp_path):
    """A project pruned to SPARSITY (its masks in the file), opened; its masks."""
    weights = params_to_numpy(init_params(SMALL_NET, jax.random.PRNGKey(3)))
    masks = magnitude_masks(SMALL_NET, weights, SPARSITY)
    dense = Project(SMALL_NET, TrainConfig(epochs=1, batch_size=16, learning_rate=0.01),
                    window.session.dataset_name, weights, History())
    path = tmp_path / "pruned.cnnviz"
    step = PruneStep(None, None, 0, 0, 0, 0, sparsity=SPARSITY)
    save_project(path, compressed_project(dense, Compressed(SMALL_NET, apply_masks(weights, masks),
                                                            masks, step, History())))
    window.file.open(path)
    return masks


def pruned_weights_are_zero(weights, masks) -> bool:
    return all(np.all(w["kernel"][~m["kernel"]] == 0) for w, m in zip(weights, masks,
                                                                         strict=True) if m)


def test_an_epoch_started_from_the_panel_keeps_every_pruned_weight_zero(window, qtbot,
                                                                       tmp_path):
    masks = open_pruned(window, tmp_path)
    s = window.session
    before = s.weights
    kept = sum(int(m["kernel"].sum()) for m in masks if m)
    total = sum(m["kernel"].size for m in masks if m)
    assert s.pruned_share() == pytest.approx(1 - kept / total)
    assert s.pruned_share() == pytest.approx(SPARSITY, abs=0.01)
    label = window.training.pruned
    assert label.isVisibleTo(window.training)
    assert f"Pruned {100 * (1 - kept / total):.1f} %" in label.text()
    assert "Reset weights" in label.text()
    window.actions.start_pause.trigger()
    qtbot.waitUntil(lambda: not s.active and len(s.history.epochs) == 1, timeout=60_000)
    assert pruned_weights_are_zero(s.weights, masks)  # exactly zero, every one
    moved = [np.any(w["kernel"] != b["kernel"]) for w, b in zip(s.weights, before,
                                                                 strict=True) if "kernel" in w]
    assert all(moved)  # the weights left did train
    window.actions.reset_weights.trigger()
    assert s.masks is None and label.isHidden()


def test_the_masks_follow_a_network_change_the_weights_survive(window, qtbot, tmp_path):
    masks = open_pruned(window, tmp_path)
    s = window.session
    window.network.insert(3, Dropout(0.3))  # the weights keep their names and shapes
    assert s.weights is not None and s.masks is not None and not s.warning
    assert [bool(m) for m in s.masks] == [True, False, False, False, True]
    assert np.array_equal(s.masks[4]["kernel"], masks[3]["kernel"])
    window.network.insert(0, Conv2D(2, 3))  # every weight's shape or name changes
    assert s.weights is None and s.masks is None and s.pruned_share() is None
    assert "pruning masks no longer fit" in s.warning
    assert "no longer fit" in window.training.state.text()
    assert window.training.pruned.isHidden()


def test_the_filters_view_shows_the_pruned_weights_black(window, qtbot, tmp_path):
    from cnnviz.qt.live_views import TABS, add_live_views
    from cnnviz.qt.widgets.filters import PRUNED

    live = add_live_views(window, window.session, TABS)
    view = live.views["Filters"]
    window.show_tab(view)
    masks = open_pruned(window, tmp_path)
    qtbot.waitUntil(lambda: live.model.views is not None and bool(live.model.masks),
                    timeout=60_000)
    qtbot.waitUntil(lambda: view.panel.cells["conv1"].mosaic.image.ndim == 3)
    image = view.panel.cells["conv1"].mosaic.image  # (rows, cols, 3): 4 filters of 3x3
    pruned = ~masks[0]["kernel"][:, :, 0, :]  # (3, 3, filters)
    black = np.all(image == PRUNED, axis=-1)
    tiles = [black[r * 4:r * 4 + 3, c * 4:c * 4 + 3] for r in range(2) for c in range(2)]
    assert [t.tolist() for t in tiles] == [pruned[:, :, f].tolist() for f in range(4)]
    assert pruned.any() and view.legend.isVisibleTo(view)
    window.actions.reset_weights.trigger()  # a dense network: nothing black, no legend
    qtbot.waitUntil(lambda: not live.model.masks and view.panel.cells["conv1"].mosaic is not None
                    and view.panel.cells["conv1"].mosaic.image.ndim == 2, timeout=60_000)
    assert view.legend.isHidden()
    assert live.shutdown(10)
