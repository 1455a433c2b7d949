"""Keras files, read as data with h5py and json (never by running Keras or unpickling):

- `.keras` (Keras 3): a zip of `config.json` (the model) and `model.weights.h5`, whose
  groups `layers/<key>/vars/<i>` hold each layer's arrays;
- `.weights.h5` (Keras 3 `save_weights`): the same groups, for a network given
  separately (the app's, e.g. the one in the builder);
- `.h5` (legacy Keras `model.save`): the model in the `model_config` attribute, each
  layer's arrays under `model_weights/<name>`, in the order of its `weight_names`.
"""

from __future__ import annotations

import io
import json
import zipfile
import zlib
from collections.abc import Callable

import h5py
import numpy as np

from cnnviz.core.i18n import tr
from cnnviz.core.layers import (
    AvgPool2D,
    BatchNorm,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    GlobalAvgPool,
    MaxPool2D,
)
from cnnviz.core.network import NetworkSpec
from cnnviz.io.imports.keras_config import KerasLayer, Vars, convert, model_layers, weight_keys
from cnnviz.io.imports.result import Draft, Imported, ModelImportError, finish

# The Keras class of each app layer: it names the layer's group in a weights file.
KERAS_CLASS = {Conv2D: "Conv2D", Dense: "Dense", MaxPool2D: "MaxPooling2D",
               AvgPool2D: "AveragePooling2D", GlobalAvgPool: "GlobalAveragePooling2D",
               Flatten: "Flatten", Dropout: "Dropout", BatchNorm: "BatchNormalization"}
# The arrays of each layer in a weights file, in Keras' order.
KERAS_ARRAYS = {BatchNorm: ("gamma", "beta", "moving_mean", "moving_variance")}
# what damaged HDF5 or zip data raises from deep inside h5py or zipfile
_DAMAGED = (OSError, KeyError, ValueError, TypeError, RuntimeError, EOFError, zlib.error,
            zipfile.BadZipFile, RecursionError, OverflowError)


def _h5(data: bytes, source: str) -> h5py.File:
    try:
        return h5py.File(io.BytesIO(data), "r")
    except _DAMAGED:
        raise ModelImportError(tr("{source}: not a readable HDF5 file (truncated or "
                                  "corrupt?)", source=source)) from None


def _group_arrays(vars_group: object) -> Vars:
    """The datasets of a `vars` group in their numbered order (0, 1, ...)."""
    if not isinstance(vars_group, h5py.Group) or not len(vars_group):
        return None
    names = sorted(vars_group, key=lambda n: (not n.isdigit(), int(n) if n.isdigit() else n))
    return [np.asarray(vars_group[name][()]) for name in names]


def keras3_arrays(f: h5py.File) -> Callable[[KerasLayer], Vars]:
    def arrays_of(layer: KerasLayer) -> Vars:
        group = f.get(f"layers/{layer.key}")
        return _group_arrays(group.get("vars")) if isinstance(group, h5py.Group) else None
    return arrays_of


def legacy_arrays(f: h5py.File) -> Callable[[KerasLayer], Vars]:
    def arrays_of(layer: KerasLayer) -> Vars:
        group = f.get(f"model_weights/{layer.name}")
        if not isinstance(group, h5py.Group):
            return None
        names = [n.decode() if isinstance(n, bytes) else str(n)
                 for n in group.attrs.get("weight_names", [])]
        return [np.asarray(group[name][()]) for name in names] or None
    return arrays_of


def _parse(text: bytes | str, source: str) -> object:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise ModelImportError(tr("{source}: the model description is not valid JSON",
                                  source=source)) from None


def _read(source: str, what: str, model: object, f: h5py.File,
          arrays_of: Callable[[h5py.File], Callable[[KerasLayer], Vars]]) -> Imported:
    draft = Draft(source)
    try:
        convert(model_layers(model, draft), draft, arrays_of(f))
    except _DAMAGED as exc:
        raise ModelImportError(tr("{source}: damaged weights ({reason})", source=source,
                                  reason=exc)) from None
    draft.notes.insert(0, tr("read from a {what}", what=what))
    return finish(draft)


def read_keras(data: bytes, source: str) -> Imported:
    """A Keras 3 `.keras` file."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            config = zf.read("config.json")
            weights = zf.read("model.weights.h5")
    except KeyError as exc:
        raise ModelImportError(tr("{source}: not a Keras model file (no {member})",
                                  source=source, member=exc.args[0])) from None
    except _DAMAGED:
        raise ModelImportError(tr("{source}: not a Keras model file, or it is truncated "
                                  "(not a readable zip archive)", source=source)) from None
    with _h5(weights, source) as f:
        return _read(source, tr("Keras 3 model file"), _parse(config, source), f, keras3_arrays)


def read_legacy_h5(data: bytes, source: str) -> Imported:
    """A legacy Keras `.h5` model file (model_config + model_weights)."""
    with _h5(data, source) as f:
        try:
            config = f.attrs.get("model_config")
        except _DAMAGED as exc:
            raise ModelImportError(tr("{source}: damaged model description ({reason})",
                                      source=source, reason=exc)) from None
        if config is None:
            raise ModelImportError(tr("{source}: an HDF5 file without a Keras model in it; "
                                      "for a .weights.h5 file give the network too",
                                      source=source))
        return _read(source, tr("legacy Keras HDF5 model file"), _parse(config, source), f,
                     legacy_arrays)


def is_legacy_model(data: bytes) -> bool:
    """Whether an HDF5 file holds a whole legacy Keras model (not only weights)."""
    try:
        with h5py.File(io.BytesIO(data), "r") as f:
            return "model_config" in f.attrs
    except _DAMAGED:
        return False


def read_weights_h5(data: bytes, source: str, spec: NetworkSpec) -> Imported:
    """A Keras 3 `.weights.h5` file for the app network `spec`: the i-th Conv2D takes the
    weights of Keras' i-th Conv2D (group conv2d, conv2d_1, ...), likewise for Dense."""
    layers = [KerasLayer(KERAS_CLASS[type(layer)], name, key, {})
              for layer, name, key in zip(spec.layers, spec.names, weight_keys(
                  [KERAS_CLASS[type(layer)] for layer in spec.layers]), strict=True)]
    draft = Draft(source, spec.input_shape)
    with _h5(data, source) as f:
        try:
            arrays_of = keras3_arrays(f)
            used = set()
            for layer, app_layer in zip(layers, spec.layers, strict=True):
                arrays = arrays_of(layer)
                if arrays is not None:
                    used.add(layer.key)
                names = KERAS_ARRAYS.get(type(app_layer), ("kernel", "bias"))
                if arrays is not None and len(arrays) == 1 and len(names) == 2:
                    # saved with use_bias=False
                    arrays = [arrays[0], np.zeros(arrays[0].shape[-1:], np.float32)]
                    draft.notes.append(tr("{name} has no bias; it gets a bias of zeros, "
                                          "which computes the same", name=layer.name))
                params = dict(zip(names, arrays or (), strict=False))
                draft.add(app_layer, **params)
                if arrays is not None and len(arrays) != len(names):
                    draft.weight_problem(layer.name, ", ".join(names),
                                         tr("{count} arrays", count=len(arrays)))
            group = f.get("layers")
            extra = [key for key, item in (group.items() if isinstance(group, h5py.Group)
                                           else ())
                     if key not in used and isinstance(item, h5py.Group)
                     and _group_arrays(item.get("vars"))]
        except _DAMAGED as exc:
            raise ModelImportError(tr("{source}: damaged weights ({reason})", source=source,
                                      reason=exc)) from None
    for key in extra:
        draft.weight_problem(key, tr("no such layer in the network"), tr("extra weights"))
    draft.notes.append(tr("read from a Keras 3 weights file"))
    return finish(draft)
