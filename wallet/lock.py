"""One process at a time per wallet: an exclusive ``flock(2)`` on ``DIR/.lock``.

``LOCK_EX | LOCK_NB`` fails at once instead of waiting, so a second ``notary-hub wallet``
command gets :class:`WalletBusy`. The kernel drops the lock when the holder exits,
however it exits, so a crash never leaves a stale lock behind. ``flock`` locks belong
to an open file description, so a second open in the same process is refused too.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import BinaryIO

from wallet.errors import WalletBusy
from wallet.files import FILE_MODE

__all__ = ["LOCK_NAME", "WalletLock"]

LOCK_NAME = ".lock"


class WalletLock:
    """Held from :meth:`acquire` until :meth:`release`."""

    def __init__(self, fd: int, path: Path) -> None:
        # A file object, not a bare fd: a wallet dropped without close() still frees the
        # lock when it is collected (with a ResourceWarning).
        self._file: BinaryIO | None = os.fdopen(fd, "r+b", buffering=0)
        self.path = path

    @classmethod
    def acquire(cls, directory: Path) -> WalletLock:
        path = directory / LOCK_NAME
        fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise WalletBusy(f"the wallet {directory} is in use by another process") from None
        except BaseException:
            os.close(fd)
            raise
        return cls(fd, path)

    @property
    def held(self) -> bool:
        return self._file is not None

    def release(self) -> None:
        if self._file is None:
            return
        handle, self._file = self._file, None
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        finally:
            handle.close()
