"""The command line's parser, whose own words ("usage:", "error:", "the following arguments
are required", "invalid choice", "show this help message and exit") follow the language.

argparse translates those words by calling `gettext.gettext` and `gettext.ngettext`, which
it imports into its module as `_` and `ngettext` and which read compiled .mo catalogues
that nobody ships for it. cnnviz has one catalogue for everything (cnnviz/locale/*.po, see
core.i18n), so argparse's messages are in it, marked below for the extractor, and
`Parser` points argparse's `_` and `ngettext` at that catalogue while one of its own
methods runs, and puts them back after it: nothing else in the process that uses
argparse sees a change. (Overriding each method that words a message instead would copy
most of argparse; installing a translation for the whole process would change argparse
for every other user of it too.)
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator

from cnnviz.core.i18n import marked, translate

# argparse's messages that a user can meet, exactly as argparse words them (a test checks
# that it still does); their placeholders are %-style, filled by argparse after translation.
ARGPARSE_MESSAGES = (
    marked("usage: "),
    marked("positional arguments"),
    marked("options"),
    marked("show this help message and exit"),
    marked("%(prog)s: error: %(message)s\n"),
    marked("argument %(argument_name)s: %(message)s"),
    marked("the following arguments are required: %s"),
    marked("one of the arguments %s is required"),
    marked("unrecognized arguments: %s"),
    marked("invalid choice: %(value)r (choose from %(choices)s)"),
    marked("invalid %(type)s value: %(value)r"),
    marked("not allowed with argument %s"),
    marked("ignored explicit argument %r"),
    marked("expected one argument"),
    marked("expected at most one argument"),
    marked("expected at least one argument"),
    marked("expected %s argument"),
    marked("expected %s arguments"),
    marked("ambiguous option: %(option)s could match %(matches)s"),
    marked("unexpected option string: %s"),
    marked("unknown parser %(parser_name)r (choices: %(choices)s)"),
)


def _ngettext(singular: str, plural: str, n: int) -> str:
    # the catalogue keeps no plural forms: each form is a message of its own
    return translate(singular if n == 1 else plural)


@contextlib.contextmanager
def _argparse_speaks_ours() -> Iterator[None]:
    saved = argparse._, argparse.ngettext  # type: ignore[attr-defined]
    argparse._, argparse.ngettext = translate, _ngettext  # type: ignore[attr-defined]
    try:
        yield
    finally:
        argparse._, argparse.ngettext = saved  # type: ignore[attr-defined]


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose own words are in the current language: those it words when
    built (the "options" heading, -h's help), when it parses (its errors) and in its help.
    Its subcommands' parsers are Parsers too (argparse makes them of the parent's class)."""

    def __init__(self, *args, **kwargs) -> None:
        with _argparse_speaks_ours():
            super().__init__(*args, **kwargs)

    def add_subparsers(self, **kwargs):
        with _argparse_speaks_ours():
            return super().add_subparsers(**kwargs)

    def parse_args(self, args=None, namespace=None):
        with _argparse_speaks_ours():
            return super().parse_args(args, namespace)

    def parse_known_args(self, args=None, namespace=None):
        with _argparse_speaks_ours():
            return super().parse_known_args(args, namespace)

    def format_usage(self) -> str:
        with _argparse_speaks_ours():
            return super().format_usage()

    def format_help(self) -> str:
        with _argparse_speaks_ours():
            return super().format_help()

    def error(self, message: str):
        with _argparse_speaks_ours():
            super().error(message)
