"""Where the network looks: saliency maps, SmoothGrad and Grad-CAM for one image.

`Looker.look` computes, in one jitted call, the gradient of every class score (logit)
with respect to the input pixels and to every conv layer's output; a saliency map or a
Grad-CAM for any class and conv layer is then numpy on those arrays. SmoothGrad averages
the input gradients over noisy copies of the image (a second call, on request).

* saliency (Simonyan et al. 2014): S(h, w) = max_c |d score_k / d x(h, w, c)|;
* SmoothGrad (Smilkov et al. 2017): the same of the gradient averaged over copies of x
  with Gaussian noise of sd `sigma`;
* Grad-CAM (Selvaraju et al. 2017) on a conv layer's output A (H', W', F): channel
  weights a_f = mean_{h, w} d score_k / d A(h, w, f), map = ReLU(sum_f a_f A(., ., f)).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from cnnviz.core.layers import Conv2D
from cnnviz.core.network import NetworkSpec
from cnnviz.engine.model import Params, apply, apply_layer, to_float

SMOOTH_SAMPLES = 25
SMOOTH_SIGMA = 0.15  # of the input's 0..1 range, as the SmoothGrad paper suggests


@dataclass(frozen=True, eq=False)
class GradCam:
    layer: int
    weights: np.ndarray  # (F,) a_f
    cam: np.ndarray  # (H', W') at the layer's resolution


@dataclass(frozen=True, eq=False)
class Looks:
    """One image's class-score gradients. `activations[i]` (H', W', F) and
    `layer_grads[i]` (K, H', W', F) for each conv layer i; `input_grads` (K, H, W, C)."""

    logits: np.ndarray  # (K,)
    input_grads: np.ndarray
    activations: dict[int, np.ndarray]
    layer_grads: dict[int, np.ndarray]
    smooth_grads: np.ndarray | None = None  # (K, H, W, C) when SmoothGrad was asked for

    def saliency(self, cls: int, smooth: bool = False) -> np.ndarray:
        """(H, W): the largest |gradient| over the input channels of each pixel."""
        grads = self.smooth_grads if smooth else self.input_grads
        if grads is None:
            raise ValueError("SmoothGrad was not computed for this image")
        return np.abs(grads[cls]).max(axis=-1)

    def grad_cam(self, layer: int, cls: int) -> GradCam:
        activation, gradient = self.activations[layer], self.layer_grads[layer][cls]
        weights = gradient.mean(axis=(0, 1))
        return GradCam(layer, weights, np.maximum((activation * weights).sum(axis=-1), 0.0))


def _look(spec: NetworkSpec, convs: tuple[int, ...], params, x):
    """x (1, H, W, C) -> (logits (K,), d logits / d x (K, H, W, C), the conv outputs and
    d logits / d them). Zero shifts added to the conv outputs carry their gradients."""
    x = to_float(x)

    def forward(x, shifts):
        h, outs = x, {}
        for i, (layer, p) in enumerate(zip(spec.layers, params, strict=True)):
            h = apply_layer(layer, p, h, train=False)
            if i in shifts:
                h = h + shifts[i]
                outs[i] = h[0]
        return h[0], outs

    infos = spec.analyze().layers
    zeros = {i: jnp.zeros((1, *infos[i].out_shape), jnp.float32) for i in convs}
    logits, outs = forward(x, zeros)
    jac_x, jac_layers = jax.jacrev(lambda x, s: forward(x, s)[0], argnums=(0, 1))(x, zeros)
    return logits, jac_x[:, 0], outs, {i: g[:, 0] for i, g in jac_layers.items()}


def _smooth(spec: NetworkSpec, params, x, key, samples: int, sigma: float):
    """The mean over `samples` noisy copies of x (1, H, W, C) of d logits / d x."""
    noisy = to_float(x) + sigma * jax.random.normal(key, (samples, *x.shape[1:]))
    one = jax.jacrev(lambda xi: apply(spec, params, xi[None])[0])
    return jax.vmap(one)(noisy).mean(axis=0)  # (K, H, W, C)


class Looker:
    """Saliency and Grad-CAM for one network (compiled once)."""

    def __init__(self, spec: NetworkSpec):
        spec.check()
        self.convs = tuple(i for i, layer in enumerate(spec.layers) if isinstance(layer, Conv2D))
        self._look = jax.jit(partial(_look, spec, self.convs))
        self._smooth = jax.jit(partial(_smooth, spec), static_argnums=(3, 4))

    def look(self, params: Params, image: np.ndarray, smooth: bool = False,
             seed: int = 0) -> Looks:
        """image (H, W, C) as the dataset holds it."""
        logits, grads, outs, layer_grads = jax.device_get(self._look(params, image[None]))
        smooth_grads = None
        if smooth:
            smooth_grads = np.asarray(self._smooth(params, image[None], jax.random.PRNGKey(seed),
                                                   SMOOTH_SAMPLES, SMOOTH_SIGMA))
        return Looks(logits, grads, outs, layer_grads, smooth_grads)
