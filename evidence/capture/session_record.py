"""What one capture session has recorded so far, on disk and in its hash chain (issue 15).

Every item is a file in the session directory, named by its path in the future WACZ
(``screenshots/shot-0001.png``), hashed and appended to the chain the moment it is
written (``docs/capture-hash-chain.md`` §1: the entry's ``ref`` is that path).

The action log is chained line by line, not in periodic segments: each line (JSON,
RFC 8785) is written, ``fsync``ed and its SHA-256 appended as an ``action`` entry with
``ref`` ``capture/actions.jsonl#<n>`` at once. A user acts a few times a second at
most, so one ``fsync`` per action costs nothing, and an action is then fixed in order
among the screenshots and stamps it caused, not only at the next segment's end (a crash
loses no acknowledged action). The whole file is chained once more at the end.

Kinds (§1's fixed list): an MHTML snapshot is a ``screenshot`` (a rendering of the page,
its ``ref`` says which), the proxy's event log a ``warc-record`` (the proxy's own record
of what it refused), the video a ``video-segment``.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import rfc8785

from evidence.capture.browser import Action
from evidence.capture.hash_chain import HashChain
from evidence.capture.wacz_package import Page

__all__ = ["ActionLog", "RecordedFile", "RecordedSession", "SessionFiles", "file_sha256"]

ACTIONS_PATH = "capture/actions.jsonl"


def file_sha256(path: Path) -> str:
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


@dataclass(frozen=True)
class RecordedFile:
    """A file of the session: its path in the package, where it is, its chain entry."""

    path: str
    source: Path
    kind: str
    sha256: str
    size: int
    chain_seq: int


@dataclass(frozen=True)
class RecordedSession:
    """An ended session, ready for sealing (:func:`~.session_package.seal_package`)."""

    directory: Path
    started_at: datetime
    ended_at: datetime
    preflight_sha256: str
    #: The WARC file(s): ``archive/<name>`` in the package.
    warcs: tuple[RecordedFile, ...]
    #: Every other file, in the order recorded (the video, if any, among them).
    files: tuple[RecordedFile, ...]
    chain_path: Path
    chain_head: str
    chain_length: int
    #: The final URL of every navigation that loaded, in order.
    navigations: tuple[str, ...]
    #: The browser ended on its own (idle, maximum duration, crash) before ``end``.
    interrupted: bool
    interruption_reason: str | None
    #: Why there is no video (no frame drawn, ffmpeg failed), None when there is one.
    video_error: str | None = None

    def file(self, path: str) -> RecordedFile:
        return next(item for item in (*self.warcs, *self.files) if item.path == path)

    def pages(self) -> tuple[Page, ...]:
        return tuple(Page(url) for url in dict.fromkeys(self.navigations))


class SessionFiles:
    """Writes the session's items into its directory and chains each one as it lands."""

    def __init__(self, directory: Path, chain: HashChain) -> None:
        self.directory = directory
        self.chain = chain
        self.recorded: list[RecordedFile] = []
        self._counters: dict[str, int] = {}

    def next_path(self, folder: str, stem: str, extension: str) -> str:
        number = self._counters.get(folder, 0) + 1
        self._counters[folder] = number
        return f"{folder}/{stem}-{number:04d}.{extension}"

    def source(self, path: str) -> Path:
        target = self.directory / path
        target.parent.mkdir(mode=0o700, exist_ok=True)
        return target

    def write(self, path: str, kind: str, data: bytes) -> RecordedFile:
        """``data`` written and ``fsync``ed at ``path``, then chained."""
        target = self.source(path)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        return self.add(path, kind, target)

    def add(self, path: str, kind: str, source: Path) -> RecordedFile:
        """Chain a file already on disk (a WARC, the video, a saved original)."""
        digest = file_sha256(source)
        entry = self.chain.append(kind, bytes.fromhex(digest), ref=path)
        item = RecordedFile(path, source, kind, digest, source.stat().st_size, entry.seq)
        self.recorded.append(item)
        return item


class ActionLog:
    """``capture/actions.jsonl``: one RFC 8785 line per action, each chained at once."""

    def __init__(self, files: SessionFiles) -> None:
        self._files = files
        self.path = files.source(ACTIONS_PATH)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        self._out = os.fdopen(fd, "wb")
        self._count = 0

    def write(self, action: Action) -> int:
        """Log ``action`` (already masked by the browser); its chain entry's ``seq``."""
        line: dict[str, Any] = {
            "n": self._count,
            "at": action.at,
            "kind": action.kind,
            "detail": action.detail,
        }
        data = rfc8785.dumps(line) + b"\n"
        self._out.write(data)
        self._out.flush()
        os.fsync(self._out.fileno())
        ref = f"{ACTIONS_PATH}#{self._count}"
        self._count += 1
        return self._files.chain.append("action", hashlib.sha256(data).digest(), ref=ref).seq

    def close(self) -> RecordedFile:
        """Close the log and chain the whole file."""
        self._out.close()
        return self._files.add(ACTIONS_PATH, "action", self.path)
