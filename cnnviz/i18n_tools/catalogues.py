"""Keeping a catalogue in step with the code, as msgmerge would: the messages the code
has, in the code's order, each with the modules that use it; translations already made
are kept; a message the code no longer has stays at the end as obsolete if it was
translated (a reworded message can take its translation back), else it goes.

References name the module without a line number, so that editing one module does not
rewrite the references of every message below the edit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cnnviz.core import po
from cnnviz.core.i18n import LANGUAGES, SOURCE_LANGUAGE, catalogue_path
from cnnviz.i18n_tools.extract import Found


@dataclass
class Counts:
    messages: int = 0
    missing: list[str] = field(default_factory=list)  # no translation yet (or fuzzy)

    def __str__(self) -> str:
        return f"{self.messages} messages, {len(self.missing)} not translated"


def merged(entries: list[po.Entry], found: list[Found], language: str) -> list[po.Entry]:
    """`entries` (a catalogue as it is) brought in step with the messages `found`."""
    old = {e.msgid: e for e in entries if e.msgid}
    head = next((e for e in entries if not e.msgid and not e.obsolete), po.header(language))
    current: dict[str, po.Entry] = {}
    for f in found:
        entry = current.get(f.text)
        if entry is None:
            before = old.get(f.text)
            entry = current[f.text] = po.Entry(
                f.text, before.msgstr if before else "",
                flags=list(before.flags) if before else [],
                comments=list(before.comments) if before else [])
        if f.module not in entry.references:
            entry.references.append(f.module)
    gone = [po.Entry(e.msgid, e.msgstr, e.flags, [], e.comments, obsolete=True)
            for e in old.values() if e.msgid not in current and e.msgstr]
    return [head, *current.values(), *gone]


def counts(entries: list[po.Entry]) -> Counts:
    live = [e for e in entries if e.msgid and not e.obsolete]
    return Counts(len(live), [e.msgid for e in live if not e.translated])


def read(language: str) -> list[po.Entry]:
    path = catalogue_path(language)
    return po.parse(path.read_text(encoding="utf-8"), path.name) if path.exists() else []


def translated_languages() -> list[str]:
    return [code for code in LANGUAGES if code != SOURCE_LANGUAGE]
