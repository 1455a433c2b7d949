"""The exported PyTorch / Keras / JAX scripts: each rebuilds the network, loads the
weights and gives the app's logits on the stored samples, for every preset and every
layer type. The JAX and Keras (3, JAX backend) scripts run here; the PyTorch one where
torch is installed (benchmarks/torch_export_check.py checks it in a throwaway venv)."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_export_support import NETWORKS, trained

from cnnviz.io.export import export_model
from cnnviz.io.export.manifest import TOLERANCE

LAST_LINE = re.compile(r"^largest difference from the app's logits: (\S+)$")
HAS_TORCH = importlib.util.find_spec("torch") is not None


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    root = tmp_path_factory.mktemp("exports")
    return {name: export_model(trained(spec, seed=3), ["pytorch", "keras", "jax"],
                               root / name) for name, spec in NETWORKS.items()}


def run_script(folder: Path, script: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    return subprocess.run([sys.executable, str(folder / script), *args], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=300)


def load_script(path: Path):
    """The script as a module (its __main__ block does not run)."""
    spec = importlib.util.spec_from_file_location(f"exported_{path.parent.name}_{path.stem}",
                                                  path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def largest_difference(module, model) -> float:
    samples = np.load(Path(module.__file__).parent / "samples.npz")
    return float(np.abs(module.logits(model, samples["images"]) - samples["logits"]).max())


@pytest.mark.parametrize("name", list(NETWORKS))
def test_the_jax_script_gives_the_apps_logits(exports, name):
    module = load_script(exports[name] / "model_jax.py")
    assert largest_difference(module, module.load_model()) <= TOLERANCE


@pytest.mark.parametrize("name", list(NETWORKS))
def test_the_keras_script_gives_the_apps_logits(exports, name):
    module = load_script(exports[name] / "model_keras.py")
    model = module.load_model()
    # a BatchNorm's activation is a layer of its own in Keras
    assert [layer.name for layer in model.layers
            if not layer.name.endswith("_activation")] == NETWORKS[name].names
    assert model.count_params() == NETWORKS[name].analyze().total_params
    assert largest_difference(module, model) <= TOLERANCE


@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed here; "
                    "benchmarks/torch_export_check.py checks in a venv of its own")
@pytest.mark.parametrize("name", list(NETWORKS))
def test_the_pytorch_script_gives_the_apps_logits(exports, name):
    module = load_script(exports[name] / "model_pytorch.py")
    assert largest_difference(module, module.load_model()) <= TOLERANCE


@pytest.mark.parametrize("script", ["model_jax.py", "model_keras.py"])
def test_run_bare_a_script_checks_itself_and_ends_with_the_largest_difference(exports,
                                                                                script):
    result = run_script(exports["every-layer"], script)
    assert result.returncode == 0, result.stderr
    match = LAST_LINE.match(result.stdout.strip().splitlines()[-1])
    assert match and float(match.group(1)) <= TOLERANCE


def test_a_script_fails_when_its_logits_are_not_the_apps(exports, tmp_path):
    folder = tmp_path / "tampered"
    folder.mkdir()
    for file in exports["tiny"].iterdir():
        (folder / file.name).write_bytes(file.read_bytes())
    samples = dict(np.load(folder / "samples.npz"))
    samples["logits"] = samples["logits"] + np.float32(0.01)
    np.savez(folder / "samples.npz", **samples)
    result = run_script(folder, "model_jax.py")
    assert result.returncode == 1
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("FAILED") and float(LAST_LINE.match(lines[-1]).group(1)) > 0.009


def test_given_an_image_a_script_prints_every_class_probability(exports, tmp_path):
    image = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (40, 30, 3), np.uint8)).save(
        image)
    result = run_script(exports["tiny"], "model_jax.py", str(image))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    names = [line.split(maxsplit=1)[1] for line in lines]
    assert sorted(names) == [f"class {i}" for i in range(5)]
    total = sum(float(line.split("%")[0]) for line in lines)
    assert abs(total - 100) < 0.1


def test_scripts_explain_each_line_by_the_apps_layer(exports):
    text = (exports["every-layer"] / "model_pytorch.py").read_text()
    for name in NETWORKS["every-layer"].names:
        assert f"# {name}:" in text
    assert "nn.ZeroPad2d((0, 1, 0, 1))" in text  # 'same', stride 2: the odd padding after
    assert "nhwc_rows_to_nchw(w[\"dense1.kernel\"], 2, 1, 6)" in text
    compile(text, "model_pytorch.py", "exec")
