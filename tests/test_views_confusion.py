"""The confusion-matrix view: its counts equal a numpy reference, a clicked cell lists
exactly its images, and clicking one of those makes it the probe image."""

import cnnviz.engine  # noqa: F401, I001  (first: sets XLA's flags before JAX starts)

import numpy as np
import pytest
from PyQt6.QtCore import QPointF, Qt
from test_probe import qt_garbage_dies_in_this_thread  # noqa: F401 (fixture)
from test_probe import SPEC, normalised

from cnnviz.core.snapshot import ProbeImage
from cnnviz.engine.model import apply_with_activations, to_float
from cnnviz.engine.probe import Prober
from cnnviz.qt.live_model import LiveModel
from cnnviz.qt.widgets.confusion import ConfusionView

import reference


@pytest.fixture(scope="module")
def data():
    return reference.subset(reference.shapes_dataset(), 96, 60, 10, crop=12)


@pytest.fixture(scope="module")
def computed(data):
    params = reference.random_weights(SPEC, seed=3)
    views = Prober(SPEC, data).views_at_rest(params, ProbeImage(data.x_test[0]), 0, 16)
    logits = apply_with_activations(SPEC, params, to_float(data.x_val))[0]
    return views, np.asarray(logits).argmax(-1)


@pytest.fixture
def view(qtbot, data, computed):
    model = LiveModel()
    model.dataset = data
    model.show(computed[0])
    view = ConfusionView(model)
    qtbot.addWidget(view)
    view.resize(600, 700)
    view.show()
    qtbot.waitExposed(view)
    return view


def click_cell(qtbot, view, true: int, predicted: int) -> None:
    plot = view.matrix
    scene = plot.getPlotItem().vb.mapViewToScene(QPointF(predicted, true))
    qtbot.mouseClick(plot.viewport(), Qt.MouseButton.LeftButton,
                     pos=plot.mapFromScene(scene))


def test_counts_equal_a_numpy_reference(view, data, computed):
    predicted = computed[1]
    counts = np.zeros((5, 5), int)
    for t, p in zip(data.y_val, predicted, strict=True):
        counts[t, p] += 1
    assert np.array_equal(view.confusion.counts, counts)
    assert [int(t.toPlainText()) for t in view.matrix.texts] == counts.ravel().tolist()
    assert f"{np.trace(counts) / counts.sum():.1%} right" in view.title.text()


def test_a_clicked_cell_lists_exactly_its_images(qtbot, view, data, computed):
    predicted = computed[1]
    for true in range(5):
        for guess in range(5):
            click_cell(qtbot, view, true, guess)
            expected = [i for i in range(len(data.y_val))
                        if data.y_val[i] == true and predicted[i] == guess]
            assert view.cell == (true, guess)
            assert view._indices.tolist() == expected
            assert view.cell_title.text().startswith(f"{len(expected)} images")
            cell = view.members.cells["members"]
            if expected:
                for k, i in enumerate(expected):
                    assert np.array_equal(cell.mosaic.tile_image(k),
                                          normalised(data.x_val[i][..., 0], 0, 255))
            else:
                assert cell.mosaic is None


def test_clicking_an_image_of_a_cell_probes_with_it(qtbot, view, data, computed):
    predicted = computed[1]
    true, guess = next((t, p) for t, p in zip(data.y_val, predicted, strict=True) if t != p)
    view.show_cell(int(true), int(guess))
    qtbot.wait(20)  # the new mosaic laid out
    second = view._indices[-1]
    cell = view.members.cells["members"]
    y, x = cell.mosaic.origin(len(view._indices) - 1)
    scene = cell.item.mapToScene(QPointF(x + 1.5, y + 1.5))
    with qtbot.waitSignal(view.model.probe_requested) as request:
        qtbot.mouseClick(view.members.viewport(), Qt.MouseButton.LeftButton,
                         pos=view.members.mapFromScene(scene))
    probe = request.args[0]
    assert np.array_equal(probe.image, data.x_val[second]) and probe.label == true
    assert probe.caption == f"validation image {second}"
