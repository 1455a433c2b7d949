"""The fixed vocabulary lesson files are written in, and how each word's value is checked.

A lesson step names what it sets up and what it checks with these words only, so a new
lesson needs no code; the window implements every word (cnnviz.qt.lesson_host) and a
test holds the two lists equal. Each `Term` has the check of its value (which returns
the value as the window takes it, or raises Invalid) and its documentation, which
`cnnviz/assets/lessons/README.md` repeats.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields

from cnnviz.core.config import ConfigError, TrainConfig
from cnnviz.core.i18n import Message
from cnnviz.core.json_text import brief
from cnnviz.core.layers import LAYER_TYPES, Layer, LayerFormatError, layer_from_dict
from cnnviz.core.presets import PRESETS
from cnnviz.core.shapes import MAX_INT


class Invalid(ValueError):
    """A value a word does not take, and why (a Message)."""


Validate = Callable[[object], object]


@dataclass(frozen=True)
class Term:
    name: str
    validate: Validate
    doc: str  # for the lesson writer (the README of the lessons), in English


# -- value checks -------------------------------------------------------------------------------
def _expected(what: Message, value: object) -> Invalid:
    return Invalid(Message("expected {what}, got {value}", what=what, value=brief(value)))


def flag(value: object) -> bool:
    if value is not True:
        raise _expected(Message("true"), value)
    return True


def whole(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_INT:
        raise _expected(Message("a whole number from 1 to {most:,}", most=MAX_INT), value)
    return value


def count(value: object) -> int:
    """A whole number from 0 (e.g. images per class, 0 meaning all)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_INT:
        raise _expected(Message("a whole number from 0 to {most:,}", most=MAX_INT), value)
    return value


def percent(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 99:
        raise _expected(Message("a whole percentage from 0 to 99"), value)
    return value


def name(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _expected(Message("a name"), value)
    return value


def one_of(choices: tuple[str, ...] | list[str]) -> Validate:
    def validate(value: object) -> str:
        if value not in choices:
            raise _expected(Message("one of {choices}", choices=", ".join(choices)), value)
        return value
    return validate


def names(value: object) -> tuple[str, ...]:
    """One name or a list of them (e.g. datasets in order of preference)."""
    items = value if isinstance(value, list) else [value]
    if not items:
        raise _expected(Message("a name or a list of names"), value)
    return tuple(name(v) for v in items)


def shape(value: object) -> tuple[int, ...]:
    if not isinstance(value, list) or not 1 <= len(value) <= 3:
        raise _expected(Message("a shape: a list of 1 to 3 whole numbers"), value)
    return tuple(whole(v) for v in value)


def layer_kinds(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise _expected(Message("a list of layer types"), value)
    return tuple(one_of(tuple(LAYER_TYPES))(v) for v in value)


def layer(value: object) -> Layer:
    try:
        return layer_from_dict(value)
    except LayerFormatError as exc:
        raise Invalid(exc.args[0]) from None


def layers(value: object) -> tuple[Layer, ...]:
    if not isinstance(value, list) or not value:
        raise _expected(Message("a list of layers"), value)
    return tuple(layer(v) for v in value)


def _table(value: object) -> dict:
    if not isinstance(value, dict):
        raise _expected(Message("a table"), value)
    return value


def config(value: object) -> dict[str, object]:
    """Training settings by TrainConfig's field names, each as TrainConfig takes it."""
    table = _table(value)
    known = [f.name for f in fields(TrainConfig)]
    for key in table:
        if key not in known:
            raise Invalid(Message("unknown setting {key} (known: {known})", key=key,
                                  known=", ".join(known)))
    try:
        checked = TrainConfig(**table)
    except (ConfigError, TypeError) as exc:
        raise Invalid(str(exc)) from None
    return {key: getattr(checked, key) for key in table}


LAYER_FIELDS = sorted({f.name for t in LAYER_TYPES.values() for f in fields(t)})


def layer_change(value: object) -> tuple[str, dict[str, object]]:
    """{layer = "conv1", kernel_size = 5}: the layer, and the fields to set."""
    table = dict(_table(value))
    target = name(table.pop("layer", None))
    for key, v in table.items():
        one_of(LAYER_FIELDS)(key)
        if not isinstance(v, int | float | str) or isinstance(v, bool):
            raise _expected(Message("a number or a name for {field}", field=key), v)
    if not table:
        raise Invalid(Message("no field to change"))
    return target, table


def new_layer(value: object) -> tuple[str, Layer]:
    """{after = "conv1", type = "maxpool2d", pool_size = 2} ("input": at the start)."""
    table = dict(_table(value))
    after = name(table.pop("after", None))
    return after, layer(table)


FINE_TUNE_SETTINGS = ("learning_rate", "batch_size", "epochs")


def fine_tuning(value: object) -> tuple[str, int, int | None, dict[str, object]]:
    """{dataset = "outlines", per_class = 10, frozen = 3, learning_rate = 0.01}: the
    data, its images per class (0: all), the layers with weights kept frozen (left out:
    all but the head), and training settings."""
    table = dict(_table(value))
    dataset = name(table.pop("dataset", None))
    per_class = count(table.pop("per_class", 0))
    frozen = table.pop("frozen", None)
    if frozen is not None:
        count(frozen)
    unknown = set(table) - set(FINE_TUNE_SETTINGS)
    if unknown:
        raise Invalid(Message("unknown setting {key} (known: {known})", key=sorted(unknown)[0],
                              known=", ".join(("dataset", "per_class", "frozen",
                                               *FINE_TUNE_SETTINGS))))
    return dataset, per_class, frozen, config(table) if table else {}


def stage(value: object) -> tuple[str, tuple[int, ...]]:
    """{layer = "conv1", row = 3, column = 5, channel = 0} (a pixel of that layer's output,
    counted from 0; the channel may be left out) or {layer = "softmax" / "backward"}."""
    table = dict(_table(value))
    where = name(table.pop("layer", None))
    if set(table) - {"row", "column", "channel"} or ("row" in table) != ("column" in table):
        raise _expected(Message("a table with layer, and row and column (channel if you "
                                "like)"), value)
    for v in table.values():
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= MAX_INT:
            raise _expected(Message("a whole number from 0"), v)
    position = tuple(table[k] for k in ("row", "column", "channel") if k in table)
    return where, position


def output_shape(value: object) -> tuple[str, tuple[int, ...]]:
    table = _table(value)
    if set(table) != {"layer", "shape"}:
        raise _expected(Message("a table with layer and shape"), value)
    return name(table["layer"]), shape(table["shape"])


# -- the words -------------------------------------------------------------------------------------
VIEWS = ("network", "training", "curves", "feature-maps", "filters", "replay", "weights",
         "predictions", "confusion", "draw", "step-through", "compression", "runs")
TARGETS = (*VIEWS, "layer-palette", "layer-list", "layer-editor", "dataset", "per-class",
           "optimizer",
           "learning-rate", "batch-size", "epochs", "augment", "start", "step", "stop",
           "reset-weights", "progress", "sparsity", "prune", "quantize")
# Features a lesson or step may need, and how the learner is told of one; the window
# says which it has (a lesson needing one it lacks is listed as coming, a step is shown
# as coming and passed over).
FEATURES = {
    "step-through": Message("the step-through view"),
    "export": Message("exporting a trained network"),
    "compression": Message("pruning and quantization"),
    "freezing": Message("freezing layers"),
    "weight-decay": Message("weight decay"),
    "early-stopping": Message("early stopping"),
}

# What a step sets up when the learner reaches it, and what "Show me" does: applied in
# this order (a run stopped before anything changes, the data before the network that
# is sized to it, a new run last).
ACTIONS = (
    Term("stop_training", flag, "stop a run in progress, its weights kept (true)"),
    Term("dataset", names, "the dataset by name; a list: the first that needs no download"),
    Term("per_class", count, "train on this many images of each class (0: all of them)"),
    Term("preset", one_of(tuple(PRESETS)), "a preset network with its settings, as the "
         "Network > Presets menu applies it"),
    Term("config", config, "training settings (after a preset's, so they win), e.g. "
         "{learning_rate = 0.003, epochs = 2}"),
    Term("network", layers, "the layers, each a table as in a network file: "
         "{type = \"conv2d\", filters = 4, kernel_size = 3}"),
    Term("remove_layer", name, "the layer named, e.g. \"dropout1\""),
    Term("add_layer", new_layer, "a layer put after the one named in `after` (\"input\": "
         "first), e.g. {after = \"conv1\", type = \"maxpool2d\", pool_size = 2}"),
    Term("edit_layer", layer_change, "fields of the layer named in `layer`, e.g. "
         "{layer = \"conv1\", kernel_size = 5}"),
    Term("select_layer", name, "the layer selected in the network's list (its editor shows)"),
    Term("fine_tune", fine_tuning, "as Train > Fine-tune... does with the trained weights: "
         "{dataset = \"outlines\", per_class = 10, frozen = 3, learning_rate = 0.01, "
         "epochs = 30, batch_size = 16} (frozen left out: all but the head; a new head when "
         "the classes differ)"),
    Term("view", one_of(VIEWS), "the view brought to the front"),
    Term("highlight", one_of(TARGETS), "the part of the window framed for the learner "
         "(until the next step)"),
    Term("reset_weights", flag, "fresh weights and empty curves, a run in progress stopped "
         "first (true)"),
    Term("show_runs", whole, "the last so many runs kept shown together (curves overlaid, "
         "figures side by side), the oldest first"),
    Term("start_training", flag, "press Start (true)"),
    Term("step", whole, "press Step that many times: one batch each"),
    Term("step_through", stage, "shows a stage in the Step through view, as a feature "
         "map's right-click does: {layer = \"conv1\", row = 3, column = 5} or "
         "{layer = \"backward\"}"),
    Term("sparsity", percent, "the Compress workspace's sparsity slider, in %"),
    Term("prune", flag, "press Prune and fine-tune in the Compress workspace (true)"),
    Term("quantize", flag, "press Quantize in the Compress workspace (true)"),
)

# What a step checks; the step turns green when all its checks hold.
CHECKS = (
    Term("network_valid", flag, "the network has no error (true)"),
    Term("layer_output_shape", output_shape, "the named layer's output has this shape; a "
         "shorter shape compares the first dimensions only: "
         "{layer = \"conv1\", shape = [30, 30]}"),
    Term("layer_kinds", layer_kinds, "the network's layers are of these types, in order"),
    Term("has_layer", one_of(tuple(LAYER_TYPES)), "some layer is of this type"),
    Term("dataset", name, "this dataset is chosen and loaded"),
    Term("per_class", count, "the data is this many images of each class (0: all of them)"),
    Term("config", config, "these training settings are chosen (augment: at least these)"),
    Term("training_started", flag, "a run has trained at least one batch, or is running"),
    Term("steps_trained", whole, "at least this many batches trained (since the last reset)"),
    Term("epochs_trained", whole, "at least this many epochs trained"),
    Term("frozen_layers", count, "at least this many layers of the network are frozen"),
    Term("runs_kept", whole, "the project keeps at least this many runs"),
    Term("runs_shown", whole, "at least this many runs are shown together"),
    Term("view_shown", one_of(VIEWS), "this view is visible"),
    Term("stepped_through", stage, "the Step through view shows this stage (and, given "
         "row and column, that pixel of the layer's output)"),
    Term("pruned", percent, "the Compress workspace's result is a network pruned to at "
         "least this sparsity, in %"),
    Term("quantized", flag, "the Compress workspace's result is a quantized network"),
)

# The learner's own numbers a step's text may quote: {name}, or {name[layer]} per layer.
QUOTES = {
    "input": "the network's input shape, e.g. 32x32x1",
    "output": "the last layer's output shape",
    "layers": "how many layers the network has",
    "total_params": "the network's parameters",
    "dataset": "the chosen dataset's name",
    "classes": "how many classes it has (the loaded dataset's)",
    "optimizer": "the chosen optimizer",
    "learning_rate": "the chosen learning rate",
    "batch_size": "the chosen batch size",
    "steps": "batches trained so far",
    "epochs": "epochs trained so far",
    "loss": "the last batch's loss",
    "accuracy": "the last batch's accuracy, in %",
    "val_accuracy": "the last epoch's validation accuracy, in %",
}
LAYER_QUOTES = {
    "shape": "the layer's output shape, e.g. {shape[conv1]}",
    "in_shape": "the shape the layer receives",
    "params": "the layer's parameters",
    "kernel": "a conv or pooling layer's kernel (pool) size",
    "filters": "a conv layer's filters",
}
