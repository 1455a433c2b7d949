"""The gettext PO format, read and written: the catalogues' one file format.

A catalogue is a list of `Entry`s; the entry with the empty msgid is the header. Only
what cnnviz's catalogues use is supported: msgid/msgstr with comments, references,
flags (e.g. `fuzzy`) and obsolete entries (`#~`), in UTF-8. Context (msgctxt) and
plural forms are not: `tr` has neither, so a catalogue holding them is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

WIDTH = 79  # as msgmerge wraps, so a catalogue edited by hand or by a tool diffs cleanly
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "f": "\f", "v": "\v",
            '"': '"', "\\": "\\"}
_QUOTE = {v: "\\" + k for k, v in _ESCAPES.items()}
_KEYWORD = re.compile(r"(msgid|msgstr)\s+(\".*)$")


class PoError(ValueError):
    """A catalogue that cannot be read, with the line that breaks it."""


@dataclass
class Entry:
    msgid: str
    msgstr: str = ""
    flags: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)  # "path:line"
    comments: list[str] = field(default_factory=list)  # translators' ("# ...")
    obsolete: bool = False  # no longer in the code; kept so its translation is not lost

    @property
    def fuzzy(self) -> bool:
        return "fuzzy" in self.flags

    @property
    def translated(self) -> bool:
        """Usable: translated, and not marked as needing review."""
        return bool(self.msgstr) and not self.fuzzy and not self.obsolete


def _unquote(text: str, where: str) -> str:
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        raise PoError(f"{where}: expected a quoted string, got {text[:40]!r}")
    out, body, i = [], text[1:-1], 0
    while i < len(body):
        ch = body[i]
        if ch == '"':
            raise PoError(f"{where}: an unescaped quote inside a string")
        if ch == "\\":
            if i + 1 >= len(body) or body[i + 1] not in _ESCAPES:
                raise PoError(f"{where}: unknown escape {body[i:i + 2]!r}")
            out.append(_ESCAPES[body[i + 1]])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def parse(text: str, name: str = "catalogue") -> list[Entry]:
    """Every entry of a PO text; PoError (naming `name` and the line) if it is not one."""
    entries: list[Entry] = []
    entry: Entry | None = None
    keyword = ""  # the field that continuation lines extend
    pending = Entry("")  # comments and flags gathered for the next entry

    def finish() -> None:
        nonlocal entry, keyword
        if entry is not None:
            if keyword != "msgstr":
                raise PoError(f"{name}: msgid {entry.msgid[:40]!r} has no msgstr")
            entries.append(entry)
        entry, keyword = None, ""

    for number, raw in enumerate(text.split("\n"), 1):  # not splitlines: \u2028 is text
        where = f"{name}:{number}"
        line = raw.strip()
        obsolete = line.startswith("#~")
        if obsolete:
            line = line[2:].strip()
        if not line:
            continue
        if line.startswith("#"):
            if entry is not None and keyword == "msgstr":
                finish()
            if line.startswith("#,"):
                pending.flags += [f.strip() for f in line[2:].split(",") if f.strip()]
            elif line.startswith("#:"):
                pending.references += line[2:].split()
            elif line.startswith("# ") or line == "#":
                pending.comments.append(line[2:])
            continue  # other comments (#., #|) are the tools' and not kept
        if line.startswith('"'):
            if entry is None:
                raise PoError(f"{where}: a string outside any entry")
            value = _unquote(line, where)
            if keyword == "msgid":
                entry.msgid += value
            else:
                entry.msgstr += value
            continue
        match = _KEYWORD.match(line)
        if match is None:
            raise PoError(f"{where}: cannot read {line[:40]!r} (context and plural forms are "
                          "not used)")
        word, value = match.group(1), _unquote(match.group(2), where)
        if word == "msgid":
            finish()
            entry = Entry(value, flags=pending.flags, references=pending.references,
                          comments=pending.comments, obsolete=obsolete)
            pending = Entry("")
        elif entry is None or keyword != "msgid":
            raise PoError(f"{where}: msgstr without a msgid before it")
        else:
            entry.msgstr = value
        keyword = word
    finish()
    seen: set[str] = set()
    for e in entries:
        if not e.obsolete:
            if e.msgid in seen:
                raise PoError(f"{name}: msgid {e.msgid[:40]!r} appears twice")
            seen.add(e.msgid)
    return entries


def _quote(text: str) -> str:
    return '"' + "".join(_QUOTE.get(ch, ch) for ch in text) + '"'


def _wrapped(keyword: str, text: str, prefix: str) -> list[str]:
    """`keyword "text"` on one line if it fits, else `keyword ""` and then the text in
    pieces ending at a newline or a space, each at most WIDTH wide where it can be."""
    one = f"{prefix}{keyword} {_quote(text)}"
    if len(one) <= WIDTH and "\n" not in text[:-1]:
        return [one]
    pieces: list[str] = []
    for line in text.splitlines(keepends=True):
        piece = ""
        for word in re.findall(r"\S*\s*", line):
            if piece and len(prefix) + len(_quote(piece + word)) > WIDTH:
                pieces.append(piece)
                piece = ""
            piece += word
        if piece:
            pieces.append(piece)
    return [f'{prefix}{keyword} ""'] + [prefix + _quote(p) for p in pieces]


def dump(entries: list[Entry]) -> str:
    """The PO text of `entries`, in their order (parse(dump(e)) == e)."""
    blocks = []
    for e in entries:
        prefix = "#~ " if e.obsolete else ""
        lines = [f"# {c}".rstrip() for c in e.comments]
        if e.references:
            lines.append("#: " + " ".join(e.references))
        if e.flags:
            lines.append("#, " + ", ".join(e.flags))
        lines += _wrapped("msgid", e.msgid, prefix) + _wrapped("msgstr", e.msgstr, prefix)
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def header(language: str) -> Entry:
    """The header entry a new catalogue for `language` starts with."""
    return Entry("", "Project-Id-Version: cnnviz\n"
                     f"Language: {language}\n"
                     "MIME-Version: 1.0\n"
                     "Content-Type: text/plain; charset=UTF-8\n"
                     "Content-Transfer-Encoding: 8bit\n")
