"""The views in Chinese on a classroom projector: the Compress workspace and the Step
through view, built with zh_CN installed for the window's whole life, fit 1280x720 and
1024x768 as they do in English (no scroll bar, no widget squeezed, no text cut), and
speak Chinese."""

import cnnviz.engine  # noqa: F401, I001  (first: sets XLA's flags before JAX starts)

import jax
import pytest
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QWidget
from test_probe import qt_garbage_dies_in_this_thread  # noqa: F401 (fixture)
from test_qt_layout import PROJECTORS, live, panels_that_do_not_fit, show_at  # noqa: F401

from cnnviz.core import glossary, i18n
from cnnviz.qt.widgets.compress import TITLE as COMPRESS
from cnnviz.qt.widgets.compress import CompressWorkspace
from cnnviz.qt.widgets.step_through.view import StepThroughView

STEP_THROUGH = "Step through"  # the view's key in the window's panels


@pytest.fixture
def chinese():
    i18n.install("zh_CN")
    yield
    i18n.install("en")


@pytest.fixture
def live_zh(chinese, live):  # noqa: F811 (live: the window, built after chinese)
    """The window as the app builds it, in Chinese from its first widget to its close."""
    return live


@pytest.mark.parametrize("size", PROJECTORS, ids=lambda s: f"{s.width()}x{s.height()}")
def test_the_compress_workspace_in_chinese_fits_with_its_views_filled(qtbot, live_zh, size):
    from cnnviz.core.history import History
    from cnnviz.engine.model import init_params, params_to_numpy

    window = live_zh.window
    s = window.session
    workspace = window.findChild(CompressWorkspace)
    assert workspace.job.stop.text() == "停止"
    assert workspace.views.tabText(workspace.views.indexOf(workspace.kernels)) == "卷积核"
    weights = params_to_numpy(init_params(window.network.spec, jax.random.PRNGKey(0)))
    s.load_state(s.config, s.dataset_name, weights, History())
    qtbot.waitUntil(lambda: s.dataset is not None and workspace.model.preview is not None,
                    timeout=60_000)
    show_at(qtbot, live_zh, size)
    assert "验证准确率" in workspace.prune.figures.text()
    for view in (workspace.grid, workspace.kernels, workspace.layers):
        workspace.views.setCurrentWidget(view)
        assert panels_that_do_not_fit(qtbot, window, only={COMPRESS}) == {}


@pytest.mark.parametrize("size", PROJECTORS, ids=lambda s: f"{s.width()}x{s.height()}")
def test_the_step_through_in_chinese_fits_at_every_stage(qtbot, live_zh, size):
    window = live_zh.window
    view = window.findChild(StepThroughView)
    window.show_tab(view)
    qtbot.waitUntil(lambda: view.model.inspection is not None, timeout=60_000)
    show_at(qtbot, live_zh, size)
    assert view.prev.text() == "◀ 上一步"
    m = view.model
    for stage in range(m.looks_stage + 1):
        m.set_stage(stage)
        qtbot.wait(300)  # the page laid out at its size (a conv page turns narrow)
        assert panels_that_do_not_fit(qtbot, window, only={STEP_THROUGH}) == {}, stage
        page = view.page  # and nothing in the page lies past its end
        assert [type(w).__name__ for w in page.findChildren(
            QWidget, options=Qt.FindChildOption.FindDirectChildrenOnly)
            if w.isVisible() and w.geometry().bottom() > page.height()] == [], stage
    assert view.chain.texts[0].startswith("输入\n")
    # the backward step's working is one text: a term is introduced in both languages once
    m.set_stage(m.backward_stage)
    qtbot.waitUntil(lambda: "learning rate" in view.page.formula.text(), timeout=60_000)
    working = view.page.formula.text()
    assert max(working.count(f"{glossary.term(t, 'zh_CN')} {t}") for t in glossary.terms()) == 1
