r"""The exported PyTorch script, run by real PyTorch in a throwaway virtual environment
(torch is never a project dependency): for every preset and for two networks that hold
every layer type and activation, export, run `model_pytorch.py` with no argument (it
checks itself on the stored samples and prints the largest difference from the app's
logits as its last line) and once with an image.

    uv run python benchmarks/torch_export_check.py              # venv in /tmp/torchenv
    uv run python benchmarks/torch_export_check.py --venv DIR --torch 2.13.0

The venv is made (`python3 -m venv`, then `pip install torch==VERSION numpy pillow`) if
it has no torch yet. Exit status 0 when every script passes.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# This folder is first on sys.path when a script here runs, and a module here
# (compression.py) shadows a package JAX tries to import; nothing is imported from here.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent]
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


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--venv", type=Path, default=Path("/tmp/torchenv"))
    p.add_argument("--torch", default="2.13.0", help="the torch version to install")
    args = p.parse_args()

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
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
