r"""Training-speed benchmark: cnnviz's engine against PyTorch, Keras and plain JAX.

Every peer is a standalone script in benchmarks/peers/ run as its own subprocess, one at a
time, so thread pools never compete and each framework gets the whole machine. torch and
tensorflow live in their own venvs (see benchmarks/README.md), never in the project:

    uv run python benchmarks/train_speed.py --torch-python /tmp/bench-torch/bin/python \
        --keras-python /tmp/bench-tf/bin/python --out results.json

Peers that are missing or not importable are skipped with a note.
"""

import argparse
import datetime
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from cnnviz.core.layers import Conv2D, Dense
from cnnviz.core.presets import get_preset
from cnnviz.engine.cpu import Cpu, this_cpu

ROOT = Path(__file__).resolve().parent.parent
PEERS = ROOT / "benchmarks" / "peers"
# Table order: the subject first, then the peers it is compared with.
TUNING_ENV = {"XLA_FLAGS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
              "TF_NUM_INTEROP_THREADS", "TF_ENABLE_ONEDNN_OPTS", "JAX_PLATFORMS", "KERAS_BACKEND"}
NOISY = 0.25  # cores used by other processes above which a timing is suspect
SCRIPTS = {
    "cnnviz": "cnnviz_engine.py",
    "jax_naive": "jax_naive.py",
    "torch": "torch_cifar.py",
    "keras": "keras_cifar.py",
}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--torch-python", help="interpreter with torch installed")
    p.add_argument("--keras-python", help="interpreter with tensorflow (Keras 3) installed")
    p.add_argument("--torch-device", default="cpu",
                   help="the torch peer's device: cpu, or cuda on a machine with an NVIDIA "
                   "GPU (the JAX peers take JAX's default device)")
    p.add_argument("--peers", default=",".join(SCRIPTS), help="comma-separated subset of peers")
    p.add_argument("--batch-sizes", default="32,128,512")
    p.add_argument("--steps", type=int, default=40, help="timed steps per repeat")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps, first one included")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--rounds", type=int, default=3,
                   help="whole sweeps, one after another; cells and ratios are the median "
                   "round (this machine's speed drifts by tens of percent over minutes)")
    p.add_argument("--timeout", type=float, default=1200, help="seconds per peer run")
    p.add_argument("--idle-wait", type=float, default=120,
                   help="seconds to wait for other load to go away before each run")
    p.add_argument("--noise-retries", type=int, default=2,
                   help="reruns of a peer when other processes used CPU during it")
    p.add_argument("--out", type=Path, help="write all results as JSON here")
    return p.parse_args()


def importable(python, module):
    try:
        r = subprocess.run([python, "-c", f"import {module}"], capture_output=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0


def find_peers(a, notes):
    """Map peer name -> interpreter for the peers that can run here; say why the others can't."""
    want = a.peers.split(",")
    candidates = {
        # cnnviz and jax_naive use the project interpreter; torch/keras only their own venvs.
        "cnnviz": (sys.executable, "cnnviz", None),
        "jax_naive": (sys.executable, "jax", None),
        "torch": (a.torch_python, "torch", "--torch-python"),
        "keras": (a.keras_python, "tensorflow", "--keras-python"),
    }
    found = {}
    for name in (n for n in SCRIPTS if n in want):
        python, module, flag = candidates[name]
        if not (PEERS / SCRIPTS[name]).exists():
            notes.append(f"{name}: skipped, benchmarks/peers/{SCRIPTS[name]} does not exist yet")
        elif python is None:
            notes.append(f"{name}: skipped, no {flag} given")
        elif not importable(python, module):
            notes.append(f"{name}: skipped, `import {module}` fails with {python}")
        else:
            found[name] = python
    return found


def busy_seconds():
    """CPU seconds used by everything on the machine so far (Linux /proc/stat), or None."""
    try:
        with open("/proc/stat") as f:
            v = [int(n) for n in f.readline().split()[1:]]
    except OSError:
        return None
    return (sum(v) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")  # all but idle and iowait


def children_seconds():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def other_load(busy0, child0, wall):
    """Cores' worth of CPU that processes other than our peers used over the last `wall` s."""
    busy1 = busy_seconds()
    if busy0 is None or busy1 is None:
        return 0.0
    return max(0.0, (busy1 - busy0) - (children_seconds() - child0)) / wall


def wait_idle(limit):
    """Shared machines: don't start timing while something else is eating a core."""
    deadline = time.monotonic() + limit
    while True:
        b, c = busy_seconds(), children_seconds()
        time.sleep(3)  # long enough not to mistake a gap between someone's runs for idle
        load = other_load(b, c, 3)
        if load < NOISY or time.monotonic() > deadline:
            return load
        time.sleep(4)


def run_peer(name, python, batch, a):
    """Run one peer; rerun it (up to --noise-retries) when other processes stole CPU."""
    best = None
    for _ in range(1 + a.noise_retries):
        res = run_once(name, python, batch, a)
        if "error" in res:
            return res
        if best is None or res["other_load"] < best["other_load"]:
            best = res
        if best["other_load"] < NOISY:
            break
    return best


def run_once(name, python, batch, a):
    cmd = [python, str(PEERS / SCRIPTS[name]), "--batch-size", str(batch), "--steps", str(a.steps),
           "--warmup", str(a.warmup), "--repeats", str(a.repeats)]
    if name == "torch":
        cmd += ["--device", a.torch_device]
    before = wait_idle(a.idle_wait)
    print(f"# {name} B={batch} (other load {before:.2f} cores) ...", file=sys.stderr, flush=True)
    t, busy0, child0 = time.perf_counter(), busy_seconds(), children_seconds()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=a.timeout, cwd=ROOT)
        if r.returncode != 0:
            raise RuntimeError(f"exit {r.returncode}: {r.stderr.strip()[-600:]}")
        res = json.loads(r.stdout.strip().splitlines()[-1])  # the peer's one JSON line
    except (RuntimeError, subprocess.TimeoutExpired, json.JSONDecodeError, IndexError) as e:
        print(f"#   failed: {e!r}", file=sys.stderr)
        return {"peer": name, "framework": name, "batch_size": batch, "error": repr(e)}
    wall = time.perf_counter() - t
    # Includes the peer's own start-up and compile, so this is a ceiling on the contamination.
    # "peer" is the harness's name; "framework" is whatever the peer calls itself.
    res.update(peer=name, wall_seconds=wall, other_load=other_load(busy0, child0, wall),
               load_average=os.getloadavg()[0])
    print(f"#   {res['images_per_second']:.0f} img/s, other load {res['other_load']:.2f} cores",
          file=sys.stderr, flush=True)
    return res


def median_results(rounds):
    """Per peer and batch size, the run with the median speed over the rounds (its
    `rounds` lists every round's speed)."""
    merged = []
    for runs in zip(*rounds, strict=True):
        ok = sorted((r for r in runs if "error" not in r), key=lambda r: r["images_per_second"])
        if not ok:
            merged.append(runs[0])
            continue
        merged.append({**ok[(len(ok) - 1) // 2],
                       "rounds": [r.get("images_per_second") for r in runs]})
    return merged


def best_peer(runs, batch):
    """(cnnviz's run, the fastest other peer's run) at `batch`, or None."""
    ok = [r for r in runs if r["batch_size"] == batch and "error" not in r]
    subject = next((r for r in ok if r["peer"] == "cnnviz"), None)
    peers = [r for r in ok if r["peer"] not in ("cnnviz", "jax_naive")] or \
        [r for r in ok if r["peer"] != "cnnviz"]
    if subject is None or not peers:
        return None
    return subject, max(peers, key=lambda r: r["images_per_second"])


def round_ratios(rounds, batches):
    """{batch: [cnnviz / best peer in each round]}: the ratio of runs minutes apart."""
    out = {}
    for b in batches:
        pairs = [best_peer(runs, b) for runs in rounds]
        out[b] = [s["images_per_second"] / p["images_per_second"] for s, p in filter(None, pairs)]
    return out


def rows(results):
    """One row per framework variant (torch memory formats, keras XLA on/off)."""
    out = {}
    for r in results:
        if "error" in r:
            out.setdefault(r["framework"], {})[r["batch_size"]] = r
            continue
        for v, vr in (r.get("variants") or {None: r}).items():
            label = f"{r['framework']} ({v})" if v else r["framework"]
            cell = {**vr, "peak_rss_mb": r["peak_rss_mb"], "other_load": r.get("other_load", 0)}
            out.setdefault(label, {})[r["batch_size"]] = cell
    return out


def spread(r):
    return (max(r["all"]) - min(r["all"])) / 2 / r["images_per_second"]


def training_flops_per_image() -> float:
    """float32 FLOPs of one training image of keras-cifar10: each weighted layer's
    multiply-adds (2 FLOPs each) forward, again for its kernel's gradient and again for
    its input's gradient, which the first layer does not need."""
    macs = [i.macs for i in get_preset("keras-cifar10").spec.check().layers
            if isinstance(i.layer, (Conv2D, Dense))]
    return 2.0 * (3 * sum(macs) - macs[0])


def limit_lines(cpu: Cpu, results, batches) -> list[str]:
    """The CPU and its float32 limit in images/second, and cnnviz's share of it."""
    devices = sorted({r["device"] for r in results if r.get("device", "cpu") != "cpu"})
    if devices:  # the CPU's limit says nothing of a GPU's speed
        return [f"Device: {', '.join(devices)} (host CPU {cpu.model or 'unknown'})."]
    flops = training_flops_per_image()
    limit = cpu.peak_flops / flops
    lines = [f"CPU: {cpu.describe()}.", f"Limit for this network ({flops / 1e6:.1f} MFLOP per "
             f"training image): {limit:,.0f} img/s." if limit else "Limit: clock unknown."]
    for b in batches:
        subject = next((r for r in results if r["batch_size"] == b and r["peer"] == "cnnviz"
                        and "error" not in r), None)
        if subject and limit:
            lines.append(f"- B={b}: cnnviz {subject['images_per_second']:,.0f} img/s = "
                         f"{subject['images_per_second'] / limit:.0%} of the limit")
    loads = [r["load_average"] for r in results if "load_average" in r]
    if loads:
        lines.append(f"Load average (1 min) at the end of each run: median "
                     f"{statistics.median(loads):.1f}, max {max(loads):.1f} "
                     f"on {os.cpu_count()} logical CPUs.")
    return lines


def markdown(results, batches, notes, ratios_by_round, cpu: Cpu):
    table = rows(results)
    head = "| framework | " + " | ".join(f"B={b}" for b in batches) + " |"
    sep = "|---|" + "---:|" * len(batches)
    speed, first = [head, sep], [head, sep]
    for label, cells in table.items():
        s, f = [], []
        for b in batches:
            c = cells.get(b)
            if c is None or "error" in c:
                s.append("failed" if c else "")
                f.append("")
            else:
                mark = "*" if c["other_load"] >= NOISY else ""
                s.append(f"{c['images_per_second']:.0f} (±{spread(c):.0%}){mark}")
                f.append(f"{c['first_step_seconds']:.2f} s / {c['peak_rss_mb']:.0f} MB")
        speed.append(f"| {label} | " + " | ".join(s) + " |")
        first.append(f"| {label} | " + " | ".join(f) + " |")

    ratios = []
    for b in batches:
        pair, per_round = best_peer(results, b), ratios_by_round.get(b, [])
        if pair is None or not per_round:
            ratios.append(f"- B={b}: n/a (needs cnnviz and at least one peer)")
            continue
        subject, best = pair
        label = best["framework"] + (f" ({best['best_variant']})" if "best_variant" in best else "")
        naive = next((r for r in results if r["batch_size"] == b and r["peer"] == "jax_naive"
                      and "error" not in r), None)
        vs_naive = f"; {subject['images_per_second'] / naive['images_per_second']:.2f}x " \
            "jax_naive" if naive else ""
        ratios.append(f"- B={b}: {statistics.median(per_round):.2f}x, median of the rounds' "
                      f"ratios {[round(x, 2) for x in per_round]} (best peer {label}, "
                      f"{best['images_per_second']:.0f} img/s{vs_naive})")

    noisy = [f"{r['framework']} B={r['batch_size']} ({r['other_load']:.2f} cores)"
             for r in results if r.get("other_load", 0) >= NOISY]
    notes = [*notes, *(f"{r['framework']} B={r['batch_size']} failed: {r['error'][:300]}"
                       for r in results if "error" in r)]
    if noisy:
        notes = [*notes, "* other processes used CPU during: " + ", ".join(noisy)]
    return "\n".join([
        *limit_lines(cpu, results, batches), "",
        "Training images/second: the median round's median over repeats (± half the "
        "min-max range of its repeats):", "",
        *speed, "",
        "First (compile) step seconds / peak RSS of the peer process:", "",
        *first, "",
        "cnnviz / best peer:", "",
        *ratios,
        *(["", "Notes:", ""] + [f"- {n}" for n in notes] if notes else []),
    ])


def main():
    a = parse_args()
    batches = [int(b) for b in a.batch_sizes.split(",")]
    notes = []
    peers = find_peers(a, notes)
    for n in notes:
        print(f"# {n}", file=sys.stderr)
    # Whole sweeps, interleaved by batch size: a drift in the machine's speed (other load,
    # other tenants of the host) then touches every peer alike, and each round's ratio
    # compares runs minutes apart at most.
    rounds = []
    for i in range(a.rounds):
        print(f"# round {i + 1} of {a.rounds}", file=sys.stderr, flush=True)
        rounds.append([run_peer(name, py, b, a) for b in batches for name, py in peers.items()])
    results = median_results(rounds)
    cpu = this_cpu()
    report = markdown(results, batches, notes, round_ratios(rounds, batches), cpu)
    print(report)
    if a.out:
        a.out.write_text(json.dumps({
            "date": datetime.datetime.now().isoformat(timespec="seconds"),
            "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                        "processor": cpu.model or platform.processor(),
                        "cpu": cpu.describe(), "peak_gflops": cpu.peak_flops / 1e9},
            "settings": {k: str(v) for k, v in vars(a).items()},
            # Inherited by every peer and able to change its speed a lot (e.g. XLA_FLAGS).
            "environment": {k: v for k, v in os.environ.items() if k in TUNING_ENV},
            "notes": notes,
            "results": results,
            "markdown": report,
        }, indent=2))


if __name__ == "__main__":
    main()
