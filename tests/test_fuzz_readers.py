"""Every reader of outside data against thousands of mutated inputs (benchmarks/
fuzz_readers.py, a short run): success or the reader's own error, nothing else, under a
memory cap and a time cap per input. The long run is the same script with --seconds."""

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "fuzz_readers.py"
SECONDS = 30  # shared by the readers: about 5 s each


def test_readers_survive_mutated_inputs(tmp_path):
    run = subprocess.run([sys.executable, str(SCRIPT), "--seconds", str(SECONDS), "--seed", "0",
                          "--memory-mib", "1024", "--per-input-s", "10", "--out",
                          str(tmp_path)], capture_output=True, text=True,
                         timeout=SECONDS + 90)
    assert run.returncode == 0, run.stdout + run.stderr
    counts = {line.split()[0]: int(line.split()[1].replace(",", ""))
              for line in run.stdout.splitlines() if "inputs," in line}
    assert set(counts) == {"project", "network", "replay", "idx", "cifar", "folder"}
    assert all(n >= 20 for n in counts.values()), counts  # each got a real share
