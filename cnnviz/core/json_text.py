"""Reading JSON from outside: one error type, whatever is wrong with the text.

Besides malformed text, a file may hold bytes that are not UTF-8 or structures nested
deeper than Python's parser can follow (it raises RecursionError); each becomes a
JsonError that says so. `brief` and `listed` show values and names from such a file in
an error message without printing all of them.
"""

from __future__ import annotations

import json
import reprlib
from typing import Any

from cnnviz.core.i18n import Message, tr

_BRIEF = reprlib.Repr()
_BRIEF.maxlevel, _BRIEF.maxlist, _BRIEF.maxdict, _BRIEF.maxstring, _BRIEF.maxother = (
    3, 4, 4, 40, 40)


class JsonError(ValueError):
    """Text that is not JSON this reads, and why."""


def parse_json(text: str | bytes) -> Any:
    try:
        return json.loads(text)
    except UnicodeDecodeError:
        raise JsonError(Message("not UTF-8 text")) from None
    except json.JSONDecodeError as exc:
        raise JsonError(Message("not valid JSON ({reason} at line {line}, column {column})",
                                reason=exc.msg, line=exc.lineno, column=exc.colno)) from None
    except RecursionError:
        raise JsonError(Message("nested too deeply to read (lists or objects inside each other "
                                "hundreds of levels deep)")) from None


def brief(value: object) -> str:
    """A short repr of `value`: nested and long parts elided."""
    return _BRIEF.repr(value)


def listed(names: list[str], shown: int = 10) -> str:
    """'a, b, c' for the first `shown` names, then how many more: a message that lists
    what a file holds stays one readable line however much it holds."""
    rest = len(names) - shown
    return ", ".join(names[:shown]) + (tr(" and {count:,} more", count=rest) if rest > 0 else "")
