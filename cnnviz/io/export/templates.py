"""Filling the text templates under cnnviz/io/templates: the export's code and README
are written there as files; Python only fills in the values."""

from __future__ import annotations

import re
import tomllib
from importlib import resources
from string import Template
from typing import Any

_BLOCK = re.compile(r"^(\s*)\$\{(\w+)\}\s*$")


def read_template(name: str) -> str:
    return resources.files("cnnviz.io").joinpath("templates", name).read_text("utf-8")


def read_snippets(name: str) -> dict[str, Any]:
    return tomllib.loads(read_template(name))


def fill(template: str, values: dict[str, object],
         blocks: dict[str, list[str]] | None = None) -> str:
    """`template` with `${name}` replaced by values[name]; a line holding nothing but a
    `${block}` becomes the block's lines, indented as the placeholder was."""
    blocks = blocks or {}
    out = []
    for line in template.splitlines():
        match = _BLOCK.match(line)
        if match and match.group(2) in blocks:
            indent = match.group(1)
            out += [indent + text if text else "" for text in blocks[match.group(2)]]
        else:
            out.append(Template(line).substitute(values))
    return "\n".join(out) + "\n"
