"""engine.saliency on cases whose answer is known: a hand-built network whose class 1 reads
only the top-left quadrant (exact gradients and Grad-CAM weights), and a trained network
whose class is the quadrant holding a bright square (it must look at that quadrant)."""

import cnnviz.engine  # noqa: F401, I001  (first: sets XLA's flags before JAX starts)

import jax.numpy as jnp
import numpy as np
import pytest

from cnnviz.core.config import TrainConfig
from cnnviz.core.layers import Conv2D, Dense, Flatten
from cnnviz.core.network import NetworkSpec
from cnnviz.data.dataset import Dataset
from cnnviz.engine.saliency import Looker
from cnnviz.engine.trainer import Trainer

QUADRANT = NetworkSpec((4, 4, 1), (Conv2D(2, 1), Flatten(), Dense(2, "none")))


def quadrant_params():
    """conv1 channel 0 = relu(x), channel 1 = relu(-x) (0 for these images); class 1's
    logit = the sum of channel 0 over the top-left 2x2, class 0's = the sum elsewhere."""
    kernel = np.array([1.0, -1.0], np.float32).reshape(1, 1, 1, 2)
    top_left = np.zeros((4, 4, 2), np.float32)
    top_left[:2, :2, 0] = 1.0
    rest = np.zeros((4, 4, 2), np.float32)
    rest[:, :, 0] = 1.0 - top_left[:, :, 0]
    dense = np.stack([rest.reshape(-1), top_left.reshape(-1)], axis=1)  # (32, 2)
    return [{"kernel": jnp.asarray(kernel), "bias": jnp.zeros(2)}, {},
            {"kernel": jnp.asarray(dense), "bias": jnp.zeros(2)}]


def test_a_class_that_reads_one_quadrant_is_salient_there_and_nowhere_else():
    image = np.full((4, 4, 1), 204, np.uint8)  # 0.8: noise of sd 0.15 never flips the ReLU
    image[:2, :2] = 255
    looks = Looker(QUADRANT).look(quadrant_params(), image, smooth=True)
    x = image[..., 0] / 255.0
    assert looks.logits == pytest.approx([x.sum() - x[:2, :2].sum(), x[:2, :2].sum()])
    top_left = np.zeros((4, 4))
    top_left[:2, :2] = 1.0
    for smooth in (False, True):  # d logit_1 / dx = 1 exactly where class 1 reads
        np.testing.assert_allclose(looks.saliency(1, smooth), top_left, atol=1e-6)
        np.testing.assert_allclose(looks.saliency(0, smooth), 1 - top_left, atol=1e-6)
    # Grad-CAM: a_f = the mean of d logit / d A over the map; A_0 = x, A_1 = 0
    cam = looks.grad_cam(0, 1)
    np.testing.assert_allclose(cam.weights, [4 / 16, 0.0], atol=1e-7)
    np.testing.assert_allclose(cam.cam, 0.25 * x, rtol=1e-6)
    assert np.unravel_index(np.argmax(cam.cam), cam.cam.shape) in [(0, 0), (0, 1), (1, 0),
                                                                     (1, 1)]
    np.testing.assert_allclose(looks.grad_cam(0, 0).weights, [12 / 16, 0.0], atol=1e-7)


def test_grad_cam_drops_what_speaks_against_the_class():
    """ReLU of the weighted sum: a class whose weights are all negative has no map."""
    params = quadrant_params()
    params[2]["kernel"] = -params[2]["kernel"]
    looks = Looker(QUADRANT).look(params, np.full((4, 4, 1), 200, np.uint8))
    cam = looks.grad_cam(0, 1)
    assert (cam.weights <= 0).all() and not cam.cam.any()


def quadrant_data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """12x12 noise with bright 4x4 squares in random quadrants; class 1 when the top-left
    quadrant holds one (the others hold one or not whatever the class)."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 60, (n, 12, 12, 1)).astype(np.uint8)
    y = rng.integers(0, 2, n).astype(np.int32)
    for i in range(n):
        for q in range(4):
            if (q == 0 and y[i]) or (q > 0 and rng.random() < 0.5):
                r = 6 * (q // 2) + int(rng.integers(0, 3))
                c = 6 * (q % 2) + int(rng.integers(0, 3))
                x[i, r:r + 4, c:c + 4] = 230
    return x, y


def test_a_trained_network_looks_at_the_quadrant_that_decides_its_class():
    """Most of the saliency of 'a square in the top left' lies in the top-left quadrant
    (a quarter of the image), though other quadrants hold squares too."""
    x, y = quadrant_data(512, 0)
    xt, yt = quadrant_data(40, 1)
    data = Dataset("quadrants", ("no", "yes"), x, y, xt[:8], yt[:8], xt, yt)
    spec = NetworkSpec((12, 12, 1), (Conv2D(4, 3, padding="same"), Flatten(), Dense(2, "none")))
    trainer = Trainer(spec, data, TrainConfig(learning_rate=1e-2, batch_size=32, epochs=4))
    for _ in trainer.run():
        pass
    looker = Looker(spec)
    shares = []
    for image in xt[yt == 1]:
        saliency = looker.look(trainer.params, image).saliency(1)
        shares.append(saliency[:6, :6].sum() / saliency.sum())
    assert np.median(shares) > 0.5, shares
