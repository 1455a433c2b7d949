"""The Step through view in the window: it shows the engine's numbers for the probe image
(core.arithmetic on the inspection, the same lines `cnnviz explain` prints), walks the
stages with Prev/Next and the arrow keys, follows a new image, a click, a right-click
elsewhere; the backward step on a batch, Apply one step equal to the update it shows;
while training it follows the run's weights and, paused, uses the run's optimizer state."""

import cnnviz.engine  # noqa: F401, I001  (first: sets XLA's flags before JAX starts)

import numpy as np
import pytest
from PyQt6.QtCore import QPointF, Qt
from test_probe import qt_garbage_dies_in_this_thread  # noqa: F401 (fixture)
from test_qt_support import SMALL_NET, make_window, wait_idle

from cnnviz.core import formulas
from cnnviz.core.snapshot import PAUSED, ProbeImage
from cnnviz.engine.model import apply_with_activations, to_float
from cnnviz.qt.live_views import TABS, add_live_views
from cnnviz.qt.step_controller import StepController
from cnnviz.qt.step_model import BATCH
from cnnviz.qt.step_through import add_step_through
from cnnviz.qt.widgets.step_through.backward import BackwardPage
from cnnviz.qt.widgets.step_through.conv import ConvPage
from cnnviz.qt.widgets.step_through.dense import DensePage
from cnnviz.qt.widgets.step_through.flatten import FlattenPage
from cnnviz.qt.widgets.step_through.input_page import InputPage
from cnnviz.qt.widgets.step_through.looks import LooksPage
from cnnviz.qt.widgets.step_through.pool import PoolPage
from cnnviz.qt.widgets.step_through.softmax import SoftmaxPage

TIMEOUT = 60_000


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    window = make_window(qtbot, tmp_path, monkeypatch)
    window.network.reset(SMALL_NET)
    return window


@pytest.fixture
def view(window, qtbot):
    live = add_live_views(window, window.session, TABS)
    view = add_step_through(window, live.model, window.session)
    window.show_tab(view)
    qtbot.waitUntil(lambda: view.model.inspection is not None, timeout=TIMEOUT)
    view.live = live
    yield view
    assert live.shutdown(30) and window.finish_threads(30)


def test_the_view_shows_the_engines_numbers_for_the_probe(view, window):
    m, data = view.model, window.session.dataset
    ins = m.inspection
    np.testing.assert_allclose(ins.images[0], data.x_test[0] / 255.0, rtol=1e-6)
    assert ins.step == 0 and ins.optimizer.fresh and int(ins.labels[0]) == data.y_test[0]
    _, engine = apply_with_activations(SMALL_NET, list(ins.params), to_float(data.x_test[:1]))
    for index, out in enumerate(engine):
        np.testing.assert_allclose(ins.post[index], out, rtol=1e-5, atol=1e-6)
    m.set_stage(1)
    page = view.page
    assert isinstance(page, ConvPage)
    row, col, f = m.positions[0]
    o = ins.close_up(0, (row, col, f))
    text = page.formula.text()
    for line in formulas.conv_lines(o, row, col, 1):  # what `cnnviz explain` prints
        assert line in text
    assert formulas.plain(ins.value(0, (row, col, f))) in text.splitlines()[-1]
    np.testing.assert_array_equal(page.products.values, o.products[..., 0])
    assert page.patch.values.shape == (3, 3)


def test_prev_next_and_the_arrow_keys_walk_every_stage(view, qtbot):
    m = view.model
    pages = [InputPage, ConvPage, PoolPage, FlattenPage, DensePage, SoftmaxPage,
             BackwardPage, LooksPage]
    m.set_stage(0)
    for i, page in enumerate(pages):
        assert m.stage == i and isinstance(view.page, page), (i, view.page)
        assert view.chain.group.button(i).isChecked()
        view.setFocus()
        qtbot.keyClick(view, Qt.Key.Key_Right)
    assert m.stage == len(pages) - 1 and not view.next.isEnabled()
    view.prev.click()
    assert m.stage == len(pages) - 2
    assert "(16 - 3 + 2·0)/1 + 1 = 14" in view.chain.texts[1]
    assert "14·14·4" not in view.chain.texts[3] and "7·7·4 = 196" in view.chain.texts[3]


def test_a_click_on_the_output_picks_the_pixel_and_play_slides_the_window(view, qtbot):
    m = view.model
    m.set_stage(1)
    page = view.page
    page.output_map.clicked.emit(4, 9)
    assert m.positions[0][:2] == (4, 9)
    assert "out(4, 9) = " in page.formula.text()
    page.filter.setValue(3)
    assert m.positions[0] == (4, 9, 3)
    page.speed.setValue(page.speed.maximum())
    page.play.setChecked(True)
    qtbot.waitUntil(lambda: not page.play.isChecked(), timeout=10_000)  # to the last pixel
    assert m.positions[0] == (13, 13, 3) and not page.timer.isActive()


def test_a_new_probe_image_is_stepped_through(view, window, qtbot):
    data = window.session.dataset
    view.live.model.choose(4)
    qtbot.waitUntil(lambda: np.allclose(view.model.inspection.images[0],
                                        data.x_test[4] / 255.0), timeout=TIMEOUT)
    assert view.model.caption == "test image 4"


def test_a_right_click_elsewhere_opens_the_stage_at_that_position(view, window):
    view.model.set_stage(0)
    window.show_tab(window.curves)
    view.live.model.explain("maxpool1", (2, 3, 1))
    assert view.isVisible() and view.model.stage == 2
    assert view.model.positions[1] == (2, 3, 1) and isinstance(view.page, PoolPage)
    view.live.model.explain("looks", (2,))
    assert view.model.stage == view.model.looks_stage and view.model.shown_class == 2


def test_the_backward_step_on_a_batch_and_apply_one_step(view, window, qtbot):
    m = view.model
    m.set_stage(m.backward_stage)
    page = view.page
    page.batch_mode.setChecked(True)
    qtbot.waitUntil(lambda: m.batch is not None, timeout=TIMEOUT)
    assert m.mode == BATCH and len(m.batch.labels) == window.session.config.batch_size
    m.select_weight(3, "kernel", (17, 2))
    shown = m.batch.update(3, "kernel", (17, 2))
    assert shown.gradient == pytest.approx(m.batch.param_grads[3]["kernel"][17, 2], rel=1e-5,
                                           abs=1e-9)
    assert formulas.plain(shown.new_weight) in page.formula.text()
    page.apply.click()
    qtbot.waitUntil(lambda: m.applied is not None, timeout=TIMEOUT)
    after = m.applied.after.params[3]["kernel"][17, 2]
    assert after == pytest.approx(shown.new_weight, rel=1e-5, abs=1e-7)  # the shown update
    assert m.applied.after.loss < m.applied.before.loss  # one step downhill, on this batch
    assert page.result.isVisible() and page.result.rowCount() == 4
    assert window.session.weights is None  # the network itself is unchanged


def test_while_training_it_follows_the_run_and_paused_it_uses_its_optimizer(view, window,
                                                                               qtbot):
    m, s = view.model, window.session
    m.set_stage(m.backward_stage)
    window.training.epochs.setValue(1000)  # longer than the test
    window.actions.start_pause.trigger()
    qtbot.waitUntil(lambda: m.live and m.inspection.step > 0, timeout=TIMEOUT)
    views = view.live.model.views
    assert m.inspection.optimizer is None  # the state stays with the running trainer
    assert "pause training" in view.page.formula.text()
    assert not view.page.apply.isEnabled()
    assert "training" in view.weights.text()
    window.actions.start_pause.trigger()  # pause
    qtbot.waitUntil(lambda: s.state == PAUSED and not m.live and m.inspection.optimizer
                    is not None, timeout=TIMEOUT)
    ins = m.inspection
    assert ins.step == s.history.steps and ins.step >= views.step
    assert not ins.optimizer.fresh and ins.optimizer.count == s.history.steps
    for mine, real in zip(ins.params, s.weights, strict=True):
        for name in real:
            np.testing.assert_array_equal(mine[name], real[name])
    window.actions.stop.trigger()
    wait_idle(qtbot, window)


def test_the_trainers_view_data_carries_the_weights_it_was_computed_with(view, window, qtbot):
    window.training.epochs.setValue(1)
    window.actions.start_pause.trigger()
    wait_idle(qtbot, window)
    views = view.live.model.views
    assert views.step == window.session.history.steps
    for mine, real in zip(views.probe.weights, window.session.weights, strict=True):
        for name in real:
            np.testing.assert_array_equal(mine[name], real[name])


class RightClick:
    """What a pyqtgraph mouse event tells a right-click handler."""

    def __init__(self, scene_pos=None):
        self._scene_pos = QPointF(-1e6, -1e6) if scene_pos is None else scene_pos  # no tile

    def button(self):
        return Qt.MouseButton.RightButton

    def screenPos(self):
        return QPointF(100, 100)

    def scenePos(self):
        return self._scene_pos


def test_a_right_click_on_a_feature_map_pixel_or_a_class_steps_through_it(view, window,
                                                                         qtbot):
    live = view.live
    qtbot.waitUntil(lambda: live.model.views is not None, timeout=TIMEOUT)
    maps = live.views["Feature maps"]
    window.show_tab(maps)
    maps.panel.clicked.emit("maxpool1", 1, 2, 3)  # the panel names the tile first
    maps.panel.scene().sigMouseClicked.emit(RightClick())
    (action,) = maps._menu.actions()
    assert action.text() == "Step through maxpool1 at (2, 3, 1)"
    action.trigger()
    maps._menu.close()
    assert view.isVisible() and view.model.stage == 2 and view.model.positions[1] == (2, 3, 1)
    predictions = live.views["Predictions"]
    box = predictions.bars.getPlotItem().vb
    predictions._step_through(RightClick(box.mapViewToScene(QPointF(0.5, 2.1))))
    softmax, looks = predictions._menu.actions()
    assert looks.text() == "Where does the network look for c?"
    looks.trigger()
    predictions._menu.close()
    assert view.model.stage == view.model.looks_stage and view.model.shown_class == 2
    softmax.trigger()
    assert view.model.stage == view.model.softmax_stage


def test_a_probe_of_the_data_before_is_not_stepped_through(view):
    """Switching data, the network takes the new images' shape before the probe is one of
    them: that probe is not sent through it (its shapes would not fit), the next one is."""
    controller = view.model.findChild(StepController)
    shape = view.live.model.probe.image.shape
    view.live.model.request_probe(ProbeImage(np.zeros((28, 28, 1), np.uint8), 0, "before"))
    assert shape != (28, 28, 1) and controller._job() is None
    view.live.model.request_probe(ProbeImage(np.zeros(shape, np.uint8), 0, "after"))
    assert controller._job() is not None
