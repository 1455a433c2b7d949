"""Finding the messages in the code: every `tr("...")`, `Message("...")` and
`marked("...")` call.

It reads the source as Python's parser sees it (the `ast`), so a message split over
several lines or built from adjacent literals is one message, and a call in a comment or
a string is none. A call whose text cannot be known before the program runs (an f-string,
a variable) cannot be translated, so it is reported, as is one whose placeholders and
values do not match.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cnnviz.core.i18n import placeholders

# the functions whose first argument is a message (`marked` only marks one for the
# extractor: its translation is looked up later, by `translate`)
KEYWORDS = ("tr", "Message", "marked")
PACKAGE = Path(__file__).resolve().parents[1]  # cnnviz/
# where tr and Message are defined: their own calls pass on messages found elsewhere
DEFINED_IN = "cnnviz/core/i18n.py"


@dataclass(frozen=True)
class Found:
    text: str
    module: str  # "cnnviz/qt/app.py", as catalogues refer to it
    line: int


def _called_name(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):  # i18n.tr(...), or a Qt object's own tr
        return func.attr
    return None


def _problem(call: ast.Call, text: str | None) -> str | None:
    """What makes the call untranslatable, if anything."""
    func, args = call.func, call.args
    if isinstance(func, ast.Attribute) and not (isinstance(func.value, ast.Name)
                                                and func.value.id == "i18n"):
        return "Qt's tr(): use cnnviz.core.i18n.tr, the one catalogue"
    if not args:
        return "no text given"
    if isinstance(args[0], ast.JoinedStr):
        return "an f-string: write {name} placeholders and pass name=value"
    if text is None:
        return "the text is not a string literal, so it cannot be found and translated"
    try:
        names = placeholders(text)
    except ValueError as exc:
        return f"unmatched braces in the text ({exc})"
    if any(k.arg is None for k in call.keywords):  # **values: cannot be checked here
        return None
    given = {k.arg for k in call.keywords}
    if names != given:
        missing, extra = sorted(names - given), sorted(given - names)
        return ("placeholders without values: " + ", ".join(missing) if missing
                else "values without placeholders: " + ", ".join(extra))
    return None


def calls_in(source: str, module: str) -> Iterator[tuple[Found | None, str | None]]:
    """(the message, None) for each good call in `source`, (None, the problem) for each
    bad one, the problem naming module and line."""
    calls = [node for node in ast.walk(ast.parse(source, module))
             if isinstance(node, ast.Call) and _called_name(node) in KEYWORDS]
    for node in sorted(calls, key=lambda n: (n.lineno, n.col_offset)):  # walk: breadth first
        first = node.args[0] if node.args else None
        text = first.value if isinstance(first, ast.Constant) and isinstance(
            first.value, str) else None
        problem = _problem(node, text)
        if problem:
            yield None, f"{module}:{node.lineno}: {problem}"
        else:
            yield Found(text, module, node.lineno), None


def extract(package: Path = PACKAGE) -> tuple[list[Found], list[str]]:
    """Every message in the package's modules in the order of the code (module by
    module), and every problem found."""
    found: list[Found] = []
    problems: list[str] = []
    for path in sorted(package.rglob("*.py")):
        module = path.relative_to(package.parent).as_posix()
        if module == DEFINED_IN:
            continue
        for message, problem in calls_in(path.read_text(encoding="utf-8"), module):
            if message is not None:
                found.append(message)
            else:
                problems.append(problem)
    return found, problems
