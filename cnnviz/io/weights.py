"""Checking that a set of weights fits a network, and naming them by layer."""

from __future__ import annotations

import numpy as np

from cnnviz.core.i18n import Message
from cnnviz.core.network import NetworkSpec
from cnnviz.core.shapes import fmt_shape, layer_param_shapes

Weights = list[dict[str, np.ndarray]]


class WeightsError(ValueError):
    """Weights that do not match the network, with the first mismatch spelled out."""


def flat_names(spec: NetworkSpec, weights: Weights) -> dict[str, np.ndarray]:
    """{'conv1/kernel': array, ...}: the names every export format uses."""
    return {f"{name}/{key}": np.asarray(value)
            for name, layer_weights in zip(spec.names, weights, strict=True)
            for key, value in layer_weights.items()}


def require_finite(flat: dict[str, np.ndarray]) -> None:
    """WeightsError naming the first array that holds NaN or an infinity: such weights are
    never written, nor read."""
    for name, value in flat.items():
        if not np.all(np.isfinite(value)):
            raise WeightsError(Message("{name} contains NaN or infinite values", name=name))


def from_flat_names(spec: NetworkSpec, flat: dict[str, np.ndarray]) -> Weights:
    """The inverse of flat_names, checked against the network's expected shapes."""
    analysis = spec.check()
    weights: Weights = []
    expected_names = set()
    for info in analysis.layers:
        layer_weights = {}
        for key, shape in layer_param_shapes(info.layer, info.in_shape).items():
            name = f"{info.name}/{key}"
            expected_names.add(name)
            if name not in flat:
                raise WeightsError(Message("missing weights for {name} (expected shape "
                                           "{shape})", name=name, shape=fmt_shape(shape)))
            value = np.asarray(flat[name])
            if value.shape != shape:
                raise WeightsError(Message("{name} has shape {shape} but the network needs "
                                           "{needed}", name=name, shape=fmt_shape(value.shape),
                                           needed=fmt_shape(shape)))
            if not np.issubdtype(value.dtype, np.floating):
                raise WeightsError(Message("{name} holds {dtype}, not floating-point numbers",
                                           name=name, dtype=value.dtype))
            require_finite({name: value})
            layer_weights[key] = value.astype(np.float32)
        weights.append(layer_weights)
    extra = sorted(set(flat) - expected_names)
    if extra:
        raise WeightsError(Message("weights for layers this network does not have: {names}",
                                   names=", ".join(extra)))
    return weights
