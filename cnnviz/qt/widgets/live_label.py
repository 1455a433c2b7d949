"""Labels whose text changes while training runs (a metric, a prediction, a value under
the mouse).

A plain QLabel asks its layout for room to fit its text, so a new text every tenth of a
second re-lays out its panel: inside a scroll area that resizes the panel, and Qt then
repaints the whole dock, its scroll bars and every view in it, ten times a second. A
live label's width comes from the layout instead (a long text is cut at the edge; a
wrapped one gets more lines), and it always keeps room for `lines` lines, so a text that
appears or goes does not move what is below it.
"""

from __future__ import annotations

from PyQt6.QtWidgets import QLabel, QSizePolicy


def live_label(text: str = "", *, lines: int = 1, wrap: bool = False) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(wrap)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    label.setMinimumHeight(lines * label.fontMetrics().lineSpacing())
    return label
