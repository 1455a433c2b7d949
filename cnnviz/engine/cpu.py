"""What the CPU is: model, cores, clock, vector width, caches, and the float32 FLOP/s it
can do at most. Read from Linux's /proc/cpuinfo and /sys; elsewhere the fields stay
unknown (0) and the tuning that reads them falls back to its defaults.

The limit is cores x FLOP per cycle x GHz, FLOP per cycle being vector lanes x 2 (a
fused multiply-add is two FLOPs) x the FMA units of a core. The units are assumed, not
read (no CPU reports them): two per core, as in Intel's Xeon Gold and Platinum since
Skylake-SP and AMD's Zen 2 to 5 (some Xeon Silver and Bronze have one: their limit is
half the one shown). The vector width is that of the execution units, not of the
instructions: AMD's Zen 4 runs AVX-512 instructions on 256-bit units, in two halves.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

FMA_UNITS = 2  # per core, assumed (see the module's docstring)
ZEN4_FAMILY = 25  # AMD family 19h: Zen 3 and Zen 4; only Zen 4 has AVX-512, on 256-bit units
SYS_CPU = Path("/sys/devices/system/cpu")


@dataclass(frozen=True)
class Cpu:
    """A CPU as the tuning and the benchmark see it. Cache sizes in bytes: `l2` of one
    core, `l3` of the whole shared cache cpu0 sees; 0 where unknown."""

    model: str = ""
    vendor: str = ""
    family: int = 0
    cores: int = 1  # physical cores this process may run on
    ghz: float = 0.0
    flags: frozenset[str] = field(default_factory=frozenset)
    l1d: int = 0
    l2: int = 0
    l3: int = 0

    @property
    def vector_bits(self) -> int:
        """Width of the float vector units: 512 for AVX-512 (256 on AMD's Zen 4), 256
        for AVX/AVX2, 128 otherwise (SSE, NEON)."""
        if "avx512f" in self.flags:
            amd_zen4 = self.vendor == "AuthenticAMD" and self.family == ZEN4_FAMILY
            return 256 if amd_zen4 else 512
        if "avx2" in self.flags or "avx" in self.flags:
            return 256
        return 128

    @property
    def vector_name(self) -> str:
        if "avx512f" in self.flags:
            return "AVX-512" + (" (on 256-bit units)" if self.vector_bits == 256 else "")
        return "AVX2" if "avx2" in self.flags else "AVX" if "avx" in self.flags else "SSE/NEON"

    @property
    def flop_per_cycle(self) -> int:
        """float32 FLOP per cycle of one core: lanes x 2 x FMA_UNITS with FMA; without
        it, one add and one multiply unit (lanes x 2)."""
        lanes = self.vector_bits // 32
        return lanes * 2 * (FMA_UNITS if "fma" in self.flags or "asimd" in self.flags else 1)

    @property
    def peak_flops(self) -> float:
        """float32 FLOP/s at most (0 when the clock is unknown)."""
        return self.cores * self.flop_per_cycle * self.ghz * 1e9

    def describe(self) -> str:
        """One line: model, cores, clock, vector width, the FMA assumption, the limit."""
        return (f"{self.model or 'unknown CPU'}: {self.cores} cores x {self.flop_per_cycle} "
                f"float32 FLOP/cycle ({self.vector_name}, {FMA_UNITS} FMA units per core "
                f"assumed) x {self.ghz:.2f} GHz = {self.peak_flops / 1e9:.0f} GFLOP/s; "
                f"caches L2 {self.l2 >> 10} KiB/core, L3 {self.l3 >> 20} MiB")


def parse_cpuinfo(text: str) -> dict[str, str]:
    """The first processor's `key: value` lines of /proc/cpuinfo."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if fields:
                break
            continue
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    return fields


def _size(text: str) -> int:
    """'1024K' / '32M' (sysfs cache sizes) -> bytes."""
    m = re.fullmatch(r"(\d+)\s*([KMG]?)", text.strip())
    if not m:
        return 0
    return int(m[1]) << {"": 0, "K": 10, "M": 20, "G": 30}[m[2]]


def read_caches(root: Path = SYS_CPU) -> dict[str, int]:
    """{'l1d', 'l2', 'l3'} bytes of cpu0's caches (each as one instance)."""
    out = {"l1d": 0, "l2": 0, "l3": 0}
    for index in sorted((root / "cpu0" / "cache").glob("index*")):
        try:
            level = (index / "level").read_text().strip()
            kind = (index / "type").read_text().strip()
            size = _size((index / "size").read_text())
        except OSError:
            continue
        if kind in ("Data", "Unified"):
            out[{"1": "l1d", "2": "l2", "3": "l3"}.get(level, "other")] = size
    out.pop("other", None)
    return out


def physical_cores(cpus: set[int], root: Path = SYS_CPU) -> int:
    """Distinct (package, core) pairs among the logical CPUs `cpus`: SMT siblings share
    one core's vector units."""
    seen = set()
    for n in cpus:
        topology = root / f"cpu{n}" / "topology"
        try:
            seen.add(((topology / "physical_package_id").read_text().strip(),
                      (topology / "core_id").read_text().strip()))
        except OSError:
            seen.add(("cpu", str(n)))
    return max(1, len(seen))


def clock_ghz(fields: dict[str, str], root: Path = SYS_CPU) -> float:
    """The nominal clock from the model name ('@ 2.30GHz', Intel's), else the reported
    'cpu MHz', else cpufreq's maximum (ARM)."""
    m = re.search(r"@\s*([\d.]+)\s*GHz", fields.get("model name", ""))
    if m:
        return float(m[1])
    try:
        return float(fields["cpu MHz"]) / 1000
    except (KeyError, ValueError):
        pass
    try:
        return int((root / "cpu0" / "cpufreq" / "cpuinfo_max_freq").read_text()) / 1e6
    except (OSError, ValueError):
        return 0.0


def this_cpu() -> Cpu:
    """The CPU this process runs on."""
    try:
        fields = parse_cpuinfo(Path("/proc/cpuinfo").read_text())
    except OSError:
        fields = {}
    try:
        cpus = os.sched_getaffinity(0)
    except (AttributeError, OSError):
        cpus = set(range(os.cpu_count() or 1))
    try:
        family = int(fields.get("cpu family", "0"))
    except ValueError:
        family = 0
    return Cpu(model=fields.get("model name", ""), vendor=fields.get("vendor_id", ""),
               family=family, cores=physical_cores(cpus), ghz=clock_ghz(fields),
               flags=frozenset((fields.get("flags") or fields.get("Features", "")).split()),
               **read_caches())
