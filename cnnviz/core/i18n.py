"""User text in the user's language: one catalogue for core, the CLI and the window.

Every string a user reads goes through `tr(text, **values)`: `text` is the English
message with `{name}` placeholders (never an f-string, so the message is found by the
extractor and translated as a whole), `values` fill the placeholders after translation.
Text that is made now but read later (an exception's message, a description kept in a
table) is a `Message(text, **values)` instead: it keeps the English text, which is its
message id, and the values, and renders them in the language of the moment it is shown.

So an error raised in core carries its message id and values (`raise
ShapeError(Message("kernel {k} > input {w}", k=k, w=w))`); `str(exc)` at the edge (the
CLI's error line, the window's dialog) renders it in the user's language, and
`message_of(exc)` gives the id and values themselves (for scripts, or tests that must not
depend on the language). Rendering late rather than at raise time means a message made
before the language changed (a network's analysis, a table built at import) still
speaks the language it is read in.

The catalogues are gettext PO files, `cnnviz/locale/<language>.po`, read at run time by
`core.po` (no compiled .mo files, so none can be out of date, and no new dependency):
PO is the format translators' tools edit (Poedit, Lokalize, Weblate), and it needs
nothing of Qt, so core and the CLI use the same catalogue as the window. Qt's own .ts/.qm
would tie the catalogue to Qt. Entries marked fuzzy or left empty are not used: the
English text shows instead. `python -m cnnviz.i18n_tools` finds every message in the code
and updates the catalogues (see its docstring).
"""

from __future__ import annotations

import os
import string
from collections.abc import Iterable, Mapping
from pathlib import Path

from cnnviz.core import po

SOURCE_LANGUAGE = "en"
# Every language the interface speaks, each by its name in itself (never translated: a
# learner looks for their own language's name).
LANGUAGES: dict[str, str] = {"en": "English", "zh_CN": "简体中文"}
LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"
# Regions and scripts of Chinese that mean Traditional characters, which are not shipped:
# such a reader gets their next preference (or English), not Simplified characters.
_TRADITIONAL = {"tw", "hk", "mo", "hant"}

_catalogue: dict[str, str] = {}
_language = SOURCE_LANGUAGE


def tr(text: str, /, **values: object) -> str:
    """`text` in the current language, its `{placeholders}` filled from `values` (a
    `Message` among them is rendered too)."""
    translated = _catalogue.get(text) or text
    if not values:
        return translated
    try:
        return translated.format(**values)
    except (KeyError, IndexError, ValueError):  # a translation that breaks its placeholders
        return text.format(**values)


def marked(text: str, /) -> str:
    """`text` itself, marked for the extractor: a message whose text is a key the code
    keeps in English (a view's title, a choice's name) and that is shown through
    `translate(key)` where the key is only known at run time."""
    return text


def translate(text: str, /) -> str:
    """A message known only at run time in the current language: one the code marks
    elsewhere with `marked()` (or writes in a `tr()` or `Message()`), without values."""
    return _catalogue.get(text) or text


class Message:
    """A message to render later: its English text (the message id) and its values.
    `str()` renders it in the current language, and so does a format string it is put in."""

    __slots__ = ("text", "values")

    def __init__(self, text: str, /, **values: object):
        self.text, self.values = text, values

    def __str__(self) -> str:
        return tr(self.text, **self.values)

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __repr__(self) -> str:
        values = "".join(f", {k}={v!r}" for k, v in self.values.items())
        return f"Message({self.text!r}{values})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Message):
            return NotImplemented
        return (self.text, self.values) == (other.text, other.values)

    def __hash__(self) -> int:
        return hash(self.text)


def message_of(exc: BaseException) -> Message | None:
    """The Message an exception was raised with, if it was raised with one alone."""
    args = exc.args
    return args[0] if len(args) == 1 and isinstance(args[0], Message) else None


def placeholders(text: str) -> set[str]:
    """The names of `text`'s `{placeholders}` (ValueError if its braces do not match)."""
    return {f.split(".")[0].split("[")[0]
            for _, f, _, _ in string.Formatter().parse(text) if f is not None}


# -- which language ---------------------------------------------------------------------------
def language() -> str:
    """The language installed now."""
    return _language


def catalogue_path(language: str) -> Path:
    return LOCALE_DIR / f"{language}.po"


def load_catalogue(language: str) -> dict[str, str]:
    """English text -> translation, for every usable entry of `language`'s catalogue whose
    translation keeps the English text's placeholders (one that does not would fail to
    render). English has none. Raises OSError or po.PoError if it cannot be read."""
    if language == SOURCE_LANGUAGE:
        return {}
    path = catalogue_path(language)
    entries = po.parse(path.read_text(encoding="utf-8"), path.name)
    return {e.msgid: e.msgstr for e in entries
            if e.msgid and e.translated and _same_placeholders(e.msgid, e.msgstr)}


def _same_placeholders(msgid: str, msgstr: str) -> bool:
    try:
        return placeholders(msgid) == placeholders(msgstr)
    except ValueError:
        return False


def install(language: str) -> None:
    """Speak `language` (a key of LANGUAGES) from now on, in the whole process. Raises
    ValueError for a language not shipped, OSError or po.PoError if its catalogue cannot
    be read (the language in use stays as it was)."""
    global _catalogue, _language
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r} (known: {', '.join(LANGUAGES)})")
    _catalogue, _language = load_catalogue(language), language


def install_or_english(language: str) -> str:
    """install(language), or English if its catalogue cannot be used (a broken install
    must not stop the program: its English text is always there). Returns the language
    installed."""
    try:
        install(language)
    except (OSError, po.PoError, ValueError):
        install(SOURCE_LANGUAGE)
    return _language


def best_language(tags: Iterable[str]) -> str:
    """The shipped language that the first usable of `tags` names (locale names such as
    "zh_CN.UTF-8" or "zh-Hans-CN", in the user's order of preference), else English."""
    for tag in tags:
        parts = tag.split(".")[0].split("@")[0].replace("-", "_").lower().split("_")
        if parts[0] == "zh" and _TRADITIONAL & set(parts[1:]):
            continue
        for code in LANGUAGES:
            if code.split("_")[0].lower() == parts[0]:
                return code
    return SOURCE_LANGUAGE


def system_language(environ: Mapping[str, str] = os.environ) -> str:
    """The language the environment asks for, as gettext reads it: LANGUAGE (a list, in
    order of preference), else the first of LC_ALL, LC_MESSAGES, LANG that is set."""
    tags = [t for t in environ.get("LANGUAGE", "").split(":") if t]
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if environ.get(name):
            # gettext ignores LANGUAGE when the locale is C: so do we
            if environ[name].split(".")[0] in ("C", "POSIX"):
                return SOURCE_LANGUAGE
            return best_language([*tags, environ[name]])
    return best_language(tags)
