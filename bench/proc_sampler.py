"""CPU time and resident memory of a process and its descendants, sampled from ``/proc``
(proc(5): ``stat`` fields 14-15 utime/stime in clock ticks, ``smaps_rollup`` Pss), for the
benchmarks that run the hub as a subprocess. A descendant that exits between samples
keeps the CPU time of its last sample (a lower bound)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds) of ``pid``, or None when it is gone."""
    try:
        raw = (Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()  # the name may hold spaces
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS


def _rss(pid: int) -> int:
    """The proportional set size (``smaps_rollup`` Pss): a page shared by Chromium's
    processes counts once in their sum, not once per process as VmRSS would."""
    try:
        for line in (Path("/proc") / str(pid) / "smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def descendants(root: int) -> set[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (found := _stat(int(entry.name))) is not None:
            parents[int(entry.name)] = found[0]
    tree, grew = {root}, True
    while grew:
        added = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= added
        grew = bool(added)
    return tree - {root}


class ProcSampler:
    def __init__(self, root: int, interval: float = 0.25) -> None:
        self._root = root
        self._interval = interval
        self._start: dict[int, float] = {}
        self._sampled = False
        self._last: dict[int, float] = {}
        self._peak_rss = 0
        self._stop = threading.Event()

    def sample(self) -> None:
        rss = 0
        for pid in {self._root} | descendants(self._root):
            found = _stat(pid)
            if found is None:
                continue
            # A process born after the first sample counts from its birth.
            self._start.setdefault(pid, found[1] if not self._sampled else 0.0)
            self._last[pid] = found[1]
            rss += _rss(pid) if pid != self._root else 0
        self._peak_rss = max(self._peak_rss, rss)
        self._sampled = True

    @contextmanager
    def running(self) -> Iterator[None]:
        self.sample()
        thread = threading.Thread(target=self._loop, daemon=True)
        thread.start()
        try:
            yield
        finally:
            self._stop.set()
            thread.join()
            self.sample()

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self.sample()

    def children_cpu(self) -> float:
        return sum(self._last[p] - self._start[p] for p in self._last if p != self._root)

    def own_cpu(self) -> float:
        return self._last[self._root] - self._start[self._root]

    def children_peak_rss(self) -> int:
        return self._peak_rss
