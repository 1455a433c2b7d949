"""Drawing your own input: a stroke inks exactly the pixels near the mouse's path, and
the prediction follows the drawing."""

import cnnviz.engine  # noqa: F401, I001  (first: sets XLA's flags before JAX starts)

import jax
import numpy as np
from PyQt6.QtCore import QPoint, Qt
from test_probe import qt_garbage_dies_in_this_thread  # noqa: F401 (fixture)
from test_qt_support import SMALL_NET, make_window

from cnnviz.engine.model import apply, to_float
from cnnviz.engine.trainer import initial_params
from cnnviz.qt.live_model import DRAWING, LiveModel
from cnnviz.qt.live_views import add_live_views
from cnnviz.qt.widgets.draw_canvas import DrawCanvas, DrawView, brush_radius, stamp_segment


def reference_stroke(shape, p0, p1, radius):
    """Pixel (i, j) inked iff the distance from its centre (j + .5, i + .5) to the segment
    p0-p1 is at most radius: the closest point found by brute force along the segment."""
    out = np.zeros(shape, np.uint8)
    ts = np.linspace(0, 1, 2001)
    xs = p0[0] + ts * (p1[0] - p0[0])
    ys = p0[1] + ts * (p1[1] - p0[1])
    for i in range(shape[0]):
        for j in range(shape[1]):
            if np.min((xs - j - 0.5) ** 2 + (ys - i - 0.5) ** 2) <= radius ** 2 + 1e-6:
                out[i, j] = 255
    return out


def test_stamp_segment_inks_the_pixels_near_the_segment():
    rng = np.random.default_rng(0)
    for _ in range(5):
        p0, p1 = tuple(rng.uniform(0, 12, 2)), tuple(rng.uniform(0, 12, 2))
        image = np.zeros((12, 12, 1), np.uint8)
        stamp_segment(image, p0, p1, 1.3)
        expected = reference_stroke((12, 12), p0, p1, 1.3)
        # pixels exactly on the border may go either way with a sampled segment
        assert np.sum(image[..., 0] != expected) <= 1


def test_a_mouse_stroke_yields_the_expected_input(qtbot):
    canvas = DrawCanvas((28, 28, 1))
    qtbot.addWidget(canvas)
    canvas.resize(280, 280)  # 10 screen pixels per image pixel
    canvas.show()
    qtbot.waitExposed(canvas)
    with qtbot.waitSignals([canvas.changed] * 2) as signals:  # press, move
        qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(55, 100))
        qtbot.mouseMove(canvas, QPoint(205, 100))
        qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(205, 100))
    expected = reference_stroke((28, 28), (5.5, 10.0), (20.5, 10.0), brush_radius(28))
    assert np.array_equal(canvas.image[..., 0], expected)
    assert np.array_equal(signals.all_signals_and_args[-1].args[0], canvas.image)
    canvas.invert()
    assert np.array_equal(canvas.image[..., 0], 255 - expected)
    canvas.clear()
    assert not canvas.image.any()


def test_drawing_becomes_the_probe(qtbot):
    model = LiveModel()
    view = DrawView(model)
    qtbot.addWidget(view)
    with qtbot.waitSignal(model.probe_requested) as request:
        view.canvas.invert()
    assert request.args[0].caption == DRAWING and (request.args[0].image == 255).all()


def test_the_prediction_follows_the_strokes(qtbot, tmp_path, monkeypatch):
    window = make_window(qtbot, tmp_path, monkeypatch)
    window.network.reset(SMALL_NET)
    live = add_live_views(window, window.session)
    window.show_tab(live.views["Feature maps"])
    qtbot.waitUntil(lambda: live.model.views is not None, timeout=60_000)  # at rest
    canvas = live.views["Draw"].canvas
    live.docks["Draw"].raise_()
    qtbot.waitExposed(canvas)
    params = initial_params(SMALL_NET, window.session.config.seed)  # not trained yet

    def expected(image):
        return np.asarray(jax.nn.softmax(apply(SMALL_NET, params, to_float(image[None]))[0]))

    for end in (QPoint(canvas.width() // 2, canvas.height() - 10),
                QPoint(canvas.width() - 10, 10)):
        qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(10, 10))
        qtbot.mouseMove(canvas, end)
        qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=end)
        drawn = canvas.image.copy()
        qtbot.waitUntil(lambda d=drawn: live.model.views.probe.input.caption == DRAWING
                        and np.array_equal(live.model.views.probe.input.image, d),
                        timeout=30_000)
        probe = live.model.views.probe
        np.testing.assert_allclose(probe.probabilities, expected(drawn), rtol=1e-4, atol=1e-6)
        assert "The network thinks" in live.views["Draw"].verdict.text()
        canvas.clear()
    assert live.shutdown(10)
