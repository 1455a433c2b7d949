"""`python -m cnnviz.i18n_tools`: extract the messages and update the catalogues.

    python -m cnnviz.i18n_tools            # update cnnviz/locale/*.po, print what is left
    python -m cnnviz.i18n_tools --check    # change nothing; exit 1 if a catalogue is not
                                           # current or not complete, or a call is bad

A new language: add it to core.i18n.LANGUAGES, then run this: its catalogue is created
with every message to translate. Translate in any PO editor (Poedit, Lokalize) or by
hand; an entry marked `#, fuzzy` or left empty shows in English until it is done.
"""

from __future__ import annotations

import argparse
import sys

from cnnviz.core import po
from cnnviz.core.i18n import catalogue_path
from cnnviz.i18n_tools.catalogues import counts, merged, read, translated_languages
from cnnviz.i18n_tools.extract import extract
from cnnviz.io.atomic import write_atomic


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cnnviz.i18n_tools",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="change nothing; fail unless every catalogue is current and "
                        "complete")
    args = parser.parse_args(argv)
    found, problems = extract()
    for problem in problems:
        print(problem, file=sys.stderr)
    ok = not problems
    for language in translated_languages():
        path = catalogue_path(language)
        before = read(language)
        after = merged(before, found, language)
        state = counts(after)
        current = po.dump(after) == (po.dump(before) if before else "")
        print(f"{path.name}: {state}" + ("" if current else
                                         " (not current)" if args.check else " (updated)"))
        if args.check:
            ok = ok and current and not state.missing
        elif not current:
            write_atomic(path, po.dump(after).encode("utf-8"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
