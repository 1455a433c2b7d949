"""The whole window in Chinese: no English left in the main window, any view or any dialog
the window opens (walking their widgets, as a learner would read them), and a layout
saved in English restored in Chinese (docks are keyed by English names, not titles).

One window serves every test of the module: built in English, its layout changed and
saved, then built again in Chinese from the same settings, as a language switch does."""

import cnnviz.engine  # noqa: F401, I001  (first: sets XLA's flags before JAX starts)

import html
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields

import pyqtgraph as pg
import pytest
from PyQt6.QtCore import QSettings, Qt, QTimer
from PyQt6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QDialog,
    QDockWidget,
    QGraphicsTextItem,
    QGroupBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QMenuBar,
    QMessageBox,
    QPlainTextEdit,
    QTabBar,
    QTextEdit,
    QWidget,
)

from cnnviz.core import glossary, i18n
from cnnviz.core.config import OPTIMIZERS
from cnnviz.core.i18n import LANGUAGES
from cnnviz.core.layers import ACTIVATIONS, LAYER_TYPES, PADDINGS
from cnnviz.core.presets import PRESETS
from cnnviz.data.registry import DATASETS
from cnnviz.qt import dialogs
from cnnviz.qt.app import build_window
from cnnviz.qt.language import install_language
from cnnviz.qt.live_views import BIG, SMALL
from cnnviz.qt.main_window import MainWindow
from cnnviz.qt.step_through import TITLE as STEP_THROUGH

# Names that stay as they are in every language: identifiers a learner also types or
# reads in code and other tools (I18N rules), keys and units, the symbols of formulas (a
# layer's fields among them: "(H', W', filters)"), each language's name in itself.
# Words with a digit, an underscore or an inner dot (conv1, int8, CIFAR-10,
# manifest.json) are names too, and so are acronyms (ONNX, CPU, QAT).
NAMES = {
    *(t.__name__ for t in LAYER_TYPES.values()), *LAYER_TYPES, *ACTIVATIONS, *PADDINGS,
    *OPTIMIZERS, *PRESETS, *DATASETS, *LANGUAGES.values(),
    *(name for d in DATASETS.values() for name in d.info.class_names),  # the data's labels
    *(f.name for t in LAYER_TYPES.values() for f in fields(t)),
    "ReLU", "Softmax", "softmax", "Adam", "AdamW", "RMSprop", "Conv", "MaxPool", "AvgPool",
    "NumPy", "numpy", "PyTorch", "Keras", "TensorFlow", "TensorBoard", "onnxruntime", "Netron",
    "safetensors", "npz", "zip", "json", "keras", "onnx", "QuantizeLinear", "DequantizeLinear",
    "Grad-CAM", "cnnviz", "cuda", "logits", "LeCun", "TinyVGG", "Explainer",
    "Ctrl", "Shift", "Alt", "Space", "Esc", "PgUp", "PgDown", "Page", "Up", "Down", "Del",
    "px", "ms", "KiB", "MiB", "GiB", "kB",
    "max", "min", "exp", "log", "sum", "mean", "var", "sqrt", "argmax", "ceil", "floor",
    "out", "gamma", "beta", "moving", "batch",
}
# A textbook term's first mention, in both languages ("卷积 convolution"): wanted
FIRST_MENTIONS = re.compile("|".join(
    rf"{re.escape(glossary.term(t, 'zh_CN'))}\s*[（(]?{re.escape(t)}"
    for t in sorted(glossary.terms(), key=len, reverse=True)), re.IGNORECASE)
WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:[.\-'][A-Za-z0-9_]+)*")
SETTLE_S = 60.0


def english_words(text: str) -> list[str]:
    """The English words in `text` (as shown: markup and accelerators left out)."""
    if "<" in text:
        text = re.sub(r"<[^>]*>", " ", text)
    text = FIRST_MENTIONS.sub(" ", html.unescape(text).replace("&", ""))
    return [w for w in WORD.findall(text) if len(w) >= 2 and w not in NAMES
            and not re.search(r"[0-9_.]", w) and not w.isupper()]


@dataclass(frozen=True)
class Shown:
    where: str  # the widget's class, after the nearest cnnviz widget holding it
    what: str  # which of its texts
    text: str

    def __str__(self) -> str:
        return f"{self.where} [{self.what}] {self.text!r}: {', '.join(english_words(self.text))}"


def path_of(widget: QWidget) -> str:
    """`widget`'s class, after the nearest cnnviz class it is in (the panel to blame)."""
    names, parent = [type(widget).__name__], widget.parentWidget()
    while parent is not None and not type(parent).__module__.startswith("cnnviz"):
        parent = parent.parentWidget()
    if parent is not None and parent is not widget:
        names.insert(0, type(parent).__name__)
    return " > ".join(names)


def texts_of(widget: QWidget) -> Iterator[tuple[str, str]]:
    """(which, text) for every text `widget` shows or explains itself with."""
    yield "tooltip", widget.toolTip()
    if isinstance(widget, QLabel):
        yield "text", widget.text()
    if isinstance(widget, QAbstractButton):
        yield "text", widget.text()
    if isinstance(widget, QGroupBox):
        yield "title", widget.title()
    if isinstance(widget, QDockWidget | QDialog):
        yield "title", widget.windowTitle()
    if isinstance(widget, QTabBar):
        for i in range(widget.count()):
            yield "tab", widget.tabText(i)
            yield "tab tooltip", widget.tabToolTip(i)
    if isinstance(widget, QComboBox):
        for i in range(widget.count()):
            yield "item", widget.itemText(i)
    if isinstance(widget, QLineEdit):
        yield "placeholder", widget.placeholderText()
    if isinstance(widget, QAbstractSpinBox):
        yield "special value", widget.specialValueText()
        for part in ("prefix", "suffix"):
            yield part, getattr(widget, part)() if hasattr(widget, part) else ""
    if isinstance(widget, QTextEdit | QPlainTextEdit):
        yield "text", widget.toPlainText()
        yield "placeholder", widget.placeholderText()
    if isinstance(widget, QHeaderView) and widget.model() is not None:
        model, orientation = widget.model(), widget.orientation()
        count = model.columnCount() if orientation == Qt.Orientation.Horizontal else (
            model.rowCount())
        for section in range(count):
            if not widget.isSectionHidden(section):
                for role, what in ((Qt.ItemDataRole.DisplayRole, "header"),
                                   (Qt.ItemDataRole.ToolTipRole, "header tooltip")):
                    value = model.headerData(section, orientation, role)
                    yield what, value if isinstance(value, str) else ""
    if isinstance(widget, pg.GraphicsView):  # plot titles, axis names, legends, notes
        for item in widget.scene().items():
            if isinstance(item, QGraphicsTextItem) and item.isVisible():
                yield "plot text", item.toPlainText()


def shown_in(root: QWidget, visible_only: bool = True) -> list[Shown]:
    """Every text of `root` and the widgets in it (those shown, with `visible_only`)."""
    found = []
    for widget in (root, *root.findChildren(QWidget)):
        if visible_only and not widget.isVisible():
            continue
        found += [Shown(path_of(widget), what, text) for what, text in texts_of(widget)
                  if text]
    return found


def in_menu(menu: QMenu | QMenuBar, where: str) -> list[Shown]:
    """Every entry of `menu` and its submenus: its text and tips."""
    if isinstance(menu, QMenu):
        menu.aboutToShow.emit()  # menus filled as they open (Open Recent)
    found = []
    for action in menu.actions():
        if action.isSeparator() or not action.isVisible():
            continue
        found += [Shown(f"{where} > {action.text()}", what, text) for what, text in (
            ("text", action.text()), ("tooltip", action.toolTip()),
            ("status tip", action.statusTip())) if text]
        if action.menu() is not None:
            found += in_menu(action.menu(), f"{where} > {action.text()}")
    return found


def assert_chinese(found: list[Shown]) -> None:
    """Fails naming each text with English in it: where, which text, the words."""
    english = sorted({str(s) for s in found if english_words(s.text)})
    assert not english, "English left:\n" + "\n".join(english)


def wait_until(condition: Callable[[], bool], timeout_s: float = SETTLE_S) -> None:
    end = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < end, "timed out"
        QApplication.processEvents()
        time.sleep(0.01)


def settle(window: MainWindow, live) -> None:
    wait_until(lambda: live.model.views is not None and window.worker.device is not None)


def modal_texts(open_it: Callable[[], object]) -> list[Shown]:
    """The texts of the modal dialog `open_it()` opens (and blocks in), which is then
    closed again: as the learner sees it, standard buttons included."""
    found: list[Shown] = []

    def look() -> None:
        box = QApplication.activeModalWidget()
        if box is None or not box.isVisible():
            QTimer.singleShot(20, look)
            return
        found.extend(shown_in(box))
        box.reject()

    QTimer.singleShot(0, look)
    open_it()
    assert found, "no dialog opened"
    return found


# -- the window: English first, its layout changed and saved, then Chinese -------------------
MOVED, CLOSED = "Predictions", "Draw"  # a dock moved to the left, one closed


@pytest.fixture(scope="module")
def chinese(qapp, tmp_path_factory):
    folder = tmp_path_factory.mktemp("window")
    settings = QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat)
    window, live = build_window(settings)
    window.resize(1280, 720)
    window.show()
    settle(window, live)
    window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, live.docks[MOVED])
    live.docks[CLOSED].close()
    close(window)
    try:
        install_language(qapp, "zh_CN")
        window, live = build_window(settings)
        window.resize(1280, 720)
        window.show()
        settle(window, live)
        yield window, live
    finally:
        close(window)
        install_language(qapp, "en")


def close(window: MainWindow) -> None:
    """Close `window` (its changes dropped, as its layout is saved) and end its threads."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(dialogs, "ask_save_changes", lambda *args: dialogs.DISCARD)
        window.close()
    assert window.finish_threads(30)
    window.deleteLater()


def test_a_layout_saved_in_english_comes_back_in_chinese(chinese):
    window, live = chinese
    assert i18n.language() == "zh_CN"
    assert window.dockWidgetArea(live.docks[MOVED]) == Qt.DockWidgetArea.LeftDockWidgetArea
    assert live.docks[CLOSED].isHidden()
    assert live.docks[MOVED].windowTitle() == "预测" and live.docks[MOVED].objectName() == (
        "dock-predictions")  # the title speaks Chinese, the key stays English


def bring_forward(window: MainWindow, panel: QWidget) -> None:
    if window.tabs.indexOf(panel) >= 0:
        window.tabs.setCurrentWidget(panel)
    else:
        dock = next(d for d in window.findChildren(QDockWidget) if d.widget() is panel)
        dock.show()
        dock.raise_()
    wait_until(panel.isVisible, 5)
    for _ in range(5):  # laid out, and what the panel shows on showing filled in
        QApplication.processEvents()
        time.sleep(0.02)


VIEWS = ["Training curves", "Network", "Training", "Runs", *(t for t, _ in BIG),
         *(t for t, _ in SMALL), STEP_THROUGH, "Compress", "Lessons"]


@pytest.mark.parametrize("view", VIEWS)
def test_each_view_speaks_chinese(chinese, view):
    """The view brought forward, every text of its panel as it shows now."""
    window, _ = chinese
    panel = window.panels[view]
    bring_forward(window, panel)
    found = shown_in(panel)
    assert len(found) > 1  # the view's own texts, not only its scroll area's
    assert_chinese(found)


def test_the_window_around_the_views_speaks_chinese(chinese):
    window, _ = chinese
    found = in_menu(window.menuBar(), "")  # every menu, every entry, its tips
    found += [Shown("QMainWindow", "dock title", d.windowTitle())
              for d in window.findChildren(QDockWidget)]
    found += shown_in(window.tabs.tabBar())
    for toolbar in window.findChildren(QWidget, "toolbar-main"):
        found += shown_in(toolbar)
    found.append(Shown("QStatusBar", "message", window.statusBar().currentMessage()))
    assert_chinese(found)


def test_presentation_mode_speaks_chinese(chinese):
    window, _ = chinese
    window.presentation.enter()
    try:
        found = shown_in(window.presentation.bar)
    finally:
        window.presentation.leave()
    assert_chinese(found)


def test_file_export_speaks_chinese(chinese):
    window, _ = chinese
    window.exporter.open()  # what File > Export does (enabled once trained)
    dialog = window.exporter.dialog
    try:
        found = shown_in(dialog)
    finally:
        dialog.reject()
    assert_chinese(found)


def test_train_fine_tune_speaks_chinese(chinese):
    window, _ = chinese
    assert_chinese(modal_texts(window.fine_tune_action.trigger))


def test_help_about_speaks_chinese(chinese):
    window, _ = chinese
    about = next(a for a in window.help_menu.actions() if a.text() == "关于 cnnviz(&A)")
    assert_chinese(modal_texts(about.trigger))


def test_the_save_changes_question_speaks_chinese(chinese, monkeypatch):
    window, _ = chinese
    found = []

    def answer(box: QMessageBox) -> int:
        found.extend(shown_in(box, visible_only=False))
        return QMessageBox.StandardButton.Cancel

    monkeypatch.setattr(QMessageBox, "exec", answer)
    for training in (False, True):
        assert dialogs.ask_save_changes(window, window.file.name, training) == dialogs.CANCEL
    assert {s.text for s in found} >= {"保存对 未命名 的更改吗？", "取消"}
    assert_chinese(found)


@pytest.mark.parametrize(("text", "words"), [
    ("训练 conv1 的 Conv2D（ReLU，Adam）", []),
    ("<b>特征图</b>&nbsp;feature map", []),  # a term's first mention
    ("特征 feature map", ["feature", "map"]),
    ("文件(&F)", []),
    ("CIFAR-10, manifest.json, 3x3, int8, 32 px", []),
    ("Train again", ["Train", "again"]),
    ("OK", []),  # an acronym, as ONNX: a name
])
def test_english_words_are_found_and_names_let_through(text, words):
    assert english_words(text) == words
