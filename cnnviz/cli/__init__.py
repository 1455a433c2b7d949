"""The `cnnviz` command: the GUI when run bare, and headless subcommands for scripts.

Every subcommand uses the same core / data / engine / io code as the window; each lives
in a module of this package with a `register(sub, parents)` that adds its parser.
`--json` switches the output to one JSON object per line (one per epoch, one final).
Errors a user can cause end in one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import sys

from cnnviz.cli import compress, exchange, explain, info, runs, train
from cnnviz.cli.common import USER_ERRORS, Parents
from cnnviz.cli.parser import Parser
from cnnviz.core.i18n import install_or_english, system_language, tr
from cnnviz.io.project import SUFFIX

COMMANDS = (info, train, runs, compress, exchange, explain)  # adding subcommands, in --help order


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="cnnviz", description=tr("Build, train and look inside convolutional networks. "
                                      "Run without a command to open the window, or as "
                                      "`cnnviz FILE{suffix}` to open a project in it.",
                                      suffix=SUFFIX))
    sub = parser.add_subparsers(dest="command")
    parents = Parents()
    for module in COMMANDS:
        module.register(sub, parents)
    return parser


def main(argv: list[str] | None = None) -> int:
    install_or_english(system_language())  # LANGUAGE, LC_ALL, LC_MESSAGES or LANG
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else argv
    project = argv[0] if len(argv) == 1 and argv[0].endswith(SUFFIX) else None
    args = parser.parse_args([] if project else argv)  # a project file is no command
    if args.command is None:
        from cnnviz.qt.app import main as gui_main

        return gui_main([project] if project else [])
    try:
        return args.func(args)
    except USER_ERRORS as exc:
        print("\n" + tr("cnnviz {command}: error: {message}", command=args.command,
                         message=exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\n" + tr("interrupted"), file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
