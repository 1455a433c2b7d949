"""PyTorch peer: Keras CIFAR-10 tutorial CNN, one training step = forward + backward + Adam.

Run with a Python that has torch (never the project venv):
    python benchmarks/peers/torch_cifar.py --batch-size 128 --steps 40 --warmup 5 --repeats 3
Prints one JSON line. Both memory formats are measured; images_per_second is the better one.
"""

import argparse
import json
import resource
import statistics
import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

PARAMS = 122_570


def args_():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--device", default="cpu", help="cpu, or cuda for an NVIDIA GPU")
    return p.parse_args()


def batch(b):
    # Same scheme in every peer: seed 0, NHWC float32 normal images, then int labels.
    rng = np.random.default_rng(0)
    x = rng.standard_normal((b, 32, 32, 3), dtype=np.float32)
    y = rng.integers(0, 10, size=b).astype(np.int64)
    return x, y


def model():
    return nn.Sequential(
        nn.Conv2d(3, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3), nn.ReLU(),
        nn.Flatten(), nn.Linear(4 * 4 * 64, 64), nn.ReLU(), nn.Linear(64, 10),
    )


def measure(step, a):
    """Time the first step alone (allocator/oneDNN primitive setup), then repeats of steps."""
    t = time.perf_counter()
    step().item()  # .item() waits for the result
    first = time.perf_counter() - t
    for _ in range(a.warmup - 1):
        step()
    rates = []
    for _ in range(a.repeats):
        t = time.perf_counter()
        for _ in range(a.steps):
            loss = step()
        loss.item()
        rates.append(a.steps * a.batch_size / (time.perf_counter() - t))
    return first, rates


def run(fmt, a):
    torch.manual_seed(0)
    x_np, y_np = batch(a.batch_size)
    # NHWC -> NCHW view; .contiguous(fmt) decides the real layout in memory.
    x = torch.from_numpy(x_np).permute(0, 3, 1, 2).to(a.device).contiguous(memory_format=fmt)
    y = torch.from_numpy(y_np).to(a.device)
    net = model().to(a.device, memory_format=fmt)
    assert sum(p.numel() for p in net.parameters()) == PARAMS
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        return loss

    first, rates = measure(step, a)
    return {"images_per_second": statistics.median(rates), "all": rates,
            "first_step_seconds": first}


def main():
    a = args_()
    variants = {
        "default": run(torch.contiguous_format, a),
        "channels_last": run(torch.channels_last, a),
    }
    best = max(variants, key=lambda k: variants[k]["images_per_second"])
    print(json.dumps({
        "framework": "torch",
        "version": torch.__version__,
        "batch_size": a.batch_size,
        **variants[best],
        "best_variant": best,
        "variants": variants,
        "threads": torch.get_num_threads(),
        "device": torch.cuda.get_device_name(a.device) if a.device.startswith("cuda")
        else "cpu",
        # Linux reports ru_maxrss in KiB; covers both variants (same process).
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == "__main__":
    main()
