"""Presentation mode: one view fills the screen for a class, with larger text and thicker
lines, under a slim bar holding what a teacher needs while talking: start / pause, one
step, the previous or next layer, the probe image, and the choice of view.

The presented view's panel moves out of its tab or dock into the presentation page and
back where it came from afterwards; the rest of the window (docks, toolbar, status bar)
is hidden meanwhile and shown again as it was. A view takes part further through two
optional methods: `set_presenting(on)` (e.g. thicker curves) and `step_layer(delta)`
(the previous or next layer; the bar's layer buttons are enabled for such views).
"""

from __future__ import annotations

from collections.abc import Iterable

import pyqtgraph as pg
from PyQt6.QtCore import QObject, Qt, pyqtSignal
from PyQt6.QtGui import QAction, QFont, QKeySequence, QShortcut
from PyQt6.QtWidgets import (
    QApplication,
    QComboBox,
    QDockWidget,
    QGraphicsTextItem,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QSizePolicy,
    QStackedWidget,
    QTabWidget,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from cnnviz.core.i18n import tr, translate
from cnnviz.qt.widgets.wheel_guard import wheel_only_when_focused

TEXT_SCALE = 1.5  # the presented view's text, relative to the interface's


def enlarged_font(scale: float = TEXT_SCALE) -> QFont:
    font = QApplication.font()
    font.setPointSizeF(font.pointSizeF() * scale)
    return font


def set_graphics_font(root: QWidget, font: QFont | None) -> None:
    """The text pyqtgraph draws under `root` (titles, axis ticks and names, counts) in
    `font`; None: the application's. (Its text items take the application's font when
    made and never follow it again, unlike widgets: a change of size must reach them.)"""
    for view in root.findChildren(pg.GraphicsView):
        view.scene().setFont(font or QFont())  # an empty font follows the application's
        for item in view.scene().items():
            if isinstance(item, QGraphicsTextItem):
                item.setFont(font or QApplication.font())
        for item in view.scene().items():  # each re-measured in its new font
            if isinstance(item, pg.AxisItem):
                item.setTickFont(font)
                item.showLabel(item.label.isVisible())
            elif isinstance(item, pg.LabelItem):
                item.setText(item.text)
            elif isinstance(item, pg.TextItem):
                item.updateTextPos()


def _button(text: str, tip: str) -> QToolButton:
    button = QToolButton()
    button.setText(text)
    button.setToolTip(tip)
    return button


class PresentationBar(QWidget):
    """The slim bar: the view, start / pause and step, previous / next layer, the probe
    image controls (added later, see Presentation.add_control), and the way out."""

    def __init__(self, run_actions: Iterable[QAction], parent: QWidget | None = None):
        super().__init__(parent)
        self.views = QComboBox()
        self.views.setToolTip(tr("The view shown"))
        wheel_only_when_focused(self.views)
        self.previous_layer = _button(tr("◀ Layer"), tr("The previous layer (Page Up)"))
        self.next_layer = _button(tr("Layer ▶"), tr("The next layer (Page Down)"))
        self.previous_layer.setShortcut("PgUp")
        self.next_layer.setShortcut("PgDown")
        self.layout_ = QHBoxLayout(self)
        self.layout_.setContentsMargins(6, 2, 6, 2)
        self.layout_.addWidget(QLabel(tr("View:")))
        self.layout_.addWidget(self.views)
        for action in run_actions:
            button = QToolButton()
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            self.layout_.addWidget(button)
        self.layout_.addWidget(self.previous_layer)
        self.layout_.addWidget(self.next_layer)
        self.controls = QHBoxLayout()  # the probe image's, once the live views exist
        self.layout_.addLayout(self.controls, 1)
        self.done = _button(tr("✕ Leave"), tr("Back to the whole window (Esc or F11)"))
        self.layout_.addWidget(self.done)


class Presentation(QObject):
    """Owns the window's central widget: the tabs, or the presentation page."""

    toggled = pyqtSignal(bool)

    def __init__(self, window: QMainWindow, tabs: QTabWidget, panels: dict[str, QWidget],
                 run_actions: Iterable[QAction], parent: QObject | None = None):
        """`panels`: every view's panel by title (the window's, filled as views are
        added); `run_actions`: the start / pause and step actions."""
        super().__init__(parent or window)
        self.window, self.tabs, self.panels = window, tabs, panels
        self.action = QAction(tr("&Presentation Mode"), window, checkable=True)
        self.action.setShortcuts(["F11", "Ctrl+Shift+P"])
        self.action.setStatusTip(tr("One view on the whole screen, with larger text, for a "
                                    "class (F11 or Ctrl+Shift+P again to leave)"))
        self.action.toggled.connect(self._on_toggled)
        self.bar = PresentationBar(run_actions)
        self.bar.done.clicked.connect(self.leave)
        self.bar.views.activated.connect(lambda _i: self.show_view(self.bar.views.currentData()))
        self.bar.previous_layer.clicked.connect(lambda: self._step_layer(-1))
        self.bar.next_layer.clicked.connect(lambda: self._step_layer(+1))
        self.page = QWidget()
        # its bar is wide: it must not hold the central area wide while it is not shown
        self.page.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        QShortcut(QKeySequence("Escape"), self.page, self.leave,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        column = QVBoxLayout(self.page)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.bar)
        self.holder = QVBoxLayout()
        column.addLayout(self.holder, 1)
        self.stack = QStackedWidget()
        self.stack.addWidget(tabs)
        self.stack.addWidget(self.page)
        window.setCentralWidget(self.stack)
        self.title: str | None = None  # the view presented
        self._origin: tuple = ()  # where its panel came from: (tab index,) or (dock,)
        self._hidden: list[QWidget] = []  # what entering hid, to show again
        self._window_state = Qt.WindowState.WindowNoState

    @property
    def active(self) -> bool:
        return self.stack.currentWidget() is self.page

    def add_control(self, widget: QWidget) -> None:
        """A further control in the bar (the probe image's)."""
        self.bar.controls.addWidget(widget, 1)

    def enter(self, title: str | None = None) -> None:
        """Present `title` (by default the central area's current view)."""
        if not self.active:
            self._enter(title)
        elif title is not None:
            self.show_view(title)

    def leave(self) -> None:
        if self.active:
            self._leave()

    def _on_toggled(self, on: bool) -> None:
        self.enter() if on else self.leave()

    def _check(self, on: bool) -> None:
        """The action's tick follows the mode, whichever way it was entered or left."""
        self.action.blockSignals(True)
        self.action.setChecked(on)
        self.action.blockSignals(False)
        self.toggled.emit(on)

    def _current_title(self) -> str:
        panel = self.tabs.currentWidget()
        return next((t for t, p in self.panels.items() if p is panel), next(iter(self.panels)))

    def _enter(self, title: str | None) -> None:
        w = self.window
        self._hidden = [bar for bar in (*w.findChildren(QDockWidget), *w.findChildren(QToolBar),
                                        w.statusBar()) if bar.isVisible()]
        for bar in self._hidden:
            bar.hide()
        self.bar.views.clear()
        for key in self.panels:  # each view by its title shown, its key kept as the data
            self.bar.views.addItem(translate(key), key)
        self.stack.setCurrentWidget(self.page)
        self.show_view(title or self._current_title())
        self._window_state = w.windowState()
        w.setWindowState(self._window_state | Qt.WindowState.WindowFullScreen)
        self._check(True)

    def _leave(self) -> None:
        self._put_back()
        self.stack.setCurrentWidget(self.tabs)
        for bar in self._hidden:
            bar.show()
        self._hidden = []
        self.window.setWindowState(self._window_state)
        self._check(False)

    def show_view(self, title: str) -> None:
        """Present the view `title` (one of the panels), the one presented before going
        back where it was."""
        self._put_back()
        panel = self.panels[title]
        index = self.tabs.indexOf(panel)
        if index >= 0:
            self._origin = (index,)
            self.tabs.removeTab(index)
        else:
            self._origin = (next(d for d in self.window.findChildren(QDockWidget)
                                 if d.widget() is panel),)
        self.holder.addWidget(panel)
        panel.show()
        self.title = title
        self.bar.views.setCurrentIndex(self.bar.views.findData(title))
        font = enlarged_font()
        panel.setFont(font)
        set_graphics_font(panel, font)
        view = panel.widget()
        if hasattr(view, "set_presenting"):
            view.set_presenting(True)
        for button in (self.bar.previous_layer, self.bar.next_layer):
            button.setEnabled(hasattr(view, "step_layer"))
        for i in range(self.bar.controls.count()):  # not twice: the view may have its own
            control = self.bar.controls.itemAt(i).widget()
            control.setVisible(not view.findChildren(type(control)))

    def _put_back(self) -> None:
        if self.title is None:
            return
        panel = self.panels[self.title]
        view = panel.widget()
        if hasattr(view, "set_presenting"):
            view.set_presenting(False)
        panel.setFont(QFont())  # the application's again
        set_graphics_font(panel, None)
        self.holder.removeWidget(panel)
        where = self._origin[0]
        if isinstance(where, int):
            self.window.tab_panel(panel, self.title, where)
            self.tabs.setCurrentIndex(where)
        else:
            where.setWidget(panel)
        self.title, self._origin = None, ()

    def refresh_font(self) -> None:
        """The interface's text size changed: the presented view's follows, enlarged."""
        if self.title is not None:
            font = enlarged_font()
            self.panels[self.title].setFont(font)
            set_graphics_font(self.panels[self.title], font)

    def _step_layer(self, delta: int) -> None:
        view = self.panels[self.title].widget() if self.title else None
        if hasattr(view, "step_layer"):
            view.step_layer(delta)
