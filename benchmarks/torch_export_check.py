r"""The exported PyTorch script, run by real PyTorch in a throwaway virtual environment
(torch is never a project dependency): for every preset and for two networks that hold
every layer type and activation, export, run `model_pytorch.py` with no argument (it
checks itself on the stored samples and prints the largest difference from the app's
logits as its last line) and once with an image.

    uv run python benchmarks/torch_export_check.py              # venv in /tmp/torchenv
    uv run python benchmarks/torch_export_check.py --venv DIR --torch 2.13.0

The venv is made (`python3 -m venv`, then `pip install torch==VERSION numpy pillow`) if
it has no torch yet. Then the other way: the classic PyTorch MNIST network written by
torch.onnx.export (its TorchScript exporter; `onnx` is installed in the venv for it) is
imported by the app and its logits compared with PyTorch's. Exit status 0 when every
check passes.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the networks the export tests use

LAST_LINE = re.compile(r"^largest difference from the app's logits: (\S+)$")


def torch_python(venv: Path, version: str) -> Path:
    python = venv / "bin" / "python"
    if python.exists() and subprocess.run([python, "-c", "import torch"],
                                          capture_output=True).returncode == 0:
        return python
    subprocess.run(["python3", "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", f"torch=={version}",
                    "numpy", "pillow"], check=True)
    return python


def check(python: Path, folder: Path, *args: str) -> tuple[int, str]:
    result = subprocess.run([str(python), "model_pytorch.py", *args], cwd=folder,
                            capture_output=True, text=True, timeout=600)
    lines = (result.stdout.strip() or result.stderr.strip() or "(no output)").splitlines()
    return result.returncode, lines[-1]


def torch_side(folder: Path) -> None:
    """Run by the venv's python: the PyTorch MNIST example's network (smaller, with a
    padded conv), as torch.onnx.export writes it, with PyTorch's own outputs."""
    import numpy as np
    import torch
    import torch.nn.functional as F  # noqa: N812 (PyTorch's own spelling)
    from torch import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
            self.conv2 = nn.Conv2d(8, 16, 3)
            self.dropout = nn.Dropout(0.25)
            self.fc1 = nn.Linear(16 * 6 * 6, 32)
            self.fc2 = nn.Linear(32, 10)

        def forward(self, x):
            x = F.relu(F.max_pool2d(self.conv1(x), 2))
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            x = self.dropout(x).view(x.size(0), -1)
            return F.log_softmax(self.fc2(F.relu(self.fc1(x))), dim=1)

    torch.manual_seed(0)
    net, x = Net().eval(), torch.rand(5, 1, 28, 28)
    torch.onnx.export(net, (x,), str(folder / "mnist.onnx"), input_names=["input"],
                      output_names=["output"], dynamic_axes={"input": {0: "batch"}},
                      dynamo=False)
    with torch.no_grad():
        np.savez(folder / "mnist.npz", x=x.numpy(), log_probabilities=net(x).numpy())


def onnx_import_check(python: Path, folder: Path) -> bool:
    """torch.onnx.export's graph opened by the app gives PyTorch's probabilities."""
    import numpy as np

    from cnnviz.io.export.manifest import TOLERANCE
    from cnnviz.io.export.samples import app_logits
    from cnnviz.io.imports import import_model

    if subprocess.run([str(python), "-c", "import onnx"], capture_output=True).returncode:
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "onnx"], check=True)
    subprocess.run([str(python), __file__, "--torch-side", str(folder)], check=True,
                   capture_output=True)
    imported = import_model(folder / "mnist.onnx")
    reference = np.load(folder / "mnist.npz")
    logits = app_logits(imported.spec, imported.weights,
                        reference["x"].transpose(0, 2, 3, 1))  # (N, H, W, C)
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    diff = float(np.abs(log_p - reference["log_probabilities"]).max())
    print(f"\ntorch.onnx.export's MNIST network imported as: "
          f"{' - '.join(type(layer).__name__ for layer in imported.spec.layers)}")
    for note in imported.notes:
        print(f"  note: {note}")
    print(f"largest difference from PyTorch's log-probabilities: {diff:.3g} "
          f"({'pass' if diff <= TOLERANCE else 'FAIL'})")
    return diff <= TOLERANCE


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--venv", type=Path, default=Path("/tmp/torchenv"))
    p.add_argument("--torch", default="2.13.0", help="the torch version to install")
    p.add_argument("--torch-side", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.torch_side:
        torch_side(args.torch_side)
        return 0

    import numpy as np
    from PIL import Image
    from test_export_support import NETWORKS, trained

    from cnnviz.io.export import export_model
    from cnnviz.io.export.manifest import TOLERANCE

    python = torch_python(args.venv, args.torch)
    version = subprocess.run([python, "-c", "import torch; print(torch.__version__)"],
                             capture_output=True, text=True, check=True).stdout.strip()
    print(f"torch {version} ({python})\n")
    print("| network | exit status | largest difference | result |")
    print("|---|---|---|---|")
    failures = 0
    with tempfile.TemporaryDirectory(prefix="cnnviz-torch-") as tmp:
        for name, spec in NETWORKS.items():
            folder = export_model(trained(spec, seed=3), ["pytorch"], Path(tmp) / name)
            code, last = check(python, folder)
            match = LAST_LINE.match(last)
            ok = code == 0 and match is not None and float(match.group(1)) <= TOLERANCE
            failures += not ok
            print(f"| {name} | {code} | {match.group(1) if match else last} | "
                  f"{'pass' if ok else 'FAIL'} |")
        image = Path(tmp) / "photo.png"
        Image.fromarray(np.random.default_rng(0).integers(0, 256, (40, 30, 3), np.uint8)
                        ).save(image)
        folder = Path(tmp) / "every-layer"
        result = subprocess.run([str(python), "model_pytorch.py", str(image)], cwd=folder,
                                capture_output=True, text=True, timeout=600)
        print(f"\nmodel_pytorch.py IMAGE (every-layer), exit status {result.returncode}:")
        print(result.stdout.rstrip() or result.stderr.rstrip())
        failures += result.returncode != 0
        failures += not onnx_import_check(python, Path(tmp))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
