"""What every subcommand shares: the user-error types that end in one line and exit
status 2, `--json` output, reading a network argument, loading data with progress."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import TextIO

from cnnviz.cli.parser import Parser
from cnnviz.core.config import ConfigError
from cnnviz.core.files import OverLimit, os_reason, read_regular
from cnnviz.core.i18n import tr
from cnnviz.core.layers import LayerFormatError
from cnnviz.core.network import NetworkError, NetworkSpec
from cnnviz.core.presets import DEFAULT_PRESET, UnknownPresetError, get_preset
from cnnviz.data.dataset import DatasetError
from cnnviz.data.registry import load_dataset
from cnnviz.io.project import JSON_LIMIT, SUFFIX, ProjectFileError, load_project
from cnnviz.io.weights import WeightsError


class CliError(Exception):
    """A mistake on the command line or in its files, said in one line (exit status 2)."""


USER_ERRORS: tuple[type[Exception], ...] = (
    CliError, NetworkError, DatasetError, ConfigError, ProjectFileError, WeightsError,
    UnknownPresetError, LayerFormatError, OSError)


def json_safe(event: dict) -> dict:
    """`event` as strict JSON takes it: a number that is not finite (NaN, an infinity),
    which JSON cannot write, becomes null, and `not_finite` says what it was."""
    bad = {k: str(v) for k, v in event.items() if isinstance(v, float) and not math.isfinite(v)}
    if not bad:
        return event
    return {**{k: None if k in bad else v for k, v in event.items()}, "not_finite": bad}


def emit(args: argparse.Namespace, event: dict) -> None:
    """One JSON object per line, when `--json` is given."""
    if args.json:
        print(json.dumps(json_safe(event), allow_nan=False), flush=True)


class StatusLine:
    """Progress on `stream`. On a terminal, `show` rewrites one line in place; in a file
    or a pipe it prints nothing, so a log holds whole lines only. `line` prints a line
    that stays, in both."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.live = stream.isatty()
        self._shown = False

    def show(self, text: str) -> None:
        if self.live:
            print(f"\r{text}\x1b[K", end="", file=self.stream, flush=True)
            self._shown = True

    def line(self, text: str) -> None:
        if self._shown:  # over the line shown in place
            text = f"\r{text}\x1b[K"
            self._shown = False
        print(text, file=self.stream, flush=True)

    def note(self, text: str) -> None:
        """A line on stderr (a warning, an explanation), on a line of its own."""
        if self._shown:
            print("\r\x1b[K", end="", file=self.stream, flush=True)
            self._shown = False
        print(text, file=sys.stderr, flush=True)


def read_network(path: str) -> NetworkSpec:
    """The network of a .cnnviz project or a network .json file."""
    if path.endswith(SUFFIX):
        return load_project(path).spec
    try:
        data = read_regular(path, JSON_LIMIT)
    except OverLimit as exc:
        raise CliError(tr("{path} is not a network description: {reason}", path=path,
                          reason=exc)) from None
    except OSError as exc:
        raise CliError(tr("cannot read {path}: {reason}", path=path,
                          reason=os_reason(exc))) from None
    try:
        return NetworkSpec.from_json(data)
    except LayerFormatError as exc:
        raise CliError(tr("{path} is not a network description (JSON text) or a {suffix} "
                          "project: {reason}", path=path, suffix=SUFFIX, reason=exc)) from None


def network_arg(args: argparse.Namespace) -> NetworkSpec:
    """`--network FILE` if given, else `--preset NAME` (or the default preset)."""
    if getattr(args, "network", None):
        return read_network(args.network)
    return get_preset(getattr(args, "preset", None) or DEFAULT_PRESET).spec


def download_progress(args: argparse.Namespace):
    """Progress of a download or of reading a folder, on stderr: in place on a terminal;
    elsewhere a line when a new task starts and when it ends."""
    status = StatusLine(sys.stderr)
    last = [""]

    def report(done: int, total: int | None, message: str) -> None:
        if args.json:
            return
        # units differ (bytes of a download, files of a folder): show a percentage
        amount = f"{100 * done / total:3.0f}%" if total else f"{done:,}"
        finished = total is not None and done >= total
        if finished or (not status.live and message != last[0]):
            status.line(f"{message} {amount}")
        else:
            status.show(f"{message} {amount}")
        last[0] = message
    return report


def load_data(args: argparse.Namespace, name: str, seed: int, validation_fraction: float,
              per_class: int | None = None):
    """The dataset `name`, with `--data-dir` / `--image-size` and progress on stderr (and
    `per_class` training images of each class, if given)."""
    dataset = load_dataset(name, seed=seed, validation_fraction=validation_fraction,
                           data_dir=args.data_dir, image_size=args.image_size,
                           progress=download_progress(args), per_class=per_class)
    for note in dataset.notes:  # e.g. image files that could not be read and were skipped
        print(tr("note: {note}", note=note), file=sys.stderr)
    return dataset


class Parents:
    """Argument groups that several subcommands take (argparse `parents=`)."""

    def __init__(self) -> None:
        # Parsers, so that their groups' headings match the subcommands' (in any language)
        self.json = Parser(add_help=False)
        self.json.add_argument("--json", action="store_true",
                               help=tr("one JSON object per line"))
        self.data = Parser(add_help=False)
        self.data.add_argument("--data-dir", help=tr("folder holding the dataset's files"))
        self.data.add_argument("--image-size", type=int,
                               help=tr("resize folder: images to this size"))
