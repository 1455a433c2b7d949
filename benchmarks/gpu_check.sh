#!/usr/bin/env bash
# The engine on an NVIDIA GPU, checked in one go (within 10 minutes):
#   1. the GPU's name (nvidia-smi);
#   2. the project with JAX's CUDA build (uv sync --extra cuda), JAX sees the GPU;
#   3. the engine's tests with JAX on the GPU (float32 matmuls at full precision: JAX's
#      default on recent GPUs is TF32, which the tests' float32 tolerances do not allow);
#   4. PyTorch with CUDA in a venv of its own (never the project's);
#   5. benchmarks/train_speed.py on the GPU: cnnviz against PyTorch CUDA.
#
#   benchmarks/gpu_check.sh            run it
#   benchmarks/gpu_check.sh --dry-run  print the steps, run nothing
#
# TORCH_PYTHON=/path/bin/python uses a Python that already has torch with CUDA (a machine
# without internet); TORCH_VENV (default /tmp/cnnviz-gpu-torch) is where one is made.
# The results go to gpu_results.json (or $OUT/gpu_results.json when OUT is set).
set -euo pipefail

dry_run=0
case "${1:-}" in
    --dry-run) dry_run=1 ;;
    "") ;;
    *) echo "usage: $0 [--dry-run]" >&2; exit 2 ;;
esac

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
torch_venv="${TORCH_VENV:-/tmp/cnnviz-gpu-torch}"
torch_python="${TORCH_PYTHON:-$torch_venv/bin/python}"
results="${OUT:-$root}/gpu_results.json"
started=$SECONDS

step() {
    printf '\n== %s (%d s so far)\n' "$1" "$((SECONDS - started))"
}

run() {  # print a command, then run it unless this is a dry run
    printf '+ %s\n' "$*"
    if [ "$dry_run" -eq 0 ]; then
        "$@"
    fi
}

cd "$root"

step "GPU"
run nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader

step "the project with JAX's CUDA build"
run uv sync --extra cuda
# every `uv run` names the extra too: without it uv would sync the CPU build back
run uv run --extra cuda python -c \
    'import jax; d = jax.devices(); print(d); assert d[0].platform == "gpu", d'

step "the engine's tests on the GPU"
run env JAX_PLATFORMS=cuda JAX_DEFAULT_MATMUL_PRECISION=highest \
    timeout 240 uv run --extra cuda pytest -q -p no:randomly tests/test_engine_model.py \
    tests/test_engine_ops.py tests/test_engine_steps.py tests/test_engine_trainer.py \
    tests/test_engine_tuning.py

step "PyTorch with CUDA in its own venv"
if [ -z "${TORCH_PYTHON:-}" ]; then
    run python3 -m venv "$torch_venv"
    # PyPI's Linux x86_64 torch wheel is the CUDA build
    run timeout 300 "$torch_venv/bin/pip" install -q torch numpy
fi
run "$torch_python" -c \
    'import torch; assert torch.cuda.is_available(); print(torch.__version__, torch.cuda.get_device_name(0))'

step "training speed on the GPU: cnnviz against PyTorch CUDA"
run env JAX_PLATFORMS=cuda timeout 300 uv run --extra cuda python benchmarks/train_speed.py \
    --torch-python "$torch_python" --torch-device cuda --peers cnnviz,torch \
    --batch-sizes 32,128,512 --steps 40 --warmup 5 --repeats 3 --rounds 2 \
    --idle-wait 0 --noise-retries 0 --timeout 120 --out "$results"

step "done"
echo "results: $results"
