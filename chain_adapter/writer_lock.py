"""One writer per embedded chain: an exclusive ``flock`` on a file in its directory.

Issue 11, item 1: the embedded chain's SQLite files belong to one process. Two
processes sealing blocks on the same files would fork the chain (both build block
N+1 on the same parent), so whatever opens it (``serve``, ``node``, a CLI command
that sends transactions) first takes a non-blocking exclusive lock on
``<chain dir>/writer.lock`` (``flock(2)``, released by the kernel when the holder
dies, so a SIGKILLed hub never leaves a stale lock). The holder writes its pid and
command into the file, so the refused process can say who holds it.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
from pathlib import Path

from chain_adapter.errors import ChainError

LOCK_NAME = "writer.lock"


class ChainLocked(ChainError):
    """Another process has the embedded chain open."""

    code = "chain_locked"
    status_code = 409


def holder_command(argv: list[str] | None = None) -> str:
    """The program and its sub-command words (``notary-hub keys rotate``), never options.

    Options are left out: a path or value given on the command line is nobody else's
    business, and the sub-command is what names the holder.
    """
    args = sys.argv if argv is None else argv
    words = [Path(args[0]).name] if args else ["python"]
    for arg in args[1:]:
        if arg.startswith("-") or len(words) == 3:
            break
        words.append(arg)
    return " ".join(words)


class WriterLock:
    """The held lock on one chain directory; :meth:`release` (or process exit) frees it."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, directory: Path, command: str | None = None) -> WriterLock:
        """Lock ``directory`` (created if missing) or raise :class:`ChainLocked` at once."""
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = directory / LOCK_NAME
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ChainLocked(
                f"the embedded chain in {directory} is in use by {describe_holder(path)}"
            ) from None
        holder = {"pid": os.getpid(), "command": command or holder_command()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        return cls(path, fd)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)  # nobody holds it now: name nobody
        finally:
            os.close(fd)  # closing the descriptor drops the flock


def describe_holder(path: Path) -> str:
    """``notary-hub serve (pid 1234)`` from the lock file, or a vaguer phrase."""
    try:
        holder = json.loads(path.read_text())
        return f"{holder['command']} (pid {int(holder['pid'])})"
    except (OSError, ValueError, KeyError, TypeError):
        # The holder may be between taking the lock and writing its name.
        return "another process"
