"""`manifest.json`: what an export holds and how to use it, for people and programs.

It names the classes, the input (shape, layout, the normalisation to apply to 0-255
pixels), the network (the app's own description, and each layer with its shapes and its
arrays), the training it had, the versions that made it, and the files written. The
same JSON goes into the safetensors file's metadata and the ONNX model's metadata.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import numpy as np

from cnnviz.core.compression_record import QuantizeStep
from cnnviz.core.history import History
from cnnviz.core.network import NetworkSpec
from cnnviz.core.shapes import layer_param_shapes
from cnnviz.core.summary import describe_layer
from cnnviz.io.export.layout import file_key
from cnnviz.io.weights import Weights

FORMAT = "cnnviz-export"
FORMAT_VERSION = 1
SCALE = 1.0 / 255.0  # engine.model.to_float: uint8 pixels * (1 / 255), floats as they are
TOLERANCE = 1e-4  # how far a peer's logits may be from the app's on the stored samples
LAYOUT = ("channels-last: images (N, H, W, C); conv kernels (KH, KW, C_in, C_out) (HWIO); "
          "dense kernels (D_in, units); arrays named LAYER.PARAM, e.g. conv1.kernel")


@dataclass(frozen=True)
class Trained:
    """What an export is made of: a network, its weights and what is known of how they
    were trained. `metrics` are the last epoch's (loss, accuracy, val_loss, ...)."""

    spec: NetworkSpec
    weights: Weights
    class_names: tuple[str, ...]
    dataset: str | None = None
    steps: int = 0
    metrics: dict[str, float | None] = field(default_factory=dict)
    # the int8 quantization the weights are on (io.compression.int8_quantization), if any
    quantization: QuantizeStep | None = None

    @classmethod
    def from_history(cls, spec: NetworkSpec, weights: Weights, class_names: tuple[str, ...],
                     dataset: str | None, history: History,
                     quantization: QuantizeStep | None = None) -> Trained:
        """With the steps taken and the last epoch's metrics from a training history."""
        return cls(spec, weights, class_names, dataset, history.steps,
                   dict(history.epochs[-1]) if history.epochs else {}, quantization)


def default_class_names(count: int) -> tuple[str, ...]:
    return tuple(str(i) for i in range(count))


def _version(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def layer_entries(spec: NetworkSpec) -> list[dict[str, Any]]:
    """Each layer as the app shows it: name, description, shapes and array names."""
    return [{"name": info.name, "type": info.layer.kind,
             "description": describe_layer(info.layer),
             "input_shape": list(info.in_shape), "output_shape": list(info.out_shape),
             "params": info.params,
             "arrays": {param: file_key(info.name, param)
                        for param in layer_param_shapes(info.layer, info.in_shape)}}
            for info in spec.check().layers]


def build_manifest(trained: Trained, formats: list[str], files: list[str],
                   samples: dict[str, Any]) -> dict[str, Any]:
    spec = trained.spec
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "class_names": list(trained.class_names),
        "input": {"shape": list(spec.input_shape), "layout": "NHWC (batch, height, width, "
                  "channels)", "dtype": "float32"},
        "normalization": {"scale": SCALE, "offset": 0.0,
                          "applies_to": "uint8 pixels (0-255); float images are used as "
                                        "they are",
                          "formula": "x = pixels * scale + offset"},
        "output": "logits (N, classes); softmax of them gives the class probabilities",
        "layout": LAYOUT,
        "network": spec.to_dict(),
        "layers": layer_entries(spec),
        "training": {"dataset": trained.dataset, "steps": trained.steps,
                     "metrics": trained.metrics},
        "samples": samples,
        "formats": formats,
        "files": files,
        **({} if trained.quantization is None else {"quantization": {
            "scheme": trained.quantization.scheme,
            "activations": trained.quantization.calibration,
            "keep_float": trained.quantization.keep_float}}),
        "versions": {name: _version(name) for name in ("cnnviz", "numpy", "jax")},
    }


def manifest_json(manifest: dict[str, Any]) -> str:
    return json.dumps(manifest, indent=1, default=_plain)


def _plain(value: object) -> object:
    """numpy scalars in metrics become plain numbers."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON")
