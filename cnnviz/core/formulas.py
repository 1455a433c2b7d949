"""The step-through's formulas with the learner's numbers written into them.

Each function turns a core.arithmetic result (or a layer and its shapes) into the lines
a textbook would print, e.g. `(32 - 3 + 2*0)/1 + 1 = 30`. The window and
`cnnviz explain` print the same lines, so both always say the same. Formulas keep the
textbook's notation in every language; the words around them are translated, and a
technical term they name comes from `mention` (a glossary.FirstMention: pass the one
of the text the lines go into, so that a term is given in both languages only the
first time that text names it; by default each call's lines are a text of their own).
"""

from __future__ import annotations

from cnnviz.core import arithmetic as ar
from cnnviz.core.glossary import FirstMention
from cnnviz.core.i18n import tr
from cnnviz.core.layers import (
    AvgPool2D,
    BatchNorm,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    GlobalAvgPool,
    Layer,
    MaxPool2D,
    pool_stride,
)
from cnnviz.core.shapes import Shape, fmt_shape, same_padding

MAX_TERMS = 10  # terms written out in a sum; the rest are summarised


def num(value: float) -> str:
    """A number as the view writes it: 4 significant digits, negatives in brackets so
    that a product reads `0.5·(-0.25)`."""
    text = f"{float(value):.4g}"
    return f"({text})" if text.startswith("-") else text


def plain(value: float) -> str:
    return f"{float(value):.4g}"


# -- shapes -------------------------------------------------------------------------------


def _axis(size: int, window: int, stride: int, pad: tuple[int, int]) -> str:
    """One axis of the output-size formula, e.g. `(32 - 3 + 2*0)/1 + 1 = 30`."""
    before, after = pad
    padding = f"2·{before}" if before == after else f"{before} + {after}"
    top = size - window + before + after
    out = top // stride + 1
    fraction = f"({size} - {window} + {padding})/{stride}"
    if top % stride:
        fraction = f"⌊{fraction}⌋"
    return f"{fraction} + 1 = {out}"


def size_formula(layer: Layer, in_shape: Shape, out_shape: Shape) -> str:
    """How a layer's output size follows from its input: the textbook formula
    `out = (W - K + 2P)/S + 1` filled in, or what the layer does to the shape."""
    if isinstance(layer, Conv2D | MaxPool2D | AvgPool2D):
        h, w = in_shape[:2]
        if isinstance(layer, Conv2D):
            k, s = layer.kernel_size, layer.stride
            pads = ((same_padding(h, k, s), same_padding(w, k, s)) if layer.padding == "same"
                    else ((0, 0), (0, 0)))
        else:
            k, s, pads = layer.pool_size, pool_stride(layer), ((0, 0), (0, 0))
        rows = _axis(h, k, s, pads[0])
        cols = _axis(w, k, s, pads[1])
        return rows if (h, pads[0]) == (w, pads[1]) else tr(
            "rows {rows}; columns {cols}", rows=rows, cols=cols)
    if isinstance(layer, Flatten):
        return f"{'·'.join(map(str, in_shape))} = {out_shape[0]}"
    if isinstance(layer, GlobalAvgPool):
        return tr("the mean of each {h}x{w} map: {c} values", h=in_shape[0], w=in_shape[1],
                  c=out_shape[0])
    if isinstance(layer, Dense):
        return tr("{d} inputs -> {u} units", d=in_shape[0], u=out_shape[0])
    if isinstance(layer, Dropout):
        return tr("{shape}, unchanged", shape=fmt_shape(in_shape))
    if isinstance(layer, BatchNorm):
        return tr("{shape}, unchanged: each of the {c} channels normalised",
                  shape=fmt_shape(in_shape), c=in_shape[-1])
    return fmt_shape(out_shape)


# -- forward ------------------------------------------------------------------------------


def _sum(terms: list[str], rest: int = 0) -> str:
    shown = terms[:MAX_TERMS]
    more = len(terms) - len(shown) + rest
    return " + ".join(shown) + (tr(" + … ({n} more)", n=more) if more else "")


def activation_line(name: str, pre: float, value: float) -> str:
    if name == "none":
        return tr("no activation: the value is {v}", v=plain(value))
    return f"{name}({plain(pre)}) = {plain(value)}"


def conv_lines(o: ar.ConvOutput, row: int, col: int, stride: int,
               mention: FirstMention | None = None) -> list[str]:
    """The textbook form, then with the numbers: each product when there is one input
    channel, else each channel's sum."""
    term = mention or FirstMention()
    k, _, c = o.kernel.shape
    textbook = ("out(i, j) = Σx Σy in(i + x, j + y) · k(x, y) + b" if c == 1 and stride == 1
                else "out(i, j) = Σx Σy Σc in(i·S + x, j·S + y, c) · k(x, y, c) + b")
    if c == 1:
        terms = [f"{num(o.patch.values[x, y, 0])}·{num(o.kernel[x, y, 0])}"
                 for x in range(k) for y in range(k)]
    else:
        terms = [f"{num(s)}" for s in o.channel_sums]
    lines = [textbook,
             f"out({row}, {col}) = {_sum(terms)} + {num(o.bias)} = {plain(o.total)} + "
             f"{num(o.bias)} = {plain(o.pre_activation)}",
             activation_line(o.activation, o.pre_activation, o.value)]
    if c > 1:
        lines.insert(1, tr("sum of each input {channel}'s {k}x{k} products, channel 0 first",
                           k=k, channel=term("channel")))
    return lines


def pool_lines(w: ar.PoolWindow, mention: FirstMention | None = None) -> list[str]:
    term = mention or FirstMention()
    cells = [plain(v) for v in w.values.ravel()]
    if w.kind == "max":
        r, c = w.source
        return [f"max({', '.join(cells)}) = {plain(w.value)}",
                tr("the {gradient} goes back only to input ({r}, {c}), the first maximum",
                   gradient=term("gradient"), r=r, c=c)]
    return [f"({_sum(cells)}) / {w.values.size} = {plain(w.total)} / {w.values.size} "
            f"= {plain(w.value)}",
            tr("the {gradient} is shared equally: each input gets 1/{n} of it",
               gradient=term("gradient"), n=w.values.size)]


def flat_lines(e: ar.FlatElement, shape: Shape) -> list[str]:
    h, w, c = e.source
    return [tr("n = (row·W + column)·C + channel = ({r}·{width} + {c})·{channels} + {ch} "
               "= {n}", r=h, width=shape[1], c=w, channels=shape[2], ch=c, n=e.index),
            tr("element {n} = input ({r}, {c}, {ch}) = {v}", n=e.index, r=h, c=w, ch=c,
               v=plain(e.value))]


def dense_lines(u: ar.DenseUnit, unit: int) -> list[str]:
    s = u.contributions
    terms = [f"{num(u.weights[j])}·{num(u.inputs[j])}" for j in s.top]
    rest = len(s.terms) - len(s.top)
    others = tr(" + others ({n} terms: {v})", n=rest, v=plain(s.others)) if rest else ""
    return ["unit(i) = Σj w(j, i) · x(j) + b(i)",
            f"unit({unit}) = {' + '.join(terms)}{others} + {num(u.bias)} = "
            f"{plain(s.total)} + {num(u.bias)} = {plain(u.pre_activation)}",
            activation_line(u.activation, u.pre_activation, u.value)]


def batch_norm_lines(b: ar.BatchNormValue, channel: int,
                     mention: FirstMention | None = None) -> list[str]:
    """The formula, then with the numbers of one output (channel `channel`)."""
    term = mention or FirstMention()
    return ["out = (x - mean) / √(var + ε) · γ + β",
            tr("with {channel} {c}'s moving averages: mean {mean}, var {var}, ε {eps}; "
               "γ {gamma}, β {beta}", channel=term("channel"), c=channel, mean=plain(b.mean),
               var=plain(b.variance),
               eps=f"{b.epsilon:g}", gamma=plain(b.gamma), beta=plain(b.beta)),
            f"({plain(b.input)} - {num(b.mean)}) / √({plain(b.variance)} + {b.epsilon:g}) "
            f"· {num(b.gamma)} + {num(b.beta)} = {plain(b.centred)} / {plain(b.deviation)} "
            f"· {num(b.gamma)} + {num(b.beta)} = {plain(b.normalised)} · {num(b.gamma)} + "
            f"{num(b.beta)} = {plain(b.pre_activation)}",
            activation_line(b.activation, b.pre_activation, b.value)]


def softmax_lines(s: ar.SoftmaxLoss, class_names: tuple[str, ...] | None = None,
                  mention: FirstMention | None = None) -> list[str]:
    term = mention or FirstMention()
    name = class_names[s.label] if class_names else str(s.label)
    return ["p(k) = exp(z(k) - m) / Σj exp(z(j) - m),  m = max z = " + plain(s.shift),
            "Σj exp(z(j) - m) = " + _sum([plain(e) for e in s.exps]) + f" = {plain(s.total)}",
            tr("{term} = -log p(true class {name}) = -log {p} = {loss}", term=term("loss"),
               name=name, p=plain(s.probabilities[s.label]), loss=plain(s.loss))]


# -- backward -----------------------------------------------------------------------------


def through_activation_line(activation: str, upstream: float, slope: float) -> str:
    """dL/dz from dL/da: the gradient through the activation function."""
    if activation == "none":
        return tr("no activation: dL/dz = dL/da = {g}", g=plain(upstream))
    return tr("through {f}: dL/dz = dL/da · {f}'(z) = {g}·{s} = {z}", f=activation,
              g=num(upstream), s=plain(slope), z=plain(upstream * slope))


def gradient_lines(g: ar.WeightGradient, symbol: str, of: str, batch: int,
                   mention: FirstMention | None = None) -> list[str]:
    """dL/dw as its sum: `symbol` names the weight, `of` says what each term multiplies."""
    term = mention or FirstMention()
    s = g.terms
    terms = [f"{num(g.upstream[t])}·{num(g.inputs[t])}" for t in s.top]
    rest = len(s.terms) - len(s.top)
    others = tr(" + the other {n} terms ({v})", n=rest, v=plain(s.others)) if rest else ""
    rule = (tr("dL/d{w} = Σ over the {n} images of the {batch} and every position where it "
               "was used: dL/dz · {of}", w=symbol, n=batch, batch=term("batch"), of=of)
            if batch > 1 else
            tr("dL/d{w} = Σ over every position where it was used: dL/dz · {of}", w=symbol,
               of=of))
    return [rule,
            f"dL/d{symbol} = {' + '.join(terms)}{others} = {plain(g.total)}"]


def update_lines(u: ar.OptimizerUpdate, settings: dict[str, float],
                 mention: FirstMention | None = None) -> list[str]:
    """The optimizer's update of one weight, each quantity with its numbers."""
    term = mention or FirstMention()
    w, g, lr, q, b = (plain(u.weight), plain(u.gradient), plain(u.learning_rate),
                      u.quantities, u.before)
    if u.optimizer == "sgd-momentum":
        mu = plain(settings["momentum"])
        lines = [f"t = g + μ·t_prev = {g} + {mu}·{num(b['trace'])} = {plain(q['trace'])}",
                 f"w ← w - lr·t = {w} - {lr}·{num(q['trace'])} = {plain(u.new_weight)}",
                 tr("(with μ = 0 this is plain SGD: w - lr·g)")]
    elif u.optimizer == "adam":
        b1, b2, eps = (plain(settings[k]) for k in ("b1", "b2", "eps"))
        t = int(q["t"])
        lines = [f"t = {t}",
                 f"m = β1·m + (1 - β1)·g = {b1}·{num(b['m'])} + (1 - {b1})·{num(u.gradient)} "
                 f"= {plain(q['m'])}",
                 f"v = β2·v + (1 - β2)·g² = {b2}·{num(b['v'])} + (1 - {b2})·{num(u.gradient)}² "
                 f"= {plain(q['v'])}",
                 f"m̂ = m / (1 - β1^t) = {plain(q['m'])} / (1 - {b1}^{t}) = {plain(q['m_hat'])}",
                 f"v̂ = v / (1 - β2^t) = {plain(q['v'])} / (1 - {b2}^{t}) = {plain(q['v_hat'])}",
                 f"w ← w - lr·m̂ / (√v̂ + ε) = {w} - {lr}·{num(q['m_hat'])} / "
                 f"(√{plain(q['v_hat'])} + {eps}) = {plain(u.new_weight)}"]
    else:
        d, eps = plain(settings["decay"]), plain(settings["eps"])
        lines = [f"ν = ρ·ν + (1 - ρ)·g² = {d}·{num(b['nu'])} + (1 - {d})·{num(u.gradient)}² "
                 f"= {plain(q['nu'])}",
                 f"w ← w - lr·g / √(ν + ε) = {w} - {lr}·{num(u.gradient)} / "
                 f"√({plain(q['nu'])} + {eps}) = {plain(u.new_weight)}"]
    return [tr("{optimizer}, {learning_rate} {lr}, {gradient} g = {g}", optimizer=u.optimizer,
               learning_rate=term("learning rate"), lr=lr, gradient=term("gradient"), g=g),
            *lines,
            tr("change: {step}", step=plain(u.step))]
