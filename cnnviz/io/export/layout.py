"""Weight names and layouts as they leave and enter the app.

The app keeps Keras' layout: tensors channels-last (N, H, W, C), conv kernels
(KH, KW, C_in, C_out) ("HWIO"), dense kernels (D_in, units). Channels-first tools
(PyTorch, ONNX) want conv kernels (C_out, C_in, KH, KW) ("OIHW") and flatten an image
(C, H, W) in that order, so the rows of the first Dense after a Flatten come in another
order there. Exported arrays are named `LAYER.PARAM` (`conv1.kernel`, `dense2.bias`), as
PyTorch state dicts and safetensors files usually are.
"""

from __future__ import annotations

import numpy as np

from cnnviz.core.layers import AvgPool2D, BatchNorm, Conv2D, Dense, Dropout, Flatten, MaxPool2D
from cnnviz.core.network import Analysis
from cnnviz.core.shapes import Shape, same_padding

SEPARATOR = "."


def file_key(layer: str, param: str) -> str:
    """The name an exported array has: `conv1.kernel`."""
    return f"{layer}{SEPARATOR}{param}"


def hwio_to_oihw(kernel: np.ndarray) -> np.ndarray:
    """(KH, KW, C_in, C_out) -> (C_out, C_in, KH, KW)."""
    return np.ascontiguousarray(kernel.transpose(3, 2, 0, 1))


def oihw_to_hwio(kernel: np.ndarray) -> np.ndarray:
    """(C_out, C_in, KH, KW) -> (KH, KW, C_in, C_out)."""
    return np.ascontiguousarray(kernel.transpose(2, 3, 1, 0))


def nhwc_rows_to_nchw(kernel: np.ndarray, image: Shape) -> np.ndarray:
    """A Dense kernel (H*W*C, U) whose rows follow the app's (H, W, C) flattening, with its
    rows put in channels-first (C, H, W) order: the same layer after a channels-first
    Flatten."""
    h, w, c = image
    units = kernel.shape[1]
    return np.ascontiguousarray(
        kernel.reshape(h, w, c, units).transpose(2, 0, 1, 3).reshape(h * w * c, units))


def nhwc_vector_to_nchw(values: np.ndarray, image: Shape) -> np.ndarray:
    """A per-value vector (H*W*C,) in the app's flattening order, in channels-first
    order: a BatchNorm's arrays after a Flatten."""
    return nhwc_rows_to_nchw(np.asarray(values)[:, None], image)[:, 0]


def nchw_rows_to_nhwc(kernel: np.ndarray, image: Shape) -> np.ndarray:
    """The inverse of nhwc_rows_to_nchw."""
    h, w, c = image
    units = kernel.shape[1]
    return np.ascontiguousarray(
        kernel.reshape(c, h, w, units).transpose(1, 2, 0, 3).reshape(h * w * c, units))


def flattened_images(analysis: Analysis) -> dict[int, Shape]:
    """{index of a Dense or BatchNorm layer: the (H, W, C) image its input is a Flatten
    of}: the layers whose rows (a BatchNorm's values) a channels-first framework orders
    differently. Dropout and BatchNorm between the Flatten and the Dense keep the order."""
    found: dict[int, Shape] = {}
    image: Shape | None = None
    for info in analysis.layers:
        if isinstance(info.layer, Flatten):
            image = info.in_shape
        elif isinstance(info.layer, Dense | BatchNorm):
            if image is not None:
                found[info.index] = image
            if isinstance(info.layer, Dense):
                image = None
        elif not isinstance(info.layer, Dropout):
            image = None
    return found


def conv_pads(layer: Conv2D | MaxPool2D | AvgPool2D, in_shape: Shape
              ) -> tuple[tuple[int, int], tuple[int, int]]:
    """((top, bottom), (left, right)) zeros around the image: Keras' 'same' padding (any
    odd one after) for a 'same' Conv2D, none otherwise (pooling is always 'valid')."""
    if not isinstance(layer, Conv2D) or layer.padding != "same":
        return (0, 0), (0, 0)
    k, s = layer.kernel_size, layer.stride
    return same_padding(in_shape[0], k, s), same_padding(in_shape[1], k, s)


def exported_arrays(names: list[str], weights: list[dict[str, np.ndarray]]
                    ) -> dict[str, np.ndarray]:
    """{'conv1.kernel': float32 array, ...} in layer order, the app's layout."""
    return {file_key(name, param): np.ascontiguousarray(value, np.float32)
            for name, layer in zip(names, weights, strict=True)
            for param, value in layer.items()}
