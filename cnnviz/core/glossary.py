"""Technical terms in the learner's language, introduced in both languages the first time.

The terms are data (`cnnviz/locale/glossary.toml`, by English name). A panel that
writes text with terms in it makes one `FirstMention` per text it writes: in Chinese
the first mention of a term reads "卷积 convolution" (the textbook's word, then the one
code, papers and other tools use), later ones "卷积"; in English a term is just itself.
"""

from __future__ import annotations

import tomllib
from functools import cache

from cnnviz.core.i18n import LOCALE_DIR, SOURCE_LANGUAGE, language

GLOSSARY = LOCALE_DIR / "glossary.toml"


@cache
def glossary() -> dict[str, dict[str, str]]:
    """language -> English term -> the term in that language."""
    with GLOSSARY.open("rb") as file:
        return tomllib.load(file)


@cache
def terms() -> tuple[str, ...]:
    """Every term, by its English name."""
    return tuple(sorted({t for table in glossary().values() for t in table}))


def term(english: str, code: str | None = None) -> str:
    """`english` in `code` (by default the language in use). KeyError if it is not a
    term of the glossary (a typo would otherwise show untranslated)."""
    if english not in terms():
        raise KeyError(f"{english!r} is not in {GLOSSARY.name}")
    code = code or language()
    return english if code == SOURCE_LANGUAGE else glossary().get(code, {}).get(english, english)


class FirstMention:
    """Terms for one text of a panel: the first mention of each in both languages (when
    they differ beyond capitals), every later one in the language in use alone."""

    def __init__(self) -> None:
        self._seen: set[str] = set()

    def __call__(self, english: str) -> str:
        local = term(english)
        if english in self._seen or local.lower() == english.lower():
            return local
        self._seen.add(english)
        return f"{local} {english}"
