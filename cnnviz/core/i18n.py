"""User text in the user's language: one catalogue for core, the CLI and the window.

Every string a user reads goes through `tr(text, **values)`: `text` is the English
message with `{name}` placeholders (never an f-string, so the message is found by the
string extractor and translated as a whole), `values` fill the placeholders after
translation. Until a language is installed, `tr` returns the English text.
"""

from __future__ import annotations

_catalogue: dict[str, str] = {}


def tr(text: str, /, **values: object) -> str:
    """`text` in the current language, its `{placeholders}` filled from `values`."""
    translated = _catalogue.get(text) or text
    return translated.format(**values) if values else translated
