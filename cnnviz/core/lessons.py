"""Lessons: data files the window walks a learner through, read and checked here.

A lesson is a TOML file in `cnnviz/assets/lessons/` (it ships in the package; the file
name, e.g. `01-convolution.toml`, gives its order and id). TOML because the standard
library reads it (tomllib), it holds a sequence of steps with their settings plainly,
and multi-line text needs no escaping. Each text is given in every language in the same
file, so a step's languages cannot drift apart. See the README in that folder for the
format and `core.lesson_vocabulary` for the words a step may use.

`load_lessons` reads a folder: a file that cannot be read or breaks a rule is left out
and reported in one line naming the file, the step and the rule, and the others load.
"""

from __future__ import annotations

import re
import string
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cnnviz.core.i18n import LANGUAGES, SOURCE_LANGUAGE, Message, language
from cnnviz.core.lesson_vocabulary import (
    ACTIONS,
    CHECKS,
    FEATURES,
    LAYER_QUOTES,
    QUOTES,
    Invalid,
    Term,
)

LESSONS_DIR = Path(__file__).resolve().parents[1] / "assets" / "lessons"
SUFFIX = ".toml"
MAX_BYTES = 256 * 1024  # far more than a lesson needs; a larger file is not one
MISSING = "—"  # a quoted number that does not exist now (e.g. a layer since removed)


class LessonError(ValueError):
    """A lesson file that cannot be used, and why (a Message naming file and step)."""


@dataclass(frozen=True)
class Step:
    text: Mapping[str, str]  # language -> text with {quotes}
    setup: tuple[tuple[str, object], ...] = ()  # (action, value), in ACTIONS' order
    check: tuple[tuple[str, object], ...] = ()  # all must hold; none: read and go on
    solution: tuple[tuple[str, object], ...] = ()  # what "Show me" does
    requires: tuple[str, ...] = ()  # features; a missing one makes the step "coming"


@dataclass(frozen=True)
class Lesson:
    id: str
    title: Mapping[str, str]
    summary: Mapping[str, str]
    steps: tuple[Step, ...]
    requires: tuple[str, ...] = ()

    def coming(self, features: Iterable[str]) -> list[str]:
        """The features this lesson needs that are not built yet (none: it can be taken)."""
        have = set(features)
        return [f for f in self.requires if f not in have]


@dataclass
class Catalogue:
    lessons: list[Lesson] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # one line per file left out


# -- reading ------------------------------------------------------------------------------------
def _texts(value: object, what: str) -> dict[str, str]:
    """{en = "...", zh_CN = "..."}: English is required; every quote must be known."""
    if not isinstance(value, dict) or not isinstance(value.get(SOURCE_LANGUAGE), str):
        raise Invalid(Message("{what} needs a table of texts with at least {language} "
                              "(e.g. {what}.en = \"...\")", what=what,
                              language=SOURCE_LANGUAGE))
    for code, text in value.items():
        if code not in LANGUAGES:
            raise Invalid(Message("{what}: unknown language {code} (known: {known})",
                                  what=what, code=code, known=", ".join(LANGUAGES)))
        if not isinstance(text, str) or not text.strip():
            raise Invalid(Message("{what}.{code} must be some text", what=what, code=code))
        _check_quotes(text, f"{what}.{code}")
    return dict(value)


def _check_quotes(text: str, where: str) -> None:
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError:
        raise Invalid(Message("{where}: a brace that opens no quote (write {{{{ and }}}} "
                              "for braces)", where=where)) from None
    for _, quote, spec, conversion in parts:
        if quote is None:
            continue
        head, _, rest = quote.partition("[")
        known = head in LAYER_QUOTES and rest.endswith("]") and rest[:-1] and "[" not in rest
        if not (head in QUOTES and not rest or known) or spec or conversion:
            raise Invalid(Message("{where}: unknown quote {{{quote}}} (known: {known})",
                                  where=where, quote=quote, known=", ".join(
                                      [*QUOTES, *(f"{q}[layer]" for q in LAYER_QUOTES)])))


def _terms(value: object, vocabulary: tuple[Term, ...], what: str) -> tuple:
    """A table of words from `vocabulary`, checked, in the vocabulary's order."""
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise Invalid(Message("{what} must be a table", what=what))
    words = {t.name: t for t in vocabulary}
    for key in value:
        if key not in words:
            raise Invalid(Message("{what}: unknown word {key} (known: {known})", what=what,
                                  key=key, known=", ".join(words)))
    checked = []
    for term in vocabulary:
        if term.name in value:
            try:
                checked.append((term.name, term.validate(value[term.name])))
            except Invalid as exc:
                raise Invalid(Message("{what}.{key}: {reason}", what=what, key=term.name,
                                      reason=exc.args[0])) from None
    return tuple(checked)


def _features(value: object, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v in FEATURES
                                              for v in value):
        raise Invalid(Message("{what} must list features from: {known}", what=what,
                              known=", ".join(FEATURES)))
    return tuple(value)


def _step(data: object) -> Step:
    if not isinstance(data, dict):
        raise Invalid(Message("a step must be a table ([[steps]])"))
    unknown = set(data) - {"text", "setup", "check", "solution", "requires"}
    if unknown:
        raise Invalid(Message("unknown key(s) {keys} (known: text, setup, check, solution, "
                              "requires)", keys=", ".join(sorted(map(str, unknown)))))
    check = _terms(data.get("check"), CHECKS, "check")
    solution = _terms(data.get("solution"), ACTIONS, "solution")
    if check and not solution:
        raise Invalid(Message("a step with a check needs a solution (what \"Show me\" "
                              "does)"))
    return Step(_texts(data.get("text"), "text"), _terms(data.get("setup"), ACTIONS, "setup"),
                check, solution, _features(data.get("requires"), "requires"))


def parse_lesson(text: str, lesson_id: str) -> Lesson:
    """The lesson `text` describes; LessonError (naming `lesson_id`) if it is not one."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LessonError(Message("{lesson}: not valid TOML ({reason})", lesson=lesson_id,
                                  reason=str(exc))) from None
    except RecursionError:  # tables or lists inside each other thousands of levels deep
        raise LessonError(Message("{lesson}: nested too deeply to read",
                                  lesson=lesson_id)) from None
    return lesson_from_data(data, lesson_id)


def lesson_from_data(data: object, lesson_id: str) -> Lesson:
    """The lesson a parsed file holds; LessonError naming the step and the rule broken."""
    where: object = lesson_id
    try:
        if not isinstance(data, dict):
            raise Invalid(Message("a lesson must be a table"))
        unknown = set(data) - {"title", "summary", "requires", "steps"}
        if unknown:
            raise Invalid(Message("unknown key(s) {keys} (known: title, summary, requires, "
                                  "steps)", keys=", ".join(sorted(unknown))))
        title = _texts(data.get("title"), "title")
        summary = _texts(data.get("summary"), "summary")
        requires = _features(data.get("requires"), "requires")
        raw_steps = data.get("steps")
        if not isinstance(raw_steps, list) or not raw_steps:
            raise Invalid(Message("a lesson needs steps ([[steps]] tables)"))
        steps = []
        for number, raw in enumerate(raw_steps, 1):
            where = Message("{lesson}: step {number}", lesson=lesson_id, number=number)
            steps.append(_step(raw))
    except Invalid as exc:
        raise LessonError(Message("{where}: {reason}", where=where,
                                  reason=exc.args[0])) from None
    return Lesson(lesson_id, title, summary, tuple(steps), requires)


def read_lesson(path: Path) -> Lesson:
    """The lesson in file `path` (its id: the name without the suffix)."""
    try:
        with path.open("rb") as file:
            data = file.read(MAX_BYTES + 1)
    except OSError as exc:
        raise LessonError(Message("{lesson}: cannot be read ({reason})", lesson=path.name,
                                  reason=exc.strerror or type(exc).__name__)) from None
    if len(data) > MAX_BYTES:
        raise LessonError(Message("{lesson}: larger than {most:,} bytes, so not a lesson",
                                  lesson=path.name, most=MAX_BYTES))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise LessonError(Message("{lesson}: not UTF-8 text", lesson=path.name)) from None
    return parse_lesson(text, path.stem)


def load_lessons(folder: Path = LESSONS_DIR) -> Catalogue:
    """Every lesson in `folder`, in the order of the file names; a file that is not a
    lesson is reported in `problems` and left out."""
    catalogue = Catalogue()
    try:
        paths = sorted(p for p in folder.iterdir() if p.suffix == SUFFIX)
    except OSError as exc:
        catalogue.problems.append(str(Message(
            "the lessons in {folder} cannot be read ({reason})", folder=folder,
            reason=exc.strerror or type(exc).__name__)))
        return catalogue
    for path in paths:
        try:
            catalogue.lessons.append(read_lesson(path))
        except LessonError as exc:
            catalogue.problems.append(str(exc))
    return catalogue


# -- showing ---------------------------------------------------------------------------------------
# A line break inside a paragraph after a Chinese character (or full-width punctuation):
# Markdown turns it into a space, which Chinese does not put between its words.
_CJK_BREAK = re.compile(r"(?<=[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef])\n(?=[^\n\sA-Za-z0-9])")


def in_language(texts: Mapping[str, str], code: str | None = None) -> str:
    """The text in `code` (by default the language in use), else the English one; lines
    broken inside a Chinese sentence joined without the space Markdown would put there."""
    return _CJK_BREAK.sub("", texts.get(code or language()) or texts[SOURCE_LANGUAGE])


class _Quoter(string.Formatter):
    """Fills {quotes} from the learner's numbers; one that does not exist now (no loss
    before training, a layer removed since) shows as MISSING rather than failing."""

    def get_field(self, field_name, args, kwargs):
        try:
            return super().get_field(field_name, args, kwargs)
        except (KeyError, IndexError, TypeError):
            return None, field_name

    def format_field(self, value, format_spec):
        return MISSING if value is None else super().format_field(value, format_spec)


def quote(text: str, values: Mapping[str, object]) -> str:
    """`text` with its {quotes} filled from `values` (see lesson_vocabulary.QUOTES)."""
    return _Quoter().vformat(text, (), values)
