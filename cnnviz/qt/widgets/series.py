"""Curve data for live plots: growable preallocated buffers and a running EMA."""

from __future__ import annotations

import math

import numpy as np


class Series:
    """(x, y) points in preallocated arrays that double when full, so appending is
    amortised O(1) and a plot takes views of the filled part without copying."""

    def __init__(self, capacity: int = 1024):
        self._x = np.empty(capacity, np.float64)
        self._y = np.empty(capacity, np.float64)
        self._n = 0

    def __len__(self) -> int:
        return self._n

    @property
    def x(self) -> np.ndarray:
        return self._x[: self._n]

    @property
    def y(self) -> np.ndarray:
        return self._y[: self._n]

    def clear(self) -> None:
        self._n = 0

    def extend(self, x: np.ndarray, y: np.ndarray) -> None:
        end = self._n + len(x)
        if end > len(self._x):
            capacity = max(end, 2 * len(self._x))
            for name in ("_x", "_y"):
                grown = np.empty(capacity, np.float64)
                grown[: self._n] = getattr(self, name)[: self._n]
                setattr(self, name, grown)
        self._x[self._n:end] = x
        self._y[self._n:end] = y
        self._n = end


class Ema:
    """TensorBoard-style smoothing: an exponential moving average with weight `weight`
    on the past, debiased so the first points are not pulled towards zero."""

    def __init__(self, weight: float):
        self.weight = weight
        self._mean = 0.0
        self._count = 0

    def reset(self, weight: float | None = None) -> None:
        self.weight = self.weight if weight is None else weight
        self._mean, self._count = 0.0, 0

    def __call__(self, values: np.ndarray) -> np.ndarray:
        """The smoothed value after each of `values`, continuing from earlier calls."""
        out = np.empty(len(values), np.float64)
        w, mean, count = self.weight, self._mean, self._count
        for i, value in enumerate(values.tolist()):  # a recurrence: sequential by nature
            if not math.isfinite(value):  # a diverged step leaves a gap, not a poisoned mean
                out[i] = math.nan
                continue
            mean = w * mean + (1 - w) * value
            count += 1
            out[i] = mean / (1 - w**count) if w > 0 else mean
        self._mean, self._count = mean, count
        return out
