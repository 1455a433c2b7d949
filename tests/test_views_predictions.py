"""The predictions view: the bars are the probe's softmax, the grid marks exactly the
wrong predictions, and clicking a grid image probes with it."""

import cnnviz.engine  # noqa: F401, I001  (first: sets XLA's flags before JAX starts)

import jax
import numpy as np
import pytest
from PyQt6.QtCore import QPoint, Qt
from test_probe import qt_garbage_dies_in_this_thread  # noqa: F401 (fixture)
from test_probe import SPEC

from cnnviz.core.snapshot import ProbeImage
from cnnviz.engine.model import apply, to_float
from cnnviz.engine.probe import Prober
from cnnviz.qt.live_model import LiveModel
from cnnviz.qt.widgets.predictions import NARROW, PredictionsView

import reference


@pytest.fixture(scope="module")
def data():
    return reference.subset(reference.shapes_dataset(), 96, 20, 40, crop=12)


@pytest.fixture
def view(qtbot, data):
    params = reference.random_weights(SPEC, seed=4)
    model = LiveModel()
    model.dataset = data
    model.show(Prober(SPEC, data).views_at_rest(params, ProbeImage(data.x_test[7], 2, "t"),
                                                0, 16))
    view = PredictionsView(model)
    qtbot.addWidget(view)
    view.resize(900, 500)
    view.show()
    qtbot.waitExposed(view)
    view.params = params
    return view


def test_bars_are_the_softmax_of_the_probe(view, data):
    expected = jax.nn.softmax(apply(SPEC, view.params, to_float(data.x_test[7][None]))[0])
    np.testing.assert_allclose(view.bars.bars.opts["width"], expected, rtol=1e-5)
    top = int(np.argmax(expected))
    assert f"<b>{data.class_names[top]}</b>" in view.probe_title.text()


def test_the_grid_marks_exactly_the_wrong_predictions(view, data):
    grid = view.grid.grid
    logits = np.asarray(apply(SPEC, view.params, to_float(data.x_test[grid.indices])))
    assert np.array_equal(grid.predicted, logits.argmax(-1))
    assert np.array_equal(grid.true, data.y_test[grid.indices])
    right = int((grid.predicted == grid.true).sum())
    assert view.grid_title.text().startswith(f"{right} of {len(grid.true)} test images right")


def test_clicking_a_grid_image_probes_with_it(qtbot, view, data):
    columns, cell_w, cell_h = view.grid.layout_cells()
    assert columns >= 3
    i = columns + 2  # second row, third column
    with qtbot.waitSignal(view.model.probe_requested) as request:
        qtbot.mouseClick(view.grid, Qt.MouseButton.LeftButton,
                         pos=QPoint(2 * cell_w + cell_w // 2, cell_h + cell_h // 3))
    index = int(view.grid.grid.indices[i])
    assert np.array_equal(request.args[0].image, data.x_test[index])
    assert request.args[0].caption == f"test image {index}"


def test_the_grid_goes_under_the_probe_in_a_narrow_dock(qtbot, view):
    assert view.split.orientation() == Qt.Orientation.Horizontal  # 900 wide
    view.resize(NARROW - 100, 700)
    qtbot.waitUntil(lambda: view.split.orientation() == Qt.Orientation.Vertical)
    columns, side, _ = view.grid.layout_cells()
    rows = -(-len(view.grid.grid.indices) // columns)
    assert columns * side <= view.grid.width() and rows * (side + view.grid.CAPTION) <= \
        view.grid.height()  # every thumbnail fits
