"""`explain`: the arithmetic of one number of a trained network, headless, for teachers'
notes and for scripts. It prints what the Step through view shows for the same image,
layer and position: the same core.arithmetic numbers in the same core.formulas lines,
and with `--json` one object holding every operand and the engine's own value."""

from __future__ import annotations

import argparse
import json

import numpy as np

from cnnviz.cli.common import CliError, Parents, load_data
from cnnviz.core import arithmetic as ar
from cnnviz.core import formulas
from cnnviz.core.columns import pad, text_width
from cnnviz.core.glossary import FirstMention
from cnnviz.core.i18n import marked, tr, translate
from cnnviz.core.inspection import Inspection, PositionError
from cnnviz.core.layers import Conv2D, Dense
from cnnviz.core.optimizer_leaves import OptimizerStateError
from cnnviz.data.class_names import shown_class_names
from cnnviz.io.project import load_project

SOFTMAX = ("softmax", "loss")  # --layer names of the last step


def _ints(text: str, what: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise CliError(tr("{what} must be whole numbers separated by commas, got {text!r}",
                          what=what, text=text)) from None


def _inspection(args: argparse.Namespace):
    """(the inspection of image --image, the dataset) for the project's weights."""
    from cnnviz.engine.inspect import Inspector, fresh_optimizer, optimizer_numbers
    from cnnviz.engine.trainer import initial_params

    project = load_project(args.file)
    config = project.config
    dataset = load_data(args, project.dataset, config.seed, config.validation_fraction)
    spec = project.spec
    if tuple(spec.input_shape) != dataset.input_shape:
        raise CliError(tr("the network takes {shape} images but {name} has {data}",
                          shape=spec.input_shape, name=dataset.name, data=dataset.input_shape))
    spec.check(dataset.num_classes)
    # the split's name stays English in --json and is shown translated
    x, y, split = ((dataset.x_test, dataset.y_test, marked("test")) if len(dataset.x_test)
                   else (dataset.x_val, dataset.y_val, marked("validation")))
    if not 0 <= args.image < len(x):
        raise CliError(tr("there is no {split} image {n}; {name} has {count} (0-{last})",
                          split=translate(split), n=args.image, name=dataset.name, count=len(x),
                          last=len(x) - 1))
    weights = project.weights
    if weights is None:
        weights = initial_params(spec, config.seed)
    kept = _run_state(project, weights)
    state = optimizer_numbers(config.optimizer, kept if kept is not None else fresh_optimizer(
        config.optimizer, config.learning_rate, weights), fresh=kept is None)
    inspection = Inspector(spec).inspect(weights, x[args.image:args.image + 1],
                                         y[args.image:args.image + 1], project.history.steps,
                                         state)
    return inspection, dataset, split, project.weights is None


def _run_state(project, weights):
    """The optimizer state the project's run left, to show its next update; None (a fresh
    state) when the file keeps none or one that does not fit the run."""
    from cnnviz.engine.resume import checked_state, run_state
    from cnnviz.engine.steps import config_optimizer

    if project.optimizer_state is None or project.weights is None:
        return None
    config, spec = project.config, project.spec
    try:
        state = run_state(config, spec, weights, project.history.steps,
                          project.optimizer_state)
        return checked_state(config_optimizer(config, spec), weights, state)
    except OptimizerStateError:
        return None


def _position(args: argparse.Namespace, ins: Inspection, index: int) -> tuple[int, ...]:
    name = ins.names[index]
    if ins.post[index].ndim == 4:
        if args.pixel is None:
            raise CliError(tr("{name} gives maps: choose a pixel with --pixel ROW,COL,CHANNEL",
                              name=name))
        return _ints(args.pixel, "--pixel")
    if args.unit is None:
        raise CliError(tr("{name} gives a vector: choose an element with --unit N", name=name))
    return (args.unit,)


def cmd_explain(args: argparse.Namespace) -> int:
    inspection, dataset, split, untrained = _inspection(args)
    shown = shown_class_names(dataset.class_names)  # the JSON keeps the English names
    try:
        # one text: each term in both languages the first time it is named
        event, lines = _explain(args, inspection, shown, FirstMention())
    except PositionError as exc:
        raise CliError(str(exc)) from None
    label = int(inspection.labels[0])
    head = {"event": "explain", "file": args.file, "image": args.image, "split": split,
            "label": label, "class": dataset.class_names[label], "step": inspection.step,
            "untrained": untrained}
    if args.json:
        print(json.dumps(head | event), flush=True)
        return 0
    print(tr("{split} image {n} (true class {name}), weights after step {step}{untrained}",
             split=translate(split), n=args.image, name=shown[label],
             step=inspection.step,
             untrained=tr(" (untrained: the project holds no weights)") if untrained else ""))
    print("\n".join(lines))
    return 0


def _explain(args: argparse.Namespace, ins: Inspection, names: tuple[str, ...],
             mention: FirstMention) -> tuple[dict, list[str]]:
    """(the JSON fields, the text lines) of --layer at its position, and --backward's."""
    if args.layer in SOFTMAX:
        s = ins.softmax()
        event = {"layer": "softmax", "logits": s.logits, "shift": s.shift, "exps": s.exps,
                 "sum": s.total, "probabilities": s.probabilities, "loss": s.loss,
                 "engine_probabilities": ins.probabilities[0], "engine_loss": ins.loss}
        lines = formulas.softmax_lines(s, names, mention)
        if args.backward:
            g = ins.logit_gradient()[0]
            event["backward"] = {"dL_dlogits": g, "engine_dL_dlogits": ins.grad_post[-1][0]}
            lines.append("dL/dlogits = p - onehot = " + ", ".join(formulas.plain(v) for v in g))
        return _plain(event), lines
    index = ins.index(args.layer)
    layer = ins.spec.layers[index]
    position = _position(args, ins, index)
    close_up = ins.close_up(index, position)
    event, lines = _forward(close_up, layer, ins, index, position, mention)
    event |= {"layer": args.layer, "kind": layer.kind, "position": position,
              "engine_value": ins.value(index, position)}
    lines.append(tr("the engine's value at {layer}({position}): {value}", layer=args.layer,
                    position=", ".join(map(str, position)),
                    value=formulas.plain(ins.value(index, position))))
    if args.backward:
        more, text = _backward(args, ins, index, position, close_up, mention)
        event["backward"] = more
        lines += text
    return _plain(event), lines


def _forward(o, layer, ins: Inspection, index: int, position, mention: FirstMention
             ) -> tuple[dict, list[str]]:
    if isinstance(o, ar.ConvOutput):
        event = {"patch": o.patch.values, "padding": o.patch.padded,
                 "patch_origin": (o.patch.top, o.patch.left), "kernel": o.kernel,
                 "products": o.products, "channel_sums": o.channel_sums, "sum": o.total,
                 "bias": o.bias, "pre_activation": o.pre_activation,
                 "activation": o.activation, "result": o.value,
                 "engine_pre_activation": float(ins.pre[index][(0, *position)])}
        grids = [_grid(tr("input patch"), o.patch.values), _grid(tr("kernel"), o.kernel),
                 _grid(tr("products"), o.products)]
        return event, [*_side_by_side(grids),
                       *formulas.conv_lines(o, position[0], position[1], layer.stride,
                                           mention)]
    if isinstance(o, ar.PoolWindow):
        event = {"window": o.values, "window_origin": (o.top, o.left), "pooling": o.kind,
                 "sum": o.total, "result": o.value, "gradient_goes_to": o.source}
        return event, formulas.pool_lines(o, mention)
    if isinstance(o, ar.FlatElement):
        return ({"source": o.source, "result": o.value},
                formulas.flat_lines(o, ins.layer_input(index).shape[1:]))
    if isinstance(o, ar.DenseUnit):
        s = o.contributions
        event = {"inputs": o.inputs, "weights": o.weights, "products": s.terms,
                 "largest": s.top, "others": s.others, "sum": s.total, "bias": o.bias,
                 "pre_activation": o.pre_activation, "activation": o.activation,
                 "result": o.value,
                 "engine_pre_activation": float(ins.pre[index][(0, *position)])}
        return event, formulas.dense_lines(o, position[0])
    return ({"result": ins.value(index, position)},
            [tr("dropout passes its input on unchanged at evaluation; it drops values only "
                "while training")])


def _backward(args, ins: Inspection, index: int, position, close_up, mention: FirstMention
              ) -> tuple[dict, list[str]]:
    layer = ins.spec.layers[index]
    at = (0, *position)
    g_out, g_pre = float(ins.grad_post[index][at]), float(ins.grad_pre[index][at])
    event = {"dL_dlogits": ins.logit_gradient()[0],
             "output_gradient": g_out, "pre_activation_gradient": g_pre}
    lines = ["", tr("backward, for this image's loss:"),
             "dL/dlogits = p - onehot = " + ", ".join(
                 formulas.plain(v) for v in event["dL_dlogits"]),
             tr("dL/d {layer}({position}) = {g}", layer=args.layer,
                position=", ".join(map(str, position)), g=formulas.plain(g_out))]
    if isinstance(layer, Conv2D | Dense):
        slope = float(ar.activation_slope(layer.activation, ins.pre[index][at]))
        lines.append(formulas.through_activation_line(layer.activation, g_out, slope))
        event["activation_slope"] = slope
        if isinstance(layer, Conv2D):
            weight = _ints(args.weight, "--weight") if args.weight else (0, 0, 0)
            element = (*weight, position[2])
            symbol, of = f"k({', '.join(map(str, element))})", tr("the input it multiplied")
        else:
            j = _ints(args.weight, "--weight")[0] if args.weight else int(
                close_up.contributions.top[0])
            element, symbol, of = (j, position[0]), f"w({j}, {position[0]})", f"x({j})"
        gradient = ins.weight_gradient(index, "kernel", element)
        update = ins.update(index, "kernel", element)
        event |= {"weight": {"index": element, "value": float(ins.params[index]["kernel"][element]),
                             "gradient_terms": gradient.terms.terms[gradient.terms.top],
                             "gradient": gradient.total,
                             "engine_gradient": float(ins.param_grads[index]["kernel"][element])},
                  "update": {"optimizer": update.optimizer, "before": update.before,
                             **update.quantities, "new_weight": update.new_weight,
                             "fresh_state": ins.optimizer.fresh}}
        lines += formulas.gradient_lines(gradient, symbol, of, 1, mention)
        lines.append(tr("the engine's dL/d{w}: {g}", w=symbol, g=formulas.plain(
            event["weight"]["engine_gradient"])))
        lines.append(tr("the update (the first step's, from a fresh optimizer state):")
                     if ins.optimizer.fresh else
                     tr("the update (the next step's, from the optimizer state the run left "
                        "after step {n}, at the learning rate of that step):", n=ins.step))
        lines += formulas.update_lines(update, ins.optimizer.settings, mention)
    elif isinstance(close_up, ar.PoolWindow) and close_up.source is not None:
        lines.append(tr("all of it goes back to input ({r}, {c}), the window's first maximum",
                        r=close_up.source[0], c=close_up.source[1]))
    return event, lines


def _grid(title: str, values: np.ndarray) -> list[str]:
    """A (K, K, C) block as text, one K x K table per channel, under a title."""
    rows = [title]
    for c in range(values.shape[2]):
        if values.shape[2] > 1:
            rows.append(tr("channel {c}", c=c))
        rows += ["  ".join(f"{v:>8.4g}" for v in values[r, :, c]) for r in range(len(values))]
    return rows


def _side_by_side(blocks: list[list[str]]) -> list[str]:
    # by terminal columns: a Chinese title takes two a character
    width = [max(text_width(line) for line in block) for block in blocks]
    return ["    ".join(pad(block[i] if i < len(block) else "", w)
                        for block, w in zip(blocks, width, strict=True)).rstrip()
            for i in range(max(map(len, blocks)))]


def _plain(value):
    """JSON-ready: arrays as nested lists, numpy numbers as Python's."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def register(sub: argparse._SubParsersAction, parents: Parents) -> None:
    p = sub.add_parser("explain", parents=[parents.json, parents.data],
                       help=tr("the arithmetic of one output of a trained network"))
    p.add_argument("file", help=tr("a .cnnviz project"))
    p.add_argument("--image", type=int, default=0,
                   help=tr("which test image (the validation image where there is no test "
                           "split)"))
    p.add_argument("--layer", required=True,
                   help=tr("a layer name (conv1, maxpool1, dense2, ...) or softmax"))
    p.add_argument("--pixel", help=tr("ROW,COL,CHANNEL of a conv or pool layer's output"))
    p.add_argument("--unit", type=int, help=tr("the unit of a dense layer (the element of "
                                               "flatten, the channel of globalavgpool)"))
    p.add_argument("--backward", action="store_true",
                   help=tr("also the gradient flowing back, a weight's gradient and its "
                           "update"))
    p.add_argument("--weight", help=tr("the weight for --backward: X,Y,C of the pixel's "
                                       "filter (conv; default 0,0,0) or the input J (dense; "
                                       "default the largest term)"))
    p.set_defaults(func=cmd_explain)
