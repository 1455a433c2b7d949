"""How fast the Step through view answers, on the keras-cifar10 network, in the real window.

* click: a click on an output pixel (conv and pool pages), a unit (dense page) or a
  weight's kernel cell (backward page) until the close-up has repainted. Target p99 < 50 ms;
* next/prev: a stage change until the new page has repainted. Target p99 < 50 ms;
* new image: choosing another probe image until its close-up is on screen (the engine's
  inspection runs in a helper thread). Target median and p99 < 200 ms;
* the live views' GUI targets while training with the Step through tab visible, measured
  as benchmarks/gui_latency.py measures them (its phases, in fresh processes; the window
  phase shows this view): training p99 gap within 1.5x idle, max gap < 50 ms, throughput
  >= 90 % of headless (paired in-process).

The data for the first three is random, shaped and sized like CIFAR-10 (45,000 training,
5,000 validation, 10,000 test images of 32x32x3), so the window does at rest what it does
with CIFAR-10 (the other views recompute their probe's parts too); nothing is
downloaded. A repaint is forced (`repaint()`) so the time includes painting.

    uv run python benchmarks/step_through_latency.py [--clicks 200] [--images 30]
                                                    [--gui-seconds 10 --gui-rounds 3 | --no-gui]

It uses QT_QPA_PLATFORM as set (offscreen if unset); under Xvfb use QT_QPA_PLATFORM=xcb.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import gui_latency  # its phases and summaries, reused (it sets QT_QPA_PLATFORM too)

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

SYNTHETIC = "cifar10-shaped"


def parse_args():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clicks", type=int, default=200)
    p.add_argument("--images", type=int, default=30)
    p.add_argument("--gui-seconds", type=float, default=10.0)
    p.add_argument("--gui-rounds", type=int, default=3)
    p.add_argument("--no-gui", action="store_true", help="skip the training measurement")
    p.add_argument("--json", type=Path, help="also write the results here")
    p.add_argument("--phase", choices=("headless", "window"), help=argparse.SUPPRESS)
    p.add_argument("--seconds", type=float, default=10.0, help=argparse.SUPPRESS)
    return p.parse_args()


def summary(ms: list[float]) -> dict[str, float]:
    ordered = sorted(ms)
    return {"n": len(ordered), "median_ms": statistics.median(ordered),
            "p99_ms": ordered[int(0.99 * (len(ordered) - 1))], "max_ms": ordered[-1]}


def register_synthetic_data() -> None:
    """A dataset the window can load by name: random uint8 images in CIFAR-10's shape."""
    import numpy as np

    from cnnviz.data.dataset import Dataset
    from cnnviz.data.registry import DATASETS, DatasetEntry, DatasetInfo

    def load(**_):
        rng = np.random.default_rng(0)

        def split(n):
            return (rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8),
                    rng.integers(0, 10, n).astype(np.int32))

        return Dataset(SYNTHETIC, tuple("abcdefghij"), *split(45_000), *split(5_000),
                       *split(10_000))

    DATASETS[SYNTHETIC] = DatasetEntry(DatasetInfo(SYNTHETIC, "random", (32, 32, 3), 10,
                                                   60_000, True), load)


def timed(app, action, done=lambda: True, repaint=None, limit=30.0) -> float:
    """Milliseconds from `action()` until `done()` holds and `repaint` has painted."""
    start = time.perf_counter()
    action()
    while not done():
        app.processEvents()
        if time.perf_counter() - start > limit:
            raise TimeoutError("the view did not answer in time")
    if repaint is not None:
        repaint.repaint()
    return (time.perf_counter() - start) * 1000


def interactions(clicks: int, images: int) -> dict:
    import numpy as np
    import pyqtgraph as pg
    from PyQt6.QtCore import QSettings
    from PyQt6.QtWidgets import QApplication

    from cnnviz.core.presets import get_preset
    from cnnviz.qt import dialogs
    from cnnviz.qt.app import build_window
    from cnnviz.qt.widgets.step_through.view import StepThroughView

    register_synthetic_data()
    app = QApplication([])
    dialogs.ask_save_changes = lambda *args: dialogs.DISCARD
    settings = QSettings(str(Path(tempfile.mkdtemp()) / "s.ini"), QSettings.Format.IniFormat)
    window, live = build_window(settings)
    pg.setConfigOptions(imageAxisOrder="row-major", antialias=False)
    window.resize(1600, 1000)
    window.show()
    session = window.session
    session.select_dataset(SYNTHETIC)
    gui_latency.run_until(lambda: session.dataset is not None and window.worker.device)
    window.network.reset(get_preset("keras-cifar10").spec)
    view = window.findChild(StepThroughView)
    window.show_tab(view)
    m = view.model
    gui_latency.run_until(lambda: m.inspection is not None and m.inspection.spec
                          == session.network.spec, limit=300)
    gui_latency.run_loop(2.0)  # the other views' first computation at rest lands
    rng = np.random.default_rng(0)
    results = {}

    # clicks on each kind of close-up
    click_ms = {"conv": [], "pool": [], "dense": [], "weight": []}
    for _ in range(clicks // 4):
        for kind, stage in (("conv", int(rng.choice([1, 3, 5]))), ("pool", 2), ("dense", 7),
                            ("weight", m.backward_stage)):
            m.set_stage(stage)
            app.processEvents()
            page = view.page
            if kind in ("conv", "pool"):
                h, w = m.inspection.post[stage - 1].shape[1:3]
                r, c = int(rng.integers(0, h)), int(rng.integers(0, w))
                click_ms[kind].append(timed(app, lambda p=page, r=r, c=c:
                                            p.output_map.clicked.emit(r, c), repaint=view))
            elif kind == "dense":
                cell = int(rng.integers(0, 64))
                click_ms[kind].append(timed(app, lambda p=page, u=cell: p.units.clicked.emit(
                    *divmod(u, 16)), repaint=view))
            else:
                x, y = (int(v) for v in rng.integers(0, 3, 2))
                click_ms[kind].append(timed(app, lambda p=page, x=x, y=y:
                                            p.kernel.clicked.emit(x, y), repaint=view))
    results["click"] = {k: summary(v) for k, v in click_ms.items()}
    results["click_all"] = summary([t for v in click_ms.values() for t in v])

    # next and prev across every stage, both ways
    step_ms = []
    for _ in range(max(1, clicks // (2 * m.looks_stage))):
        m.set_stage(0)
        for delta in [+1] * m.looks_stage + [-1] * m.looks_stage:
            step_ms.append(timed(app, lambda d=delta: m.step(d), repaint=view))
    results["next_prev"] = summary(step_ms)

    # a new image, on the conv page: once the other views have shown the last one, and
    # 0.3 s after the last one, while they may still compute theirs (competing for the CPU)
    m.set_stage(1)
    for name, settled in (("new_image", True), ("new_image_rapid", False)):
        image_ms = []
        for i in range(images):
            index = i + 1 + (0 if settled else images)
            image_ms.append(timed(app, lambda n=index: live.model.choose(n), lambda: (
                m.inspection is not None and np.array_equal(
                    np.round(m.inspection.images[0] * 255).astype(np.uint8),
                    live.model.probe.image)), repaint=view))
            if settled:
                gui_latency.run_until(lambda: live.model.views.probe.input is live.model.probe)
            else:
                gui_latency.run_loop(0.3)
        results[name] = summary(image_ms)
    window.close()
    window.finish_threads(60)
    return results


def window_phase(seconds: float) -> dict:
    """gui_latency's window phase with the Step through tab shown (and so computing)."""
    from cnnviz.qt import app as qt_app
    from cnnviz.qt.widgets.step_through.view import StepThroughView

    build = qt_app.build_window

    def build_and_show(settings):
        window, live = build(settings)
        window.show_tab(window.findChild(StepThroughView))
        return window, live

    qt_app.build_window = build_and_show
    return gui_latency.window(seconds)


def phase(name: str, seconds: float) -> dict:
    """One of gui_latency's measurements in a fresh interpreter (this script's phases)."""
    run = subprocess.run([sys.executable, __file__, "--phase", name, "--seconds", str(seconds)],
                         capture_output=True, text=True)
    if run.returncode:
        raise RuntimeError(f"{name} phase failed:\n{run.stderr[-3000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def gui_rounds(seconds: float, rounds: int) -> dict:
    out = []
    for i in range(rounds):
        alone, with_view = (phase(name, seconds) for name in ("headless", "window"))
        out.append({"headless": alone, **with_view})
        idle, train = with_view["idle"], with_view["training"]
        print(f"round {i + 1}: idle p99 {idle['p99_ms']:.1f} ms; training p99 "
              f"{train['p99_ms']:.1f} max {train['max_ms']:.1f} ms; paired throughput "
              f"{', '.join(f'{r:.0%}' for r in with_view['paired'])}; vs headless "
              f"{gui_latency.throughput(out[-1]):.0%}", flush=True)
    paired = [r for round_ in out for r in round_["paired"]]
    verdict = {
        "p99_ratio": statistics.median(r["training"]["p99_ms"] / r["idle"]["p99_ms"]
                                       for r in out),
        "max_gap_ms": statistics.median(r["training"]["max_ms"] for r in out),
        "paired_throughput_ratio": statistics.median(paired),
        "throughput_ratio": statistics.median(map(gui_latency.throughput, out)),
    }
    verdict["pass"] = (verdict["p99_ratio"] <= 1.5 and verdict["max_gap_ms"] < 50
                       and verdict["paired_throughput_ratio"] >= 0.9)
    return {"rounds": out, "median": verdict}


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def main() -> int:
    args = parse_args()
    if args.phase:
        phase = window_phase if args.phase == "window" else gui_latency.headless
        print(json.dumps(phase(args.seconds)))
        return 0
    print(f"{cpu_name()}, {os.cpu_count()} CPUs, platform {os.environ['QT_QPA_PLATFORM']}")
    results = interactions(args.clicks, args.images)
    for name, s in [*results["click"].items(), ("all clicks", results["click_all"]),
                    ("next/prev", results["next_prev"]), ("new image", results["new_image"]),
                    ("rapid", results["new_image_rapid"])]:
        print(f"{name:>10}: median {s['median_ms']:6.1f} ms  p99 {s['p99_ms']:6.1f} ms  "
              f"max {s['max_ms']:6.1f} ms  (n={s['n']})", flush=True)
    ok = (results["click_all"]["p99_ms"] < 50 and results["next_prev"]["p99_ms"] < 50
          and results["new_image"]["p99_ms"] < 200)
    print(f"click p99 < 50 ms, next/prev p99 < 50 ms, new image p99 < 200 ms: "
          f"{'PASS' if ok else 'FAIL'}")
    if not args.no_gui:
        results["gui"] = gui_rounds(args.gui_seconds, args.gui_rounds)
        v = results["gui"]["median"]
        print(f"training with the view visible: p99 / idle p99 {v['p99_ratio']:.2f} (<= 1.5), "
              f"max gap {v['max_gap_ms']:.1f} ms (< 50), throughput "
              f"{v['paired_throughput_ratio']:.0%} paired (>= 90 %; vs headless "
              f"{v['throughput_ratio']:.0%}): {'PASS' if v['pass'] else 'FAIL'}")
        ok = ok and v["pass"]
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
