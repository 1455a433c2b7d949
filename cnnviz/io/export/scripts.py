"""`model_pytorch.py`, `model_keras.py`, `model_jax.py`: standalone scripts that rebuild
the network in another framework, load weights.npz, and check themselves against the
app's logits on samples.npz.

Each framework has a script template (`model_NAME.py.txt`) and a snippet table
(`NAME.toml`) with the lines that one layer type takes; this module picks the snippets
for each layer and fills in the layer's numbers. A new layer type is a new table entry
per framework (and a new value here if it needs one).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from cnnviz.core.layers import BatchNorm, Conv2D, Dense
from cnnviz.core.network import LayerInfo, NetworkSpec
from cnnviz.core.shapes import Shape, pool_stride
from cnnviz.core.summary import describe_layer
from cnnviz.io.export.layout import conv_pads, flattened_images
from cnnviz.io.export.manifest import TOLERANCE
from cnnviz.io.export.templates import fill, read_snippets, read_template


@dataclass(frozen=True)
class Framework:
    """A script: its file name, the framework's name, and its template's blocks, each
    filled layer by layer from the snippet field of the same name."""

    name: str
    file: str
    title: str
    blocks: tuple[str, ...]


FRAMEWORKS = {f.name: f for f in (
    Framework("pytorch", "model_pytorch.py", "PyTorch", ("init", "forward", "load")),
    Framework("keras", "model_keras.py", "Keras 3", ("layers", "load")),
    Framework("jax", "model_jax.py", "JAX", ("forward",)),
)}


def _tuple_text(shape: Shape) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _chw(shape: Shape) -> Shape:
    return (shape[2], shape[0], shape[1]) if len(shape) == 3 else shape


def layer_values(info: LayerInfo, flat_image: Shape | None,
                 activation_names: dict[str, str]) -> dict[str, object]:
    """Every number and name a snippet may use for this layer."""
    layer = info.layer
    (top, bottom), (left, right) = conv_pads(layer, info.in_shape)
    values: dict[str, object] = {
        **asdict(layer), "name": info.name, "description": describe_layer(layer),
        "in_hwc": _tuple_text(info.in_shape), "out_hwc": _tuple_text(info.out_shape),
        "in_chw": _tuple_text(_chw(info.in_shape)), "out_chw": _tuple_text(_chw(info.out_shape)),
        "in_channels": info.in_shape[-1], "in_features": info.in_shape[0],
        "pad_top": top, "pad_bottom": bottom, "pad_left": left, "pad_right": right,
    }
    if hasattr(layer, "pool_size"):
        values["pool_stride"] = pool_stride(layer)
    if hasattr(layer, "activation"):
        values["activation_name"] = activation_names.get(layer.activation, "")
    if isinstance(layer, BatchNorm):  # PyTorch's momentum weighs the batch, Keras' the average
        values["batch_momentum"] = round(1 - layer.momentum, 12)
    if flat_image is not None:
        values["flat_h"], values["flat_w"], values["flat_c"] = flat_image
    return values


def _snippet_key(info: LayerInfo, flat_image: Shape | None, table: dict) -> str:
    """The table entry for this layer: the first variant the layer needs that the
    framework has (a padded conv, the layer after a Flatten, a BatchNorm of a vector or
    with an activation), else its kind."""
    layer, kind = info.layer, info.layer.kind
    variants = []
    if isinstance(layer, Conv2D) and any(sum(conv_pads(layer, info.in_shape), ())):
        variants.append("padded")
    if isinstance(layer, Dense | BatchNorm) and flat_image is not None:
        variants.append("after_flatten")
    if isinstance(layer, BatchNorm) and len(info.in_shape) == 1:
        variants.append("vector")
    if isinstance(layer, BatchNorm) and layer.activation != "none":
        variants.append("activated")
    return next((f"{kind}_{v}" for v in variants if f"{kind}_{v}" in table), kind)


def script_text(framework: Framework, spec: NetworkSpec, model_name: str, title: str,
                cnnviz_version: str) -> str:
    table = read_snippets(f"{framework.name}.toml")
    analysis = spec.check()
    flat_images = flattened_images(analysis)
    blocks: dict[str, list[str]] = {block: [] for block in framework.blocks}
    for info in analysis.layers:
        flat_image = flat_images.get(info.index)
        values = layer_values(info, flat_image, table.get("activation_names", {}))
        snippet = table[_snippet_key(info, flat_image, table)]
        for block in framework.blocks:
            if snippet.get(block):
                blocks[block] += snippet[block].format(**values).splitlines()
        line = table.get("activation_lines", {}).get(getattr(info.layer, "activation", ""))
        if line:
            blocks["forward"].append(line.format(**values))
    for block, lines in blocks.items():
        if not lines:
            blocks[block] = ["pass"]
    values = {"title": title, "cnnviz_version": cnnviz_version, "tolerance": repr(TOLERANCE),
              "input_shape": _tuple_text(spec.input_shape),
              "model_name": re.sub(r"\W", "_", model_name)}
    common = read_template("script_common.py.txt").split("\n\n", 1)[1]  # less its header
    blocks["common"] = common.rstrip("\n").splitlines()
    return fill(read_template(f"model_{framework.name}.py.txt"), values, blocks)
