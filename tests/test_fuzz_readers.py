"""Every reader of outside data against thousands of mutated inputs (benchmarks/
fuzz_readers.py, a short run): success or the reader's own error, nothing else, under a
memory cap and a time cap per input. The long run is the same script with --seconds."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

from cnnviz.core.config import TrainConfig
from cnnviz.core.network import NetworkSpec
from cnnviz.core.runs import Run

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


def test_the_runs_the_mutations_start_from_set_every_field_a_run_records(monkeypatch):
    """Mutations start from valid files: the runs reader meets a field's checks only if
    some sample run sets it to something other than its default."""
    spec = importlib.util.spec_from_file_location("fuzz_readers", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # its dataclasses look it up
    spec.loader.exec_module(module)
    items = [item for data in module.sample_projects()
             for item in json.loads(module.zip_members(data).get("runs.json", b"[]"))]
    defaults = Run(1, "x", NetworkSpec((8, 8, 1), ()), TrainConfig(), "digits").to_dict()
    assert set(items[0]) == set(defaults)
    assert [key for key in defaults if all(item[key] == defaults[key] for item in items)] == []
