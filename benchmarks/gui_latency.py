"""GUI responsiveness and training speed with the window open.

Measures the window as `cnnviz` opens it (with the live views, the big ones as tabs;
--all-views shows every view at once, each in its own dock, in a 2400x1350 window;
--without-live-views the main window alone), on the default network and data (preset
tiny on shapes):

* startup: seconds from launching Python until the main window is shown (median of runs);
* event-loop gaps: a 10 ms timer records the time between its ticks, first with the
  window idle, then while it trains; reported as p50 / p99 / max. Targets: training p99
  within 1.5x of the idle p99 of the same run, max gap < 50 ms;
* throughput: training images per second with the window open vs headless (the trainer
  iterated directly, no Qt, at the same lowered priority the window trains at), after
  the compile. Target: window >= 90 % of headless. Also per second of CPU time spent
  training, which load from other programs on a shared machine cannot skew.

For context each round also measures the gaps while the same worker trains with no window
at all: what training and the rest of the machine cost the event loop without any view.

Headless and window rounds alternate, in fresh processes. On a shared virtual machine the
speed of the host drifts by tens of per cent within a minute, which swamps a 10 % effect
in that comparison, so each window round also measures its throughput paired, in the
same process: short spans with the window shown and its views live alternate with spans
with the window hidden and the views off (the trainer then runs as headless, without
view data); the ratio of each shown span to the mean of the hidden spans around it
cancels the drift. The verdict takes the median of those paired ratios over all rounds,
and prints the ratio to the separate headless process beside it.

    uv run python benchmarks/gui_latency.py [--seconds 10] [--rounds 3] [--json out.json]
                                            [--all-views | --without-live-views]

It uses QT_QPA_PLATFORM as set (offscreen if unset); under Xvfb run it with
QT_QPA_PLATFORM=xcb to include real window-system painting. Settings go to a temporary
file, never the user's.
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

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parent.parent
TICK_MS = 10
WARMUP_S = 15.0  # after the first step: lets the background compile of the fast path land

STARTUP_CODE = """
import time, sys
from PyQt6.QtCore import QSettings, QTimer
from PyQt6.QtWidgets import QApplication
from cnnviz.qt.app import build_window
app = QApplication([])
window, _ = build_window(QSettings(sys.argv[1], QSettings.Format.IniFormat))
window.show()
QTimer.singleShot(0, lambda: (print(time.time(), flush=True), window.finish_threads(60),
                              app.quit()))
app.exec()
"""


def parse_args():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=10.0, help="per measured phase")
    p.add_argument("--rounds", type=int, default=3, help="headless/window pairs, alternated; "
                   "the verdict is on the median round (other load on the machine skews some)")
    p.add_argument("--startups", type=int, default=3)
    p.add_argument("--json", type=Path, help="also write the results here")
    p.add_argument("--without-live-views", action="store_true",
                   help="measure the main window alone, without the live views' docks and tabs")
    p.add_argument("--all-views", action="store_true",
                   help="every live view visible at once (View > All Views at Once), in a "
                   "2400x1350 window: run under Xvfb with a screen at least that large")
    p.add_argument("--phase", choices=("headless", "floor", "window"), help=argparse.SUPPRESS)
    return p.parse_args()


def startup_seconds(runs: int) -> list[float]:
    """Launch-to-shown times of fresh interpreters (the window, not JAX, which loads later)."""
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(runs):
            launched = time.time()
            out = subprocess.run([sys.executable, "-c", STARTUP_CODE, f"{tmp}/s.ini"],
                                 capture_output=True, text=True, cwd=ROOT, check=True)
            times.append(float(out.stdout.split()[0]) - launched)
    return times


def gaps_summary(gaps_ms: list[float]) -> dict[str, float]:
    ordered = sorted(gaps_ms)
    return {"n": len(ordered), "p50_ms": statistics.median(ordered),
            "p99_ms": ordered[int(0.99 * (len(ordered) - 1))], "max_ms": ordered[-1]}


class Rate:
    """Images per second between the first snapshot after warm-up and the last one, per
    second of wall time and per second of CPU time spent training. The second is what
    other programs on a shared machine cannot skew: it leaves out the time training
    waited for a core, and (in the window) the GUI thread's own CPU time, since `add`
    is called on the GUI thread there."""

    def __init__(self, batch_size: int, gui_thread: bool):
        self.batch_size, self.gui_thread = batch_size, gui_thread
        self.first: tuple[float, float, float, int] | None = None
        self.last: tuple[float, float, float, int] | None = None

    def add(self, step: int) -> None:
        point = (time.perf_counter(), time.process_time(), time.thread_time(), step)
        if self.first is None:
            self.first = point
        self.last = point

    def summary(self) -> dict[str, float]:
        (wall0, cpu0, gui0, s0), (wall1, cpu1, gui1, s1) = self.first, self.last
        images = (s1 - s0) * self.batch_size
        training_cpu = (cpu1 - cpu0) - ((gui1 - gui0) if self.gui_thread else 0.0)
        return {"images_per_second": images / (wall1 - wall0),
                "images_per_cpu_second": images / training_cpu}


def headless(seconds: float) -> dict:
    """The trainer iterated directly, as the command line does, on the window's defaults,
    at the window's training priority: so load from other programs on the machine slows
    both alike, and the comparison shows what the window itself costs."""
    from cnnviz.qt.worker import yield_cpu_to_the_gui

    yield_cpu_to_the_gui()  # before JAX starts, so its compute threads inherit it
    import cnnviz.engine  # noqa: F401  (first: sets XLA's flags before JAX starts)
    from cnnviz.core.commands import Stop
    from cnnviz.core.config import TrainConfig
    from cnnviz.core.presets import DEFAULT_PRESET, get_preset
    from cnnviz.data.registry import DEFAULT_DATASET, load_dataset
    from cnnviz.engine.trainer import Trainer

    preset = get_preset(DEFAULT_PRESET)
    config = TrainConfig(learning_rate=preset.learning_rate, epochs=1000)
    dataset = load_dataset(DEFAULT_DATASET)
    trainer = Trainer(preset.spec.adapted(dataset.input_shape, dataset.num_classes), dataset,
                      config)
    rate, started = Rate(config.batch_size, gui_thread=False), None
    for snap in trainer.run():
        if snap.state != "running" or snap.epoch_done:
            continue
        now = time.perf_counter()
        started = started or now
        if now - started >= WARMUP_S:
            rate.add(snap.step)
        if now - started >= WARMUP_S + seconds:
            trainer.command(Stop())
    return rate.summary()


def run_loop(seconds: float) -> None:
    """Run the real Qt event loop for `seconds` (not a processEvents() busy loop, which
    would itself take CPU from training)."""
    from PyQt6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def run_until(done, limit: float = 180.0) -> None:
    deadline = time.perf_counter() + limit
    while not done():
        run_loop(0.05)
        if time.perf_counter() > deadline:
            raise TimeoutError("the window did not get there in time")


def measure_gaps(seconds: float) -> dict:
    """Run the event loop for `seconds` with a 10 ms timer: the gaps between its ticks,
    and the share of one core the GUI thread used meanwhile."""
    from PyQt6.QtCore import QElapsedTimer, Qt, QTimer

    gaps: list[float] = []
    clock = QElapsedTimer()
    timer = QTimer(timerType=Qt.TimerType.PreciseTimer, interval=TICK_MS)

    def tick() -> None:
        gaps.append(clock.nsecsElapsed() / 1e6)
        clock.restart()

    timer.timeout.connect(tick)
    cpu, wall = time.thread_time(), time.perf_counter()
    clock.start()
    timer.start()
    run_loop(seconds)
    timer.stop()
    return gaps_summary(gaps[1:]) | {
        "gui_cpu": (time.thread_time() - cpu) / (time.perf_counter() - wall)}


def train_and_measure(worker, start, batch_size: int, seconds: float) -> dict:
    """start() a run on `worker`, let it warm up, then measure the gaps and its speed."""
    rate, first_step = Rate(batch_size, gui_thread=True), []

    def on_snapshot(snap) -> None:
        if snap.state != "running" or snap.epoch_done:
            return
        first_step.append(time.perf_counter())
        if first_step[-1] - first_step[0] >= WARMUP_S:
            rate.add(snap.step)

    worker.snapshot.connect(on_snapshot)
    start()
    run_until(lambda: first_step and time.perf_counter() - first_step[0] >= WARMUP_S)
    return {"training": measure_gaps(seconds)} | rate.summary()


PAIR_SPAN_S = 3.0  # seconds per shown or hidden span of the paired measure
SETTLE_S = 0.5  # the start of each span is left out: showing repaints everything once


def paired_throughput(window, live, batch_size: int, pairs: int) -> list[float]:
    """Images/s with the window shown and its views live, over images/s with it hidden
    and the views off, for `pairs` shown spans each between two hidden ones."""
    from cnnviz.core.commands import SetProbe

    points: list[tuple[float, int]] = []

    def on_snapshot(snap) -> None:
        if snap.state == "running" and not snap.epoch_done:
            points.append((time.perf_counter(), snap.step))

    def span(shown: bool) -> float:
        if shown:
            window.show()
            window.worker.command(SetProbe(live.model.probe))
        else:
            window.worker.command(SetProbe(None))
            window.hide()
        run_loop(SETTLE_S)
        start = len(points)
        run_loop(PAIR_SPAN_S)
        (t0, s0), (t1, s1) = points[start], points[-1]
        return (s1 - s0) * batch_size / (t1 - t0)

    window.worker.snapshot.connect(on_snapshot)
    hidden = [span(False)]
    ratios = []
    for _ in range(pairs):
        shown = span(True)
        hidden.append(span(False))
        ratios.append(shown / statistics.mean(hidden[-2:]))
    window.worker.snapshot.disconnect(on_snapshot)
    window.show()
    return ratios


def window(seconds: float, live_views: bool = True, all_views: bool = False) -> dict:
    """The window as the app opens it (without the live views if `live_views` is
    False, to tell their cost from the main window's; every view at once if
    `all_views`): idle, then training."""
    from PyQt6.QtCore import QSettings, QSize
    from PyQt6.QtWidgets import QApplication

    from cnnviz.qt import dialogs
    from cnnviz.qt.app import build_window
    from cnnviz.qt.live_views import DOCKS
    from cnnviz.qt.main_window import MainWindow

    app = QApplication([])
    dialogs.ask_save_changes = lambda *args: dialogs.DISCARD
    settings = Path(tempfile.mkdtemp()) / "settings.ini"  # never the user's settings
    choices = QSettings(str(settings), QSettings.Format.IniFormat)
    choices.setValue("view/layout", "docks" if all_views else "tabs")
    window, live = build_window(choices) if live_views else (MainWindow(choices), None)
    window.resize(*((2400, 1350) if all_views else (1500, 950)))
    if all_views:  # on the 2560x1440 screen such a window is for (the offscreen one is small)
        live.set_layout(DOCKS, QSize(2560, 1440))
        assert live.layout == DOCKS and live.plan.shows_all
    window.show()
    session = window.session
    run_until(lambda: session.dataset is not None and window.worker.device is not None)
    session.set_config(epochs=1000)  # longer than the measurement
    result = {"idle": measure_gaps(seconds), "platform": app.platformName(),
              "window_size": [window.width(), window.height()]}  # a small screen clamps it
    result |= train_and_measure(window.worker, window.actions.start_pause.trigger,
                                session.config.batch_size, seconds)
    if live is not None:
        result["paired"] = paired_throughput(window, live, session.config.batch_size,
                                             pairs=max(2, round(seconds / PAIR_SPAN_S)))
    window.close()
    window.finish_threads(60)
    return result


def floor(seconds: float) -> dict:
    """The same run in the same worker, with no window at all: the gaps that training
    alone costs the event loop on this machine (other load included)."""
    from PyQt6.QtWidgets import QApplication

    from cnnviz.core.config import TrainConfig
    from cnnviz.core.history import History
    from cnnviz.core.presets import DEFAULT_PRESET, get_preset
    from cnnviz.data.registry import DEFAULT_DATASET, load_dataset
    from cnnviz.qt.worker import TrainingWorker

    app = QApplication([])
    worker = TrainingWorker(app)
    worker.load_engine()
    run_until(lambda: worker.device is not None)
    preset = get_preset(DEFAULT_PRESET)
    config = TrainConfig(learning_rate=preset.learning_rate, epochs=1000)
    dataset = load_dataset(DEFAULT_DATASET)
    spec = preset.spec.adapted(dataset.input_shape, dataset.num_classes)
    result = train_and_measure(
        worker, lambda: worker.start(spec, dataset, config, None, History()),
        config.batch_size, seconds)
    worker.shutdown(60)
    return result


def phase(name: str, seconds: float, *options: str) -> dict:
    """One measurement in a fresh interpreter, so rounds share no JIT cache, heap or
    thread pools."""
    out = subprocess.run([sys.executable, __file__, "--phase", name, "--seconds", str(seconds),
                          *options], capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        raise RuntimeError(f"{name} phase failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def throughput(round_: dict) -> float:
    return round_["images_per_second"] / round_["headless"]["images_per_second"]


def efficiency(round_: dict) -> float:
    return round_["images_per_cpu_second"] / round_["headless"]["images_per_cpu_second"]


def main() -> int:
    args = parse_args()
    if args.all_views and args.without_live_views:
        raise SystemExit("--all-views and --without-live-views exclude each other")
    if args.phase:
        options = {"live_views": not args.without_live_views,
                   "all_views": args.all_views} if args.phase == "window" else {}
        print(json.dumps(PHASES[args.phase](args.seconds, **options)))
        return 0
    startups = startup_seconds(args.startups)
    print(f"startup (launch to window shown): median {statistics.median(startups):.2f} s "
          f"of {[round(t, 2) for t in startups]}", flush=True)
    rounds = []
    for i in range(args.rounds):
        alone = phase("headless", args.seconds)
        bare = phase("floor", args.seconds)["training"]
        with_window = phase("window", args.seconds,
                            *(["--without-live-views"] if args.without_live_views else []),
                            *(["--all-views"] if args.all_views else []))
        rounds.append({"headless": alone, "floor": bare, **with_window})
        idle, train = with_window["idle"], with_window["training"]
        print(f"round {i + 1}: idle p99 {idle['p99_ms']:.1f} ms (max {idle['max_ms']:.1f}); "
              f"training p50 {train['p50_ms']:.1f} p99 {train['p99_ms']:.1f} "
              f"max {train['max_ms']:.1f} ms, GUI thread {train['gui_cpu']:.0%} of a core "
              f"[no window: p99 {bare['p99_ms']:.1f} max {bare['max_ms']:.1f}]; images/s "
              f"window {with_window['images_per_second']:,.0f} vs headless "
              f"{alone['images_per_second']:,.0f} ({throughput(rounds[-1]):.0%}); per CPU "
              f"second {with_window['images_per_cpu_second']:,.0f} vs "
              f"{alone['images_per_cpu_second']:,.0f} ({efficiency(rounds[-1]):.0%})"
              + (f"; paired in-process: {', '.join(f'{r:.0%}' for r in with_window['paired'])}"
                 if "paired" in with_window else ""), flush=True)
    paired = [r for round_ in rounds for r in round_.get("paired", [])]
    ratios = {
        "p99_ratio": statistics.median(r["training"]["p99_ms"] / r["idle"]["p99_ms"]
                                       for r in rounds),
        "max_gap_ms": statistics.median(r["training"]["max_ms"] for r in rounds),
        "throughput_ratio": statistics.median(map(throughput, rounds)),
        "cpu_efficiency_ratio": statistics.median(map(efficiency, rounds)),
        # the drift-free measure where there is one (the live views' window)
        "paired_throughput_ratio": statistics.median(paired) if paired else None,
    }
    verdict = ratios["paired_throughput_ratio"] or ratios["throughput_ratio"]
    ok = ratios["p99_ratio"] <= 1.5 and ratios["max_gap_ms"] < 50 and verdict >= 0.9
    print(f"median of {len(rounds)} rounds: training p99 / idle p99 = "
          f"{ratios['p99_ratio']:.2f} (target <= 1.5), max gap {ratios['max_gap_ms']:.1f} ms "
          f"(< 50), throughput {verdict:.0%} "
          f"{'paired in-process' if paired else 'of headless'} (>= 90 %; vs the separate "
          f"headless process {ratios['throughput_ratio']:.0%}, per CPU "
          f"second {ratios['cpu_efficiency_ratio']:.0%}): "
          f"{'PASS' if ok else 'FAIL'}  [platform {rounds[0]['platform']}, window "
          f"{'x'.join(map(str, rounds[0]['window_size']))}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}]")
    if args.json:
        args.json.write_text(json.dumps({"startup_s": startups, "rounds": rounds,
                                         "median": ratios, "pass": ok}, indent=1))
    return 0 if ok else 1


PHASES = {"headless": headless, "floor": floor, "window": window}

if __name__ == "__main__":
    sys.exit(main())
