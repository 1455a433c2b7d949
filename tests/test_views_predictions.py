"""The predictions view: the bars are the probe's softmax, the grid marks exactly the
wrong predictions, and clicking a grid image probes with it."""

import cnnviz.engine  # noqa: F401, I001  (first: sets XLA's flags before JAX starts)

import jax
import numpy as np
import pytest
from PyQt6.QtCore import QPoint, Qt
from PyQt6.QtGui import QFontMetrics
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
    columns, side, cell_height = view.grid.layout_cells()
    rows = -(-len(view.grid.grid.indices) // columns)
    assert columns * side <= view.grid.width() and rows * cell_height <= \
        view.grid.height()  # every thumbnail fits


def _fits(grid, text: str, width: int) -> bool:
    return QFontMetrics(grid.caption_font()).horizontalAdvance(text) <= width


def test_captions_are_whole_where_the_grid_has_room_for_them(qtbot, view, data):
    """In a dock as narrow as the default layout's at 1280x720, the grid chooses the
    columns so that every caption is whole (it scrolls rather than cut them)."""
    view.resize(280, 600)
    qtbot.waitUntil(lambda: view.split.orientation() == Qt.Orientation.Vertical)
    grid, names = view.grid, data.class_names
    qtbot.waitUntil(lambda: grid.layout_cells()[1] >= grid.MIN_SIDE)
    columns, side, _ = grid.layout_cells()
    assert columns * side <= grid.width()
    for i in range(len(grid.grid.indices)):
        first, second = grid.captions(i, side - 2)
        g = grid.grid
        assert first == f"{names[g.predicted[i]]} {g.confidence[i]:.0%}"
        assert second == f"true: {names[g.true[i]]}"
        assert _fits(grid, first, side - 2) and _fits(grid, second, side - 2)


def test_captions_too_long_are_shortened_sensibly_with_the_whole_in_a_tooltip(view):
    """The percentage and as much of each name as fits stay; 'true: ' goes first."""
    grid = view.grid
    names = tuple(f"a-very-long-class-name-{i}" for i in range(len(view.grid.names)))
    grid.show_grid(grid.grid, names)
    g = grid.grid
    for width in (60, 90, 140):
        for i in range(len(g.indices)):
            first, second = grid.captions(i, width)
            assert first.endswith(f" {g.confidence[i]:.0%}") and _fits(grid, first, width)
            assert first.startswith("a-very"[:1]) and "…" in first
            assert not second.startswith("true:") and _fits(grid, second, width)
        tip = grid.cell_tip(0)
        assert names[g.predicted[0]] in tip and names[g.true[0]] in tip
        assert f"{g.confidence[0]:.0%}" in tip
