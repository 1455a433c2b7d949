"""The left column's panels in Chinese on a classroom projector: the Network, Training and
Runs panels fit 1280x720 and 1024x768 as they do in English (nothing squeezed, scrolled
or cut), with their texts in Chinese."""

import cnnviz.engine  # noqa: F401, I001  (first: sets XLA's flags before JAX starts)

import pytest
from PyQt6.QtCore import QSettings
from test_probe import qt_garbage_dies_in_this_thread  # noqa: F401 (fixture)
from test_qt_layout import PROJECTORS, panels_that_do_not_fit, show_at

from cnnviz.core import i18n
from cnnviz.qt import dialogs
from cnnviz.qt.app import build_window

LEFT_PANELS = {"Network", "Training", "Runs"}


@pytest.fixture
def chinese(qtbot, tmp_path, monkeypatch):
    """The window as the app builds it, in Chinese for the whole of its life."""
    monkeypatch.setattr(dialogs, "ask_save_changes", lambda *args: dialogs.DISCARD)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    i18n.install("zh_CN")
    try:
        window, live = build_window(settings)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitUntil(lambda: live.model.views is not None
                        and window.worker.device is not None, timeout=60_000)
        yield live
        window.close()
        assert window.finish_threads(30)
    finally:
        i18n.install("en")


@pytest.mark.parametrize("size", PROJECTORS, ids=lambda s: f"{s.width()}x{s.height()}")
def test_the_left_panels_fit_a_projector_in_chinese(qtbot, chinese, size):
    window = chinese.window
    # the panels speak Chinese (a test that could pass in English would prove nothing)
    assert window.training.settings.tabText(0) == "超参数"
    assert window.builder.table.model().headerData(1, window.builder.table.horizontalHeader()
                                                   .orientation()) == "层"
    assert window.runs_panel.new_run.text() == i18n.tr("New run from settings") != \
        "New run from settings"
    show_at(qtbot, chinese, size)
    assert panels_that_do_not_fit(qtbot, window, only=LEFT_PANELS) == {}
