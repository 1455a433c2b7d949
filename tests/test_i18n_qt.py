"""The language in the window and the CLI: installing it (cnnviz's catalogue and Qt's own
strings), View > Language, and switching with the project kept open; the CLI following
LANG."""

from __future__ import annotations

import pytest
from PyQt6.QtCore import QLocale, QSettings
from PyQt6.QtWidgets import QApplication, QDialogButtonBox, QDockWidget
from test_qt_support import make_window

from cnnviz import cli
from cnnviz.core import i18n
from cnnviz.core.layers import Conv2D
from cnnviz.qt import dialogs
from cnnviz.qt.app import build_window
from cnnviz.qt.language import LANGUAGE_KEY, install_language, recovery_path, switch_language
from cnnviz.qt.lessons import DOCK_NAME
from cnnviz.qt.main_window import MainWindow


@pytest.fixture(autouse=True)
def english_afterwards(qapp):
    yield
    install_language(qapp, "en")


def cancel_text() -> str:
    box = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
    return box.button(QDialogButtonBox.StandardButton.Cancel).text()


def test_standard_dialogs_speak_the_language_installed(qapp):
    assert install_language(qapp, "zh_CN") == "zh_CN"
    assert cancel_text() == "取消"  # Qt's own qtbase_zh_CN
    assert i18n.tr("Stop training to change the language") == "请先停止训练，再切换语言"
    assert QLocale().name() == "zh_CN"
    install_language(qapp, "en")
    assert cancel_text() == "Cancel" and i18n.language() == "en"


def test_a_broken_catalogue_leaves_the_window_in_english(qapp, tmp_path, monkeypatch):
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)  # no zh_CN.po there
    assert install_language(qapp, "zh_CN") == "en"
    assert cancel_text() == "Cancel"


def windows() -> list[MainWindow]:
    return [w for w in QApplication.topLevelWidgets()
            if isinstance(w, MainWindow) and w.isVisible()]


def settle(qtbot, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: window.session.dataset is not None
                    and window.worker.device is not None, timeout=60_000)


def test_switching_language_reopens_the_window_with_the_project_as_it_was(
        qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setattr(dialogs, "ask_save_changes", lambda *args: pytest.fail("asked"))
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window, _ = build_window(settings)
    window.show()
    settle(qtbot, window)
    saved = tmp_path / "mine.cnnviz"
    window.file.save(saved)
    window.network.replace(0, Conv2D(7, 3), "filters")
    spec = window.network.spec
    assert window.file.modified
    window.findChild(QDockWidget, DOCK_NAME).show()
    menu = next(a.menu() for a in window.view_menu.actions() if a.text() == "&Language")
    assert [a.text() for a in menu.actions()] == [
        "System language (English)", "English", "简体中文"]
    assert menu.actions()[0].isChecked()

    menu.actions()[2].trigger()  # 简体中文
    (new,) = windows()  # the old one is deleted: only the last is left to close
    assert new is not window and i18n.language() == "zh_CN"
    assert settings.value(LANGUAGE_KEY) == "zh_CN"
    assert new.network.spec == spec  # the unsaved change is there, still unsaved
    assert new.file.path == saved and new.file.modified and new.isWindowModified()
    assert new.file.recent() == [str(saved.resolve())] and not recovery_path().exists()
    assert new.findChild(QDockWidget, DOCK_NAME).isVisible()  # the layout came back
    settle(qtbot, new)
    assert new.network.spec == spec  # the data loading again did not change it

    menu = next(a.menu() for a in new.view_menu.actions() if a.text() == "语言(&L)")
    assert menu.actions()[2].isChecked()
    menu.actions()[0].trigger()  # the system's: English here
    (last,) = windows()
    qtbot.addWidget(last)
    settle(qtbot, last)
    assert i18n.language() == "en" and last.network.spec == spec and last.file.modified
    monkeypatch.setattr(dialogs, "ask_save_changes", lambda *args: dialogs.DISCARD)
    last.close()
    assert last.finish_threads(30)


def test_the_command_line_speaks_the_locales_language(monkeypatch, tmp_path, capsys):
    bad = tmp_path / "net.json"
    bad.write_text('{"schema_version": 1, "input_shape": [28, 28, 1], '
                   '"layers": [{"type": "conv9"}]}')
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    try:
        assert cli.main(["summary", "--network", str(bad)]) == 2
    finally:
        i18n.install("en")
    error = capsys.readouterr().err
    assert "cnnviz summary：错误：" in error and "未知的层类型 'conv9'" in error


def test_a_project_that_cannot_be_kept_leaves_window_and_language_as_they_were(
        qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    window = make_window(qtbot, tmp_path, monkeypatch)
    shown = []
    monkeypatch.setattr(dialogs, "show_error", lambda parent, title, message: shown.append(
        (title, message)))

    def full_disk(path):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(window.file, "save", full_disk)
    build = lambda: pytest.fail("the window was rebuilt")  # noqa: E731
    assert switch_language(window, "zh_CN", build) is window
    assert i18n.language() == "en" and window.isVisible()
    assert window.settings.value(LANGUAGE_KEY) is None
    assert shown and "No space left on device" in shown[0][1]
    window.finish_threads(30)
