"""Every relative link, image and quoted repository path in the READMEs points at a file
or folder that exists, and the English and Chinese READMEs link to each other at the top.
Anchors (#section) and web addresses are not followed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
READMES = ["README.md", "README.zh-CN.md"]
TOP_LINES = 5  # "linked from the top": within the title's first lines

FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
# [text](target) and ![alt](target), with an optional "title" after the target
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
# `docs/x.png`, `cnnviz/io/templates/`, `docs/view-*.png`: paths the text names in code
QUOTED_PATH = re.compile(r"`((?:docs|benchmarks|cnnviz|tests|assets)/[^`\s]*)`")
EXTERNAL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")  # http:, https:, mailto:


def link_targets(text: str) -> list[str]:
    """The local targets of the Markdown links and images in `text` (not in code),
    without their #anchors; anchors alone and web addresses left out."""
    prose = INLINE_CODE.sub("", FENCE.sub("", text))
    targets = []
    for target in LINK.findall(prose):
        path = target.split("#", 1)[0]
        if path and not EXTERNAL.match(path):
            targets.append(path)
    return targets


def quoted_paths(text: str) -> list[str]:
    """Repository paths quoted as inline code in the prose (outside code blocks)."""
    return QUOTED_PATH.findall(FENCE.sub("", text))


def missing(base: Path, paths: list[str]) -> list[str]:
    """The paths (relative to `base`, `*` allowed) that match no file or folder."""
    return [p for p in paths if not any(base.glob(p)) and not (base / p).exists()]


@pytest.mark.parametrize("name", READMES)
def test_links_and_images_resolve(name: str) -> None:
    text = (ROOT / name).read_text(encoding="utf-8")
    targets = link_targets(text)
    assert targets, f"{name} has no local links at all: the parser is broken"
    assert missing(ROOT, targets) == []


@pytest.mark.parametrize("name", READMES)
def test_quoted_repository_paths_exist(name: str) -> None:
    text = (ROOT / name).read_text(encoding="utf-8")
    assert missing(ROOT, quoted_paths(text)) == []


@pytest.mark.parametrize(("name", "other"), [("README.md", "README.zh-CN.md"),
                                             ("README.zh-CN.md", "README.md")])
def test_each_readme_links_the_other_at_the_top(name: str, other: str) -> None:
    top = "\n".join((ROOT / name).read_text(encoding="utf-8").splitlines()[:TOP_LINES])
    assert other in link_targets(top)


def test_the_checks_find_broken_links(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "shot.png").write_bytes(b"")
    text = "\n".join([
        "![here](docs/shot.png) [gone](docs/gone.png) [part](docs/shot.png#top)",
        "[web](https://example.org/x.png) [anchor](#section) `[code](docs/no.png)`",
        "`docs/shot.png` `docs/*.png` `docs/none-*.png`",
        "```", "[fenced](docs/fenced.png) `docs/fenced.png`", "```",
    ])
    assert link_targets(text) == ["docs/shot.png", "docs/gone.png", "docs/shot.png"]
    assert missing(tmp_path, link_targets(text)) == ["docs/gone.png"]
    assert missing(tmp_path, quoted_paths(text)) == ["docs/none-*.png"]
