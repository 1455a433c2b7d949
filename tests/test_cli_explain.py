"""`cnnviz explain`: the arithmetic of one output of a saved project, checked against numpy
written from the textbook formula on the project's own weights and image, and against
the engine's value it reports; bad input ends in one line and exit status 2."""

import cnnviz.engine  # noqa: F401, I001  (first: sets XLA's flags before JAX starts)

import hashlib
import io
import json
import math
import zipfile

import numpy as np
import pytest
import reference
from test_arithmetic_engine import assert_matches
from test_cli import _json_lines, _main

from cnnviz.core.config import TrainConfig
from cnnviz.core.layers import Conv2D, Dense, Flatten, MaxPool2D
from cnnviz.core.network import NetworkSpec
from cnnviz.core.presets import get_preset
from cnnviz.data.registry import load_dataset
from cnnviz.io.project import Project, save_project
from cnnviz.io.weights import flat_names
from safetensors.numpy import save as save_safetensors

SPEC = get_preset("worked-example").spec
CONFIG = TrainConfig(learning_rate=0.01)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    path = tmp_path_factory.mktemp("explain") / "worked.cnnviz"
    weights = reference.random_weights(SPEC, seed=4)
    weights = [{k: 0.2 * v for k, v in p.items()} for p in weights]
    save_project(path, Project(SPEC, CONFIG, "digits-32", weights))
    return path, weights


@pytest.fixture(scope="module")
def image():
    data = load_dataset("digits-32", seed=CONFIG.seed,
                        validation_fraction=CONFIG.validation_fraction)
    return data.x_test[5].astype(np.float64) / 255.0, int(data.y_test[5])


def explain(*args):
    code, out, err = _main("explain", *args)
    assert code == 0, err
    return out


def test_a_conv_pixels_numbers_are_the_textbook_sum(project, image):
    path, weights = project
    x, label = image
    (event,) = _json_lines(explain(path, "--image", 5, "--layer", "conv1", "--pixel", "7,11,2",
                                   "--json"))
    assert event["label"] == label and event["step"] == 0 and not event["untrained"]
    kernel, bias = weights[0]["kernel"][..., 2], float(weights[0]["bias"][2])
    patch = x[7:10, 11:14]
    np.testing.assert_allclose(event["patch"], patch, rtol=1e-6)
    np.testing.assert_allclose(event["kernel"], kernel, rtol=1e-6)
    np.testing.assert_allclose(event["products"], patch * kernel, rtol=1e-6)
    want = float((patch * kernel).sum()) + bias
    assert event["bias"] == pytest.approx(bias)
    assert event["pre_activation"] == pytest.approx(want, rel=1e-6)
    assert event["activation"] == "relu" and event["result"] == pytest.approx(max(want, 0))
    assert_matches(event["result"], event["engine_value"], float(np.abs(patch * kernel).sum()))
    assert not any(map(any, event["padding"]))


def test_the_text_prints_the_formula_with_the_same_numbers(project):
    path, _ = project
    text = explain(path, "--image", 5, "--layer", "conv1", "--pixel", "7,11,2")
    (event,) = _json_lines(explain(path, "--image", 5, "--layer", "conv1", "--pixel", "7,11,2",
                                   "--json"))
    assert "out(i, j) = Σx Σy in(i + x, j + y) · k(x, y) + b" in text
    assert f"out(7, 11) = {event['patch'][0][0][0]:.4g}·" in text
    assert f"= {event['pre_activation']:.4g}\n" in text
    assert "input patch" in text and "kernel" in text and "products" in text


def test_a_dense_unit_and_its_backward_step(project):
    path, weights = project
    (event,) = _json_lines(explain(path, "--image", 5, "--layer", "dense1", "--unit", 3,
                                   "--backward", "--json"))
    inputs, w = np.array(event["inputs"]), weights[3]["kernel"][:, 3]
    assert len(inputs) == 900
    np.testing.assert_allclose(event["weights"], w, rtol=1e-6)
    want = float(inputs @ w) + float(weights[3]["bias"][3])
    assert event["pre_activation"] == pytest.approx(want, rel=1e-6)
    assert_matches(event["result"], event["engine_value"], float(np.abs(inputs * w).sum()))
    largest = event["largest"]
    assert abs(event["products"][largest[0]]) == max(map(abs, event["products"]))
    back = event["backward"]
    j = largest[0]  # the default weight: the largest term's
    assert back["weight"]["index"] == [j, 3]
    # dL/dw(j, 3) = dL/dz(3) * x(j), with dL/dz(3) = p(3) - [3 is the label]
    assert back["weight"]["gradient"] == pytest.approx(back["dL_dlogits"][3] * inputs[j],
                                                       rel=1e-5)
    assert back["weight"]["gradient"] == pytest.approx(back["weight"]["engine_gradient"],
                                                       rel=1e-5)
    update = back["update"]  # a fresh Adam state: the step is lr in the gradient's direction
    assert update["optimizer"] == "adam" and update["t"] == 1 and update["fresh_state"]
    g = back["weight"]["gradient"]
    assert update["new_weight"] == pytest.approx(
        back["weight"]["value"] - 0.01 * g / (abs(g) + 1e-7 * math.sqrt(1 - 0.999)), rel=1e-4)


def test_a_conv_weights_gradient_with_backward(project):
    path, _ = project
    (event,) = _json_lines(explain(path, "--image", 5, "--layer", "conv1", "--pixel",
                                   "4,4,1", "--backward", "--weight", "2,0,0", "--json"))
    weight = event["backward"]["weight"]
    assert weight["index"] == [2, 0, 0, 1]
    assert_matches(weight["gradient"], weight["engine_gradient"],
                   float(np.abs(weight["gradient_terms"]).sum()))


def test_softmax_and_loss(project, image):
    path, _ = project
    _, label = image
    (event,) = _json_lines(explain(path, "--image", 5, "--layer", "softmax", "--backward",
                                   "--json"))
    p = np.array(event["probabilities"])
    assert p.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(p, event["engine_probabilities"], rtol=1e-5, atol=1e-8)
    assert event["loss"] == pytest.approx(-math.log(p[label]), rel=1e-6)
    assert event["loss"] == pytest.approx(event["engine_loss"], rel=1e-5)
    onehot = np.eye(10)[label]
    np.testing.assert_allclose(event["backward"]["dL_dlogits"], p - onehot, atol=1e-12)
    text = explain(path, "--image", 5, "--layer", "softmax")
    assert f"-log p(true class {label})" in text


def test_pooling_says_where_the_gradient_goes(project):
    path, _ = project
    (event,) = _json_lines(explain(path, "--layer", "maxpool1", "--pixel", "3,4,0", "--json"))
    window = np.array(event["window"])
    assert event["result"] == window.max() == pytest.approx(event["engine_value"])
    r, c = event["gradient_goes_to"]
    assert (6 <= r < 8 and 8 <= c < 10) and window[r - 6, c - 8] == window.max()


def test_an_untrained_project_uses_the_weights_a_run_starts_from(tmp_path):
    path = tmp_path / "new.cnnviz"
    save_project(path, Project(SPEC, CONFIG, "digits-32"))
    (event,) = _json_lines(explain(path, "--layer", "dense1", "--unit", 0, "--json"))
    assert event["untrained"]
    assert "untrained" in explain(path, "--layer", "dense1", "--unit", 0)


def mismatched_project(path, project_path):
    """A project whose network has 5 filters in conv1 but whose weights have 4: the
    manifest is right, the weights do not fit."""
    other = NetworkSpec((32, 32, 1), (Conv2D(5, 3), MaxPool2D(2), Flatten(), Dense(10, "none")))
    weights = flat_names(SPEC, reference.random_weights(SPEC))
    members = {"network.json": other.to_json().encode(),
               "training.json": json.dumps({"dataset": "digits-32",
                                            "config": CONFIG.to_dict()}).encode(),
               "history.json": zipfile.ZipFile(project_path).read("history.json"),
               "weights.safetensors": save_safetensors(weights)}
    manifest = {"format": "cnnviz-project", "version": 1,
                "sha256": {k: hashlib.sha256(v).hexdigest() for k, v in members.items()}}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("manifest.json", json.dumps(manifest))
        for name, data in members.items():
            zf.writestr(name, data)
    path.write_bytes(buffer.getvalue())


@pytest.mark.parametrize("args,message", [
    (("--layer", "conv1", "--pixel", "30,0,0"),
     "30,0,0 is not an output of conv1, whose output is 30x30x4 (rows 0-29, columns 0-29, "
     "filters 0-3)"),
    (("--layer", "conv9", "--pixel", "0,0,0"), "there is no layer conv9; the layers are conv1, "
     "maxpool1, flatten1, dense1"),
    (("--layer", "conv1"), "conv1 gives maps: choose a pixel with --pixel ROW,COL,CHANNEL"),
    (("--layer", "dense1"), "dense1 gives a vector: choose an element with --unit N"),
    (("--layer", "conv1", "--pixel", "1,x,0"), "--pixel must be whole numbers"),
    (("--layer", "dense1", "--unit", "0", "--image", "100000"), "there is no test image 100000"),
    (("--layer", "conv1", "--pixel", "0,0,0", "--backward", "--weight", "3,0,0"),
     "3,0,0,0 is not a weight of conv1's kernel, which is 3x3x1x4"),
])
def test_bad_input_is_one_line_and_exit_status_2(project, args, message):
    path, _ = project
    before = path.read_bytes()
    code, out, err = _main("explain", path, *args)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cnnviz explain: error: ")
    assert message in lines[0]
    assert path.read_bytes() == before  # nothing changed


def test_weights_that_do_not_fit_the_network_are_refused(project, tmp_path):
    path = tmp_path / "mismatch.cnnviz"
    mismatched_project(path, project[0])
    code, out, err = _main("explain", path, "--layer", "conv1", "--pixel", "0,0,0")
    lines = err.strip().splitlines()
    assert code == 2 and out == "" and len(lines) == 1
    assert "conv1" in lines[0] and "3x3x1x4" in lines[0] and "3x3x1x5" in lines[0]


def _with_adam_state(tmp_path, weights, steps: int, kept_steps: int):
    """The worked example after `steps` steps, its file keeping an Adam state with moments
    of its own (taken after `kept_steps` steps): (path, Adam's m and v)."""
    import jax
    import jax.numpy as jnp

    from cnnviz.core.history import History
    from cnnviz.engine.inspect import host_tree
    from cnnviz.engine.resume import kept_leaves
    from cnnviz.engine.steps import config_optimizer

    state = host_tree(config_optimizer(CONFIG, SPEC).init(jax.tree.map(jnp.asarray, weights)))
    adam, rng = state.inner_state[0], np.random.default_rng(1)
    mu = jax.tree.map(lambda a: (0.01 * rng.standard_normal(a.shape)).astype(np.float32),
                      adam.mu)
    nu = jax.tree.map(lambda a: (1e-4 * rng.random(a.shape)).astype(np.float32), adam.nu)
    adam = adam._replace(count=np.int32(kept_steps), mu=mu, nu=nu)
    state = state._replace(inner_state=(adam, *state.inner_state[1:]))
    history = History()
    history.add_steps(np.ones(steps, np.float32), np.zeros(steps, np.float32))
    path = tmp_path / "kept.cnnviz"
    save_project(path, Project(SPEC, CONFIG, "digits-32", weights, history,
                               optimizer_state=kept_leaves("adam", kept_steps, state)))
    return path, mu, nu


def test_the_update_goes_on_from_the_state_the_run_left(project, tmp_path):
    """A project that keeps its optimizer state shows the next step's Adam update from
    that state's moments and count, as the textbook works it out."""
    _, weights = project
    path, mu, nu = _with_adam_state(tmp_path, weights, steps=3, kept_steps=3)
    (event,) = _json_lines(explain(path, "--image", 5, "--layer", "dense1", "--unit", 3,
                                   "--backward", "--json"))
    back = event["backward"]
    update, (j, unit) = back["update"], back["weight"]["index"]
    assert not update["fresh_state"] and update["t"] == 4
    g, w = back["weight"]["gradient"], back["weight"]["value"]
    m = 0.9 * float(mu[3]["kernel"][j, unit]) + 0.1 * g
    v = 0.999 * float(nu[3]["kernel"][j, unit]) + 0.001 * g * g
    m_hat, v_hat = m / (1 - 0.9 ** 4), v / (1 - 0.999 ** 4)
    assert update["new_weight"] == pytest.approx(w - 0.01 * m_hat / (math.sqrt(v_hat) + 1e-7),
                                                 rel=1e-4)
    text = explain(path, "--image", 5, "--layer", "dense1", "--unit", 3, "--backward")
    assert "from the optimizer state the run left after step 3" in text


def test_a_state_from_another_step_is_not_taken_for_the_run(project, tmp_path):
    _, weights = project
    path, _, _ = _with_adam_state(tmp_path, weights, steps=5, kept_steps=3)
    (event,) = _json_lines(explain(path, "--image", 5, "--layer", "dense1", "--unit", 3,
                                   "--backward", "--json"))
    assert event["backward"]["update"]["fresh_state"]
    text = explain(path, "--image", 5, "--layer", "dense1", "--unit", 3, "--backward")
    assert "the first step's, from a fresh optimizer state" in text
