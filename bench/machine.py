"""The machine a benchmark ran on, as one header line: figures are only comparable with it."""

from __future__ import annotations

import contextlib
import os
import platform
from datetime import UTC, datetime
from pathlib import Path


def machine_info(*extra: str) -> str:
    """Time, Python, kernel, usable cores, CPU model and load average (plus ``extra``)."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    parts = [
        f"{datetime.now(UTC).isoformat(timespec='seconds')}  python {platform.python_version()} "
        f"({platform.python_implementation()})",
        f"{platform.system()} {platform.release()}",
        f"nproc {usable}",
        cpu,
        f"load average {os.getloadavg()[0]:.2f}",
        *extra,
    ]
    return ", ".join(parts)
