"""Durable, private file writes for the wallet directory.

A write goes to a temporary file in the same directory (mode 0600 from creation),
is fsynced, then ``os.replace``d over its name (atomic on POSIX, rename(2)) and the
directory is fsynced so the rename itself survives a crash. A reader therefore sees
the old bytes or the new ones, never a mix.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

__all__ = ["DIR_MODE", "FILE_MODE", "fsync_dir", "is_empty_dir", "make_private_dir", "write_atomic"]

FILE_MODE = 0o600
DIR_MODE = 0o700
TEMP_PREFIX = ".tmp-"


def make_private_dir(directory: Path) -> None:
    """Create ``directory`` (and missing parents) as 0700; tighten an existing one."""
    directory.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    os.chmod(directory, DIR_MODE)


def is_empty_dir(directory: Path) -> bool:
    """Whether ``directory`` is missing or holds nothing (the lock file aside)."""
    if not directory.exists():
        return True
    return all(entry.name == ".lock" for entry in directory.iterdir())


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes, *, replace: bool = True, sync_dir: bool = True) -> None:
    """Write ``data`` to ``path`` atomically, mode 0600.

    With ``replace=False`` an existing ``path`` is left alone and :class:`FileExistsError`
    raised (``os.link`` refuses to overwrite, so no check-then-write race).
    """
    temp = path.with_name(f"{TEMP_PREFIX}{secrets.token_hex(8)}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            os.replace(temp, path)
        else:
            os.link(temp, path)
            temp.unlink()
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise
    if sync_dir:
        fsync_dir(path.parent)
