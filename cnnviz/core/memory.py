"""Memory: sizes as a person reads them, and how much the machine has free.

(The estimate of what training a network needs is added here too, so that every
number about memory comes from this one module.)
"""

from __future__ import annotations

import os


def format_bytes(n: float) -> str:
    """1536 -> '1.5 KiB': sizes as a person reads them."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def available_memory() -> int | None:
    """Bytes of memory free for a new allocation now (Linux: MemAvailable, which counts
    caches the kernel gives back), or None where the system does not say."""
    try:
        with open("/proc/meminfo", "rb") as f:
            for line in f:
                if line.startswith(b"MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None
