"""What an import produces, and how it refuses: a network, its weights and what the
file said about them, or an error that says what does not fit.

Readers build a network and a dict of weights, then call `finish`, which has core
validate the network and checks every weight against it; all problems found are
reported together, as a table (layer, expected, found), before anything is used.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cnnviz.core.columns import pad, text_width
from cnnviz.core.i18n import tr
from cnnviz.core.layers import Layer
from cnnviz.core.network import NetworkSpec, layer_names
from cnnviz.core.shapes import fmt_shape, layer_param_shapes
from cnnviz.io.weights import Weights, from_flat_names


class ModelImportError(ValueError):
    """A file that cannot be imported, said in one line (e.g. it is not readable)."""


@dataclass(frozen=True)
class Row:
    """One thing that does not fit: where (a layer or node), what the app expected there
    and what the file holds."""

    where: str
    expected: str
    found: str


# what a reader's handler of one layer or node raises on malformed values in a file
# (a string where a number belongs, a list too short): that layer's problem, not a crash
MALFORMED = (ValueError, TypeError, IndexError, KeyError, AttributeError, OverflowError)


class MismatchError(ModelImportError):
    """A readable file that does not fit the app: its first line says so, the rest is the
    table of every problem."""

    def __init__(self, source: str, rows: list[Row], hints: tuple[str, ...] = ()):
        self.source, self.rows = source, rows
        super().__init__("\n".join([tr("{source} does not fit: {count} problem(s)",
                                       source=source, count=len(rows)), table(rows), *hints]))


def table(rows: list[Row]) -> str:
    header = Row(tr("layer"), tr("expected"), tr("found"))
    cells = [(r.where, r.expected, r.found) for r in (header, *rows)]
    # by terminal columns: the headers may be Chinese, two columns a character
    widths = [max(text_width(c[i]) for c in cells) for i in range(2)]
    return "\n".join(f"{pad(a, widths[0])}  {pad(b, widths[1])}  {c}".rstrip()
                      for a, b, c in cells)


@dataclass(frozen=True)
class Imported:
    """A network read from a file: its weights (the app's layout), the class names if
    the file has them, the dataset it says it was trained on, and notes the user should
    read (e.g. a softmax that was dropped)."""

    spec: NetworkSpec
    weights: Weights
    source: str
    class_names: tuple[str, ...] | None = None
    dataset: str | None = None
    notes: tuple[str, ...] = ()


@dataclass
class Draft:
    """What a reader has found so far: the layers in order, their weights by app name
    (`conv1/kernel`), notes, and rows of problems."""

    source: str
    input_shape: tuple[int, ...] | None = None
    layers: list[Layer] = field(default_factory=list)
    weights: dict[str, np.ndarray] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)  # said once, below the table
    incomplete: bool = False  # a part of the network could not be read

    def problem(self, where: str, expected: str, found: str, hint: str | None = None) -> None:
        """A part of the network that does not fit the app's layers."""
        self.rows.append(Row(where, expected, found))
        self.incomplete = True
        if hint and hint not in self.hints:
            self.hints.append(hint)

    def weight_problem(self, where: str, expected: str, found: str) -> None:
        """Weights that do not fit a network read completely."""
        self.rows.append(Row(where, expected, found))

    def add(self, layer: Layer, **params: np.ndarray) -> str:
        """Append a layer and its weights; returns the app's name for it (`conv2`)."""
        self.layers.append(layer)
        name = layer_names(self.layers)[-1]
        self.weights.update({f"{name}/{key}": value for key, value in params.items()})
        return name


def weight_rows(spec: NetworkSpec, flat: dict[str, np.ndarray]) -> list[Row]:
    """Every weight that is missing, extra, of the wrong shape, not floating-point, or
    not finite, for a network core has found valid."""
    rows, expected = [], set()
    for info in spec.check().layers:
        for key, shape in layer_param_shapes(info.layer, info.in_shape).items():
            name = f"{info.name}/{key}"
            expected.add(name)
            where = f"{info.name} {key}"
            if name not in flat:
                rows.append(Row(where, fmt_shape(shape), tr("missing")))
                continue
            value = flat[name]
            if value.shape != shape:
                rows.append(Row(where, fmt_shape(shape), fmt_shape(value.shape)))
            elif not np.issubdtype(value.dtype, np.floating):
                rows.append(Row(where, tr("floating-point numbers"), str(value.dtype)))
            elif not np.all(np.isfinite(value)):
                rows.append(Row(where, tr("finite numbers"), tr("NaN or infinite values")))
    rows += [Row(name.replace("/", " "), tr("no such weights"), tr("extra weights"))
             for name in sorted(set(flat) - expected)]
    return rows


def finish(draft: Draft, *, class_names: tuple[str, ...] | None = None,
           dataset: str | None = None) -> Imported:
    """The import, once core accepts the network and every weight fits it; otherwise
    MismatchError with all problems."""
    rows = list(draft.rows)
    if draft.input_shape is None:
        rows.append(Row(tr("input"), tr("an image shape (H, W, C)"), tr("none found")))
    elif not draft.incomplete:  # else what follows would be the consequences
        spec = NetworkSpec(tuple(draft.input_shape), tuple(draft.layers))
        analysis = spec.analyze()
        if analysis.ok:
            rows += weight_rows(spec, draft.weights)
        else:
            rows += [Row(p.name, tr("a layer that fits its input"), p.message)
                     for p in analysis.errors]
    if rows:
        raise MismatchError(draft.source, rows, tuple(draft.hints))
    if class_names is not None and len(class_names) != analysis.output_shape[0]:
        draft.notes.append(tr("the file names {names} classes but the network has {count} "
                              "outputs; class names dropped", names=len(class_names),
                              count=analysis.output_shape[0]))
        class_names = None
    return Imported(spec, from_flat_names(spec, draft.weights), draft.source, class_names,
                    dataset, tuple(draft.notes))
