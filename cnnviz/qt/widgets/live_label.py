"""Labels whose text changes while training runs (a metric, a prediction, a value under
the mouse).

A plain QLabel asks its layout for room to fit its text, so a new text every tenth of a
second re-lays out its panel: inside a scroll area that resizes the panel, and Qt then
repaints the whole dock, its scroll bars and every view in it, ten times a second. A
live label's width comes from the layout instead (a long text is cut at the edge; a
wrapped one gets more lines), and it always keeps room for `lines` lines, so a text that
appears or goes does not move what is below it. A line is as tall as one of the
language in use (Chinese characters come from a font with taller lines than Latin ones).
"""

from __future__ import annotations

from PyQt6.QtCore import QEvent
from PyQt6.QtGui import QFont, QTextLayout
from PyQt6.QtWidgets import QLabel, QSizePolicy

from cnnviz.core.i18n import LANGUAGES, language


def line_height(font: QFont) -> float:
    """The height of a line of text in the language in use, in `font` (and the fonts
    that stand in for it for that language's script): its name in itself is in its
    script."""
    layout = QTextLayout(f"Ag {LANGUAGES[language()]}", font)
    layout.beginLayout()
    line = layout.createLine()
    layout.endLayout()
    return line.height()


class LiveLabel(QLabel):
    """Keeps room for its lines in whatever font it has (the text size can change)."""

    def __init__(self, text: str, lines: int):
        super().__init__(text)
        self.lines = lines
        self._keep_room()

    def _keep_room(self) -> None:
        self.setMinimumHeight(round(self.lines * line_height(self.font())))

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self._keep_room()


def live_label(text: str = "", *, lines: int = 1, wrap: bool = False) -> QLabel:
    label = LiveLabel(text, lines)
    label.setWordWrap(wrap)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    return label
