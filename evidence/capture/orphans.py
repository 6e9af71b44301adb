"""The processes a dead hub left behind for a capture session, found and killed.

The recording proxy and the browser run in process groups of their own
(:mod:`evidence.capture.recorder.process`, :mod:`evidence.capture.cdp`), so that a
signal to the hub's terminal is not theirs; a hub killed with ``kill -9`` therefore
leaves them running: a proxy still listening, a browser still drawing. Recovery finds
them by the session directory every one of their command lines names (the proxy's
settings and WARC, the browser's proxy CA), owned by this user, and kills each group, so
that nothing writes into a session being sealed (Linux ``/proc``, proc(5)).
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

__all__ = ["kill_orphans"]


def _command_line(pid: int) -> bytes:
    with contextlib.suppress(OSError):
        return (Path("/proc") / str(pid) / "cmdline").read_bytes()
    return b""


def kill_orphans(directory: Path, proc: Path = Path("/proc")) -> list[int]:
    """Kill (SIGKILL, with its process group) every process of this user whose command
    line names ``directory``; their pids."""
    marker = os.fsencode(str(directory.resolve())) + b"/"
    killed = []
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        pid = int(entry.name)
        with contextlib.suppress(OSError):
            if entry.stat().st_uid != os.getuid() or marker not in _command_line(pid):
                continue
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(os.getpgid(pid), signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            killed.append(pid)
    return killed
