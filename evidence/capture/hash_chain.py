"""A capture's hash chain on disk: append-only JSON Lines, one ``fsync`` per entry.

Spec: ``docs/capture-hash-chain.md`` (our own; §2 the file and what a crash may leave).
The entry format is :mod:`evidence.capture.chain_entry`; the periodic RFC 3161 stamps
are :mod:`evidence.capture.chain_checkpoints`; a third party's check is
:func:`evidence.capture.chain_verify.verify_chain`.

An item counts as recorded once :meth:`HashChain.append` has returned: its line was
written in one piece and ``fsync``ed. A crash (``kill -9``, power loss) can therefore only
leave a torn last line, which :meth:`HashChain.open` drops; damage anywhere else is
refused as :class:`~evidence.capture.errors.CaptureChainCorrupt`, never repaired.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from evidence.capture.chain_entry import (
    TIMESTAMP,
    ZERO_HASH,
    ChainEntry,
    Stamp,
    check_link,
    make_entry,
    parse_line,
)
from evidence.capture.errors import (
    CaptureChainBroken,
    CaptureChainCorrupt,
    CaptureError,
    InvalidCaptureItem,
)
from evidence.timestamping.protocol import TimestampToken

__all__ = ["HashChain", "read_chain"]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def read_chain(path: Path) -> Iterator[ChainEntry]:
    """The entries of a chain file as they stand, each line parsed strictly (§4 step 1,
    3); a torn last line is a failure here: only the hub's own reopening drops it."""
    with path.open("rb") as file:
        for seq, line in enumerate(file):
            if not line.endswith(b"\n"):
                raise CaptureChainBroken(f"chain entry {seq}: a torn last line", seq)
            yield parse_line(line, seq)


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _recover(fd: int) -> tuple[ChainEntry | None, int]:
    """(the last entry, the size kept) after checking every complete line and dropping
    a torn tail (the only thing a crash can leave, §2)."""
    head: ChainEntry | None = None
    kept = 0
    with os.fdopen(os.dup(fd), "rb") as file:
        for seq, line in enumerate(file):
            if not line.endswith(b"\n"):
                break  # torn: written but never acknowledged
            try:
                entry = parse_line(line, seq)
                check_link(entry, seq, head.hash if head else ZERO_HASH)
            except CaptureChainBroken as exc:
                raise CaptureChainCorrupt(f"the chain file is damaged: {exc.message}") from None
            head, kept = entry, kept + len(line)
    if os.fstat(fd).st_size != kept:
        os.ftruncate(fd, kept)
        os.fsync(fd)
    return head, kept


class HashChain:
    """The chain of one capture, open for appending by one writer (a ``flock``)."""

    def __init__(
        self, path: Path, fd: int, head: ChainEntry | None, size: int, clock: Callable[[], datetime]
    ) -> None:
        self.path = path
        self._fd = fd
        self._head = head
        self._size = size
        self._clock = clock
        self._lock = threading.Lock()

    @classmethod
    def open(cls, path: Path, *, clock: Callable[[], datetime] = _utc_now) -> HashChain:
        """Create the chain file, or reopen it after a stop or a crash."""
        created = not path.exists()
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise CaptureError(f"the chain {path.name} is open elsewhere") from None
            if created:
                _fsync_directory(path.parent)
            head, size = _recover(fd)
        except BaseException:
            os.close(fd)
            raise
        return cls(path, fd, head, size, clock)

    @property
    def head(self) -> ChainEntry | None:
        """The last entry recorded, None while the chain is empty."""
        return self._head

    def __len__(self) -> int:
        return 0 if self._head is None else self._head.seq + 1

    def append(self, kind: str, digest: bytes, *, ref: str | None = None) -> ChainEntry:
        """Record an item by its SHA-256 ``digest``; returns once it is on disk."""
        if kind == TIMESTAMP:
            raise InvalidCaptureItem("timestamp entries are made by append_stamp")
        return self._append(
            lambda seq, prev: make_entry(seq, kind, digest, self._clock(), prev, ref=ref)
        )

    def append_stamp(self, head: ChainEntry, token: TimestampToken) -> ChainEntry:
        """Record an RFC 3161 token over ``head`` (an entry of this chain)."""
        if token.hash_algorithm != "sha256" or token.message_imprint != bytes.fromhex(head.hash):
            raise InvalidCaptureItem("the token is not over that entry's hash")
        stamp = Stamp(head.seq, head.hash, token.token, token.certificates)
        digest = hashlib.sha256(token.token).digest()
        return self._append(
            lambda seq, prev: make_entry(seq, TIMESTAMP, digest, self._clock(), prev, stamp=stamp)
        )

    def _append(self, build: Callable[[int, str], ChainEntry]) -> ChainEntry:
        with self._lock:
            if self._fd < 0:
                raise CaptureError("the chain is closed")
            head = self._head
            entry = build(len(self), head.hash if head else ZERO_HASH)
            line = entry.line()
            try:
                written = 0
                while written < len(line):
                    written += os.write(self._fd, line[written:])
                os.fsync(self._fd)
            except OSError as exc:
                # Never leave a partial line for the next entry to follow.
                os.ftruncate(self._fd, self._size)
                raise CaptureError(f"the chain entry could not be written ({exc})") from None
            self._size += len(line)
            self._head = entry
            return entry

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)  # releases the flock
                self._fd = -1

    def __enter__(self) -> HashChain:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
