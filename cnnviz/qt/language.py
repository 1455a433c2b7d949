"""The interface's language in the window: which one, installing it, and switching.

The language is the one chosen in View > Language, else the system's (QLocale's UI
languages). Installing it loads cnnviz's catalogue (core.i18n, shared with the CLI) and
Qt's own strings (qtbase_<language>.qm, shipped with PyQt6), so that standard dialogs and
buttons speak it too.

Switching rebuilds the window rather than re-translating it live: every panel writes its
text once, when built, and a rebuild keeps it that way. The project stays open: it is
saved to a recovery file (atomically, like any project), the window closes as it always
does (its layout is remembered), a new one opens in the new language with the recovery
file, under the project's own name and with its unsaved changes still marked unsaved.
Only the undo history starts afresh. Not while training runs (the menu waits for it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PyQt6.QtCore import (
    QCoreApplication,
    QLibraryInfo,
    QLocale,
    QSettings,
    QStandardPaths,
    QTranslator,
)
from PyQt6.QtGui import QActionGroup
from PyQt6.QtWidgets import QApplication, QMenu

from cnnviz.core import i18n
from cnnviz.core.i18n import LANGUAGES, SOURCE_LANGUAGE, best_language, tr
from cnnviz.io.project import ProjectFileError
from cnnviz.io.weights import WeightsError
from cnnviz.qt import dialogs
from cnnviz.qt.main_window import MainWindow

log = logging.getLogger(__name__)

LANGUAGE_KEY = "view/language"
SYSTEM = "system"  # follow the system's language
QT_CATALOGUE = "qtbase"
RECOVERY_NAME = "language-switch.cnnviz"
CLOSE_S = 60.0  # as at exit: the old window's threads end before the new window starts


def system_language() -> str:
    return best_language(QLocale.system().uiLanguages())


def chosen_language(settings: QSettings) -> str:
    """The language the settings name, or the system's."""
    code = str(settings.value(LANGUAGE_KEY, SYSTEM))
    return code if code in LANGUAGES else system_language()


def install_language(app: QCoreApplication, code: str) -> str:
    """Speak `code` in cnnviz's text and Qt's; returns the language installed (English
    if `code`'s catalogue cannot be read, which is logged)."""
    installed = i18n.install_or_english(code)
    if installed != code:
        log.warning("the %s catalogue cannot be used; English it is", code)
    code = installed
    for old in app.findChildren(QTranslator, QT_CATALOGUE):
        app.removeTranslator(old)
        old.deleteLater()
    QLocale.setDefault(QLocale.system() if code == SOURCE_LANGUAGE else QLocale(code))
    if code != SOURCE_LANGUAGE:
        translator = QTranslator(app)
        translator.setObjectName(QT_CATALOGUE)
        folder = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
        if translator.load(f"{QT_CATALOGUE}_{code}", folder):
            app.installTranslator(translator)
        else:
            log.warning("Qt's %s strings are not in %s", code, folder)
    return code


def recovery_path() -> Path:
    folder = Path(QStandardPaths.writableLocation(
        QStandardPaths.StandardLocation.AppLocalDataLocation))
    folder.mkdir(parents=True, exist_ok=True)
    return folder / RECOVERY_NAME


def switch_language(window: MainWindow, code: str,
                    build: Callable[[], MainWindow]) -> MainWindow:
    """Choose `code` (a language, or SYSTEM); if that changes the language, replace
    `window` by `build()`'s new one in that language with the same project open.
    Returns the window in use afterwards."""
    settings = window.settings
    language = code if code in LANGUAGES else system_language()
    if language == i18n.language():
        settings.setValue(LANGUAGE_KEY, code)
        return window
    if window.session.active:  # the menu is disabled meanwhile; a run cannot be saved
        return window
    file, recovery = window.file, recovery_path()
    name, path, modified = file.name, file.path, file.modified
    tab = window.tabs.currentIndex()
    try:
        file.save(recovery)
    except (OSError, WeightsError) as exc:  # e.g. a full disk; weights that diverged
        dialogs.show_error(window, tr("The language was not changed"), tr(
            "Your project could not be kept open while the window changes language: "
            "{reason}", reason=str(exc)))
        return window
    file.forget_recent(str(recovery.resolve()))
    settings.setValue(LANGUAGE_KEY, code)
    app = QApplication.instance()
    app.setQuitOnLastWindowClosed(False)  # between the two windows there is none
    try:
        window.close()
        window.finish_threads(CLOSE_S)
        window.deleteLater()
        install_language(app, language)
        new = build()
        new.show()
        _reopen(new, recovery, path, modified, name)
        new.tabs.setCurrentIndex(tab)
    finally:
        app.setQuitOnLastWindowClosed(True)
    return new


def _reopen(window: MainWindow, recovery: Path, path: Path | None, modified: bool,
            name: str) -> None:
    """The project as it was before the switch: its name, its path, its unsaved mark."""
    file = window.file
    try:
        file.open(recovery)
    except ProjectFileError as exc:  # e.g. the disk failed between the two
        dialogs.show_error(window, tr("Could not reopen {name}", name=name), tr(
            "{reason}\nIt was kept in {path}; File > Open opens it.", reason=str(exc),
            path=recovery))
        return
    file.forget_recent(str(recovery.resolve()))
    recovery.unlink(missing_ok=True)
    file.path, file.modified = path, modified
    file.changed.emit()


def add_language_menu(window: MainWindow, parent: QMenu,
                      build: Callable[[], MainWindow]) -> QMenu:
    """View > Language: the system's language or one of LANGUAGES, each by its own name;
    a choice rebuilds the window in that language (see switch_language)."""
    menu = parent.addMenu(tr("&Language"))
    menu.setToolTipsVisible(True)
    group = QActionGroup(menu)
    current = str(window.settings.value(LANGUAGE_KEY, SYSTEM))
    choices = [(SYSTEM, tr("System language ({language})",
                           language=LANGUAGES[system_language()])), *LANGUAGES.items()]
    for code, label in choices:
        action = menu.addAction(label)
        action.setCheckable(True)
        action.setChecked(code == current or (current not in LANGUAGES and code == SYSTEM))
        action.setToolTip(tr("The window reopens in this language with your project as it "
                             "is; only the undo history starts afresh."))
        action.triggered.connect(lambda _checked, c=code: switch_language(window, c, build))
        group.addAction(action)

    def follow_run() -> None:  # a running network cannot be saved to reopen it
        menu.setEnabled(not window.session.active)
        menu.setToolTip("" if menu.isEnabled() else tr("Stop training to change the language"))

    window.session.run_changed.connect(follow_run)
    follow_run()
    return menu
