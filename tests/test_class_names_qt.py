"""The class names the window shows: in Chinese the predictions panel, its gallery, the
confusion matrix and the feature maps' input say 正方形 where the data, the views and
what is saved keep "square"; in English they say square; a folder dataset's own names
show as they are; the Chinese names fit the confusion matrix's axis in a narrow dock."""

import cnnviz.engine  # noqa: F401, I001  (first: sets XLA's flags before JAX starts)

from dataclasses import replace

import pytest
from PyQt6.QtCore import QRectF
from test_class_names import CHINESE_NAMES
from test_confusion_axis import NARROW, apart, drawn_names, shown_matrix
from test_i18n_core import chinese  # noqa: F401 (fixture)
from test_probe import qt_garbage_dies_in_this_thread  # noqa: F401 (fixture)
from test_probe import SPEC

import reference
from cnnviz.core import i18n
from cnnviz.core.snapshot import ProbeImage
from cnnviz.data.shapes import CLASS_NAMES
from cnnviz.engine.probe import Prober
from cnnviz.qt.live_model import LiveModel
from cnnviz.qt.widgets.confusion import ConfusionView
from cnnviz.qt.widgets.feature_maps import INPUT, FeatureMapsView
from cnnviz.qt.widgets.predictions import PredictionsView

SQUARE = CLASS_NAMES.index("square")


@pytest.fixture(scope="module")
def data():
    return reference.subset(reference.shapes_dataset(), 96, 60, 40, crop=12)


@pytest.fixture(scope="module")
def views(data):
    params = reference.random_weights(SPEC, seed=5)
    probe = ProbeImage(data.x_test[SQUARE], int(data.y_test[SQUARE]), "t")
    return Prober(SPEC, data).views_at_rest(params, probe, 0, 16)


@pytest.fixture(params=["zh_CN", "en"])
def language(request):
    i18n.install(request.param)
    try:
        yield request.param
    finally:
        i18n.install("en")


def shown(language):
    return CHINESE_NAMES["shapes"] if language == "zh_CN" else CLASS_NAMES


def panels(qtbot, data, views):
    model = LiveModel()
    model.dataset = data
    model.show(views)
    predictions, matrix, maps = (PredictionsView(model), ConfusionView(model),
                                 FeatureMapsView(model))
    for view in (predictions, matrix, maps):
        qtbot.addWidget(view)
        view.resize(900, 600)
        view.show()
        qtbot.waitExposed(view)
    return model, predictions, matrix, maps


def test_the_predictions_and_the_matrix_name_the_classes_in_the_language(
        qtbot, data, views, language):
    assert data.y_test[SQUARE] == SQUARE  # the test split cycles through the classes
    names = shown(language)
    model, predictions, matrix, maps = panels(qtbot, data, views)
    # the bars: one tick per class, the true class ticked
    (ticks,) = predictions.bars.getAxis("left")._tickLevels
    assert [text for _, text in ticks] == [f"{n} ✓" if i == SQUARE else n
                                           for i, n in enumerate(names)]
    top = int(views.probe.probabilities.argmax())
    assert f"<b>{names[top]}</b>" in predictions.probe_title.text()
    # the gallery's captions: the guess, then the true class
    grid = predictions.grid.grid
    for i in range(len(grid.true)):
        guess, truth = predictions.grid.captions(i, 1000)
        assert guess.startswith(f"{names[grid.predicted[i]]} ")
        assert truth == i18n.tr("true: {name}", name=names[grid.true[i]])
    assert names[SQUARE] in predictions.grid.cell_tip(list(grid.true).index(SQUARE))
    # the confusion matrix's axes and a cell's title
    for axis in ("left", "bottom"):
        assert matrix.matrix.getAxis(axis).names == names
    matrix.show_cell(SQUARE, SQUARE)
    n = len(matrix.confusion.members(SQUARE, SQUARE))
    assert matrix.cell_title.text() == i18n.tr(
        "{n} images of {truth} predicted as {guess}. Click one to probe with it.", n=n,
        truth=names[SQUARE], guess=names[SQUARE])
    # the feature maps' input image
    assert maps.panel.cells[INPUT].title == i18n.tr("input ({name})", name=names[SQUARE])
    # what the views hold and what is saved from them stays English
    assert model.views.class_names == data.class_names == CLASS_NAMES


@pytest.mark.usefixtures("chinese")
def test_a_folder_datasets_own_names_show_as_they_are(qtbot, data, views):
    own = ("cats", "input", "right", "none", "dogs")  # words translated elsewhere among them
    assert all(i18n.translate(n) != n for n in own[1:4])
    mine = replace(data, class_names=own)
    _, predictions, matrix, _ = panels(qtbot, mine, replace(views, class_names=own))
    assert matrix.matrix.getAxis("bottom").names == own
    assert [text.removesuffix(" ✓")
            for _, text in predictions.bars.getAxis("left")._tickLevels[0]] == list(own)


@pytest.mark.usefixtures("chinese")
@pytest.mark.parametrize("size", NARROW, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("dataset", ["shapes", "outlines", "cifar10"])
def test_the_chinese_names_fit_the_axis_in_a_narrow_dock(qtbot, size, dataset):
    """As test_confusion_axis checks the English names, except that the axis title is
    cleared by its text rather than its box: in Chinese the title's line is taller, and
    pyqtgraph lets the top of a title's box (its empty margin) reach into the names'."""
    names = CHINESE_NAMES[dataset]
    plot = shown_matrix(qtbot, size, names)
    axis = plot.getAxis("bottom")
    drawn = drawn_names(axis)
    texts = [text for text, _ in drawn]
    assert texts == [n for n in names if n in texts]  # whole names, in order
    assert len(texts) == len(names) or dataset == "cifar10"  # or every k-th
    assert apart([polygon for _, polygon in drawn])
    margin = axis.label.document().documentMargin()
    title = axis.mapRectFromScene(axis.label.sceneBoundingRect()).adjusted(
        margin, margin, -margin, -margin)
    for text, polygon in drawn:
        shown = plot.mapFromScene(axis.mapToScene(polygon)).boundingRect()
        assert QRectF(plot.rect()).contains(QRectF(shown)), text
        assert not polygon.boundingRect().intersects(title), text
