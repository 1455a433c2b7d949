"""The window's commands as QActions, shared by menus, toolbar and panel buttons, so each
has one shortcut, one tooltip and one enabled state."""

from __future__ import annotations

from dataclasses import dataclass

from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtWidgets import QStyle, QWidget

from cnnviz.core.i18n import tr

Key = QKeySequence.StandardKey
Icon = QStyle.StandardPixmap


@dataclass
class Actions:
    new: QAction
    open: QAction
    save: QAction
    save_as: QAction
    quit: QAction
    undo: QAction
    redo: QAction
    start_pause: QAction
    step: QAction
    stop: QAction
    reset_weights: QAction

    @property
    def run(self) -> tuple[QAction, ...]:
        return (self.start_pause, self.step, self.stop, self.reset_weights)


def _action(parent: QWidget, text: str, keys: list, tip: str,
            icon: QStyle.StandardPixmap | None = None) -> QAction:
    action = QAction(text, parent)
    action.setShortcuts([QKeySequence(k) for k in keys])
    shortcut = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
    action.setToolTip(tr("{action} ({shortcut})", action=tip, shortcut=shortcut) if shortcut
                      else tip)
    action.setStatusTip(tip)
    if icon is not None:
        action.setIcon(parent.style().standardIcon(icon))
    return action


def make_actions(window: QWidget) -> Actions:
    actions = Actions(
        new=_action(window, tr("&New"), [Key.New],
                    tr("Start a new project from the default network"), Icon.SP_FileIcon),
        open=_action(window, tr("&Open…"), [Key.Open], tr("Open a saved project"),
                     Icon.SP_DialogOpenButton),
        save=_action(window, tr("&Save"), [Key.Save], tr("Save the network, weights, settings "
                     "and curves"), Icon.SP_DialogSaveButton),
        save_as=_action(window, tr("Save &As…"), ["Ctrl+Shift+S"], tr("Save under a new name")),
        quit=_action(window, tr("&Quit"), [Key.Quit], tr("Close cnnviz")),
        undo=_action(window, tr("&Undo"), [Key.Undo], tr("Undo the last change to the network"),
                     Icon.SP_ArrowBack),
        redo=_action(window, tr("&Redo"), ["Ctrl+Shift+Z", "Ctrl+Y"], tr("Redo the change just "
                     "undone"), Icon.SP_ArrowForward),
        start_pause=_action(window, tr("Start"), ["Space"], tr("Start or pause training"),
                            Icon.SP_MediaPlay),
        step=_action(window, tr("Step"), ["."], tr("Train on one batch, then pause"),
                     Icon.SP_MediaSkipForward),
        stop=_action(window, tr("Stop"), ["Ctrl+."],
                     tr("End the run; Start continues from here"), Icon.SP_MediaStop),
        reset_weights=_action(window, tr("Reset weights"), ["Ctrl+R"], tr(
            "Forget what the network learned: fresh random weights and empty curves"),
            Icon.SP_BrowserReload),
    )
    for action, short in ((actions.undo, tr("Undo")), (actions.redo, tr("Redo"))):
        action.setIconText(short)  # the toolbar keeps a short label; menus name the change
    return actions
