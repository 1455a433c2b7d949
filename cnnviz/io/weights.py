"""Checking that a set of weights fits a network, and naming them by layer."""

from __future__ import annotations

import numpy as np

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
            raise WeightsError(f"{name} contains NaN or infinite values")


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
                raise WeightsError(f"missing weights for {name} "
                                   f"(expected shape {fmt_shape(shape)})")
            value = np.asarray(flat[name])
            if value.shape != shape:
                raise WeightsError(f"{name} has shape {fmt_shape(value.shape)} but the network "
                                   f"needs {fmt_shape(shape)}")
            if not np.issubdtype(value.dtype, np.floating):
                raise WeightsError(f"{name} holds {value.dtype}, not floating-point numbers")
            require_finite({name: value})
            layer_weights[key] = value.astype(np.float32)
        weights.append(layer_weights)
    extra = sorted(set(flat) - expected_names)
    if extra:
        raise WeightsError(f"weights for layers this network does not have: {', '.join(extra)}")
    return weights
