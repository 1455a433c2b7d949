"""Text tables for a terminal: Chinese characters take two columns, so a table of mixed
text is aligned by the columns each cell takes, not by its length."""

from __future__ import annotations

import unicodedata


def text_width(text: str) -> int:
    """Columns `text` takes in a terminal: East Asian wide and full-width characters
    (Chinese among them) take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pad(text: str, width: int, right: bool = False) -> str:
    """`text` filled with spaces to `width` columns, aligned right if `right`."""
    fill = " " * max(width - text_width(text), 0)
    return fill + text if right else text + fill
