"""Captures whose hub process died, found and sealed (issue 15, "Reliability").

"Kill -9 the hub mid-session: on restart the session is marked interrupted. Everything
recorded up to the last chain entry is kept and can be sealed with the interruption
stated in the letter; nothing is silently lost."

:class:`CaptureRecovery` runs at start and every ``interval`` on a
:class:`~hub_kernel.worker.Worker`: :meth:`CaptureService.recover_interrupted` marks the
captures whose lease lapsed, then each one due is rebuilt from its directory
(:func:`recorded_from_directory`) and sealed.

What a dead session leaves, and what is kept (``docs/capture-hash-chain.md`` §3):

- the chain: a torn last line is dropped on reopening (:class:`HashChain`), every whole
  entry kept; the database learns its real length (``chain_progress``), so the letter's
  interruption reason names the chain's true last entry;
- every file a chain entry names whose SHA-256 still matches: screenshots, snapshots,
  originals, notes, the pre-flight report;
- what the dead proxy, ffmpeg and action log were still writing: the WARC cut back to its
  last whole record, the action log to its last whole line (each line was chained as it
  was written), the video as far as ffmpeg got. Each is chained now, after the entries of
  the session, so the chain itself shows they were added at recovery, and the head is
  stamped a last time. A file that is empty or unreadable is left out and logged.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import logging
import zlib
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from evidence.capture.chain_checkpoints import Checkpointer
from evidence.capture.errors import CaptureError
from evidence.capture.hash_chain import HashChain, read_chain
from evidence.capture.models import CaptureRecord
from evidence.capture.orphans import kill_orphans
from evidence.capture.sealing import CaptureSealer
from evidence.capture.service import CaptureService
from evidence.capture.session import CHAIN_FILE, PREFLIGHT_PATH, VIDEO_PATH
from evidence.capture.session_record import ACTIONS_PATH, RecordedFile, RecordedSession, file_sha256
from evidence.timestamping.protocol import TimestampAuthority
from hub_kernel.worker import Worker

__all__ = ["CaptureRecovery", "recorded_from_directory"]

log = logging.getLogger(__name__)
WARC_NAME = "capture.warc.gz"
WARC_PATH = f"archive/{WARC_NAME}"
EVENTS_PATH = "capture/events.jsonl"
_CHUNK = 1 << 20


def _whole_warc(source: Path, target: Path) -> bool:
    """``source`` up to its last whole record, at ``target``; whether any record was."""
    end = 0
    with (
        source.open("rb") as stream,
        contextlib.suppress(
            ArchiveLoadFailed, EOFError, OSError, ValueError, zlib.error, gzip.BadGzipFile
        ),
    ):
        records = ArchiveIterator(stream)
        for record in records:
            record.content_stream().read()
            records.read_to_end(record)
            end = records.get_record_offset() + records.get_record_length()
    if end == 0:
        return False
    with source.open("rb") as stream, target.open("wb") as out:
        left = end
        while left and (chunk := stream.read(min(left, _CHUNK))):
            out.write(chunk)
            left -= len(chunk)
    target.chmod(0o600)
    return True


def _whole_lines(path: Path) -> None:
    """Cut ``path`` back to its last line feed (a line being written is not kept)."""
    data = path.read_bytes()
    path.write_bytes(data[: data.rfind(b"\n") + 1])


def recorded_from_directory(
    directory: Path,
    record: CaptureRecord,
    authority: TimestampAuthority,
    found: Callable[[bytes, int], None] | None = None,
) -> RecordedSession:
    """The dead session in ``directory`` as a :class:`RecordedSession` to seal;
    ``found`` hears of the chain's head and length as the session left it."""
    chain = HashChain.open(directory / CHAIN_FILE)
    try:
        named: dict[str, tuple[str, str, int]] = {}
        for entry in read_chain(chain.path):
            if entry.ref and "#" not in entry.ref:
                named[entry.ref] = (entry.kind, entry.sha256, entry.seq)
        if found is not None and chain.head is not None:
            found(bytes.fromhex(chain.head.hash), len(chain))
        files = [
            RecordedFile(ref, directory / ref, kind, sha, (directory / ref).stat().st_size, seq)
            for ref, (kind, sha, seq) in named.items()
            if (directory / ref).is_file() and file_sha256(directory / ref) == sha
        ]
        warcs = _late(chain, directory, named, files)
        Checkpointer(chain, authority).finish()
        head = chain.head
        assert head is not None
        return RecordedSession(
            directory=directory,
            started_at=record.started_at or record.created_at,
            ended_at=record.ended_at or record.created_at,
            preflight_sha256=named[PREFLIGHT_PATH][1],
            warcs=warcs,
            files=tuple(f for f in files if f.path != WARC_PATH),
            chain_path=chain.path,
            chain_head=head.hash,
            chain_length=len(chain),
            navigations=_navigations(directory / ACTIONS_PATH),
            interrupted=True,
            interruption_reason=record.interruption_reason,
        )
    finally:
        chain.close()


def _late(
    chain: HashChain, directory: Path, named: Mapping[str, object], files: list[RecordedFile]
) -> tuple[RecordedFile, ...]:
    """Chain what the dead processes were still writing; the WARC(s) to package."""

    def add(path: str, kind: str, source: Path) -> RecordedFile:
        entry = chain.append(kind, bytes.fromhex(file_sha256(source)), ref=path)
        item = RecordedFile(path, source, kind, entry.sha256, source.stat().st_size, entry.seq)
        files.append(item)
        return item

    if WARC_PATH in named:
        return tuple(f for f in files if f.path == WARC_PATH)
    warcs: tuple[RecordedFile, ...] = ()
    raw = directory / WARC_NAME
    kept = directory / "archive" / WARC_NAME
    kept.parent.mkdir(mode=0o700, exist_ok=True)
    if raw.is_file() and _whole_warc(raw, kept):
        warcs = (add(WARC_PATH, "warc-record", kept),)
    else:
        log.warning("capture %s: no whole WARC record to keep", directory.name)
    events = directory / "events.jsonl"
    if events.is_file() and EVENTS_PATH not in named:
        _whole_lines(events)
        add(EVENTS_PATH, "warc-record", events)
    actions = directory / ACTIONS_PATH
    if actions.is_file() and ACTIONS_PATH not in named:
        _whole_lines(actions)
        add(ACTIONS_PATH, "action", actions)
    video = directory / VIDEO_PATH
    if video.is_file() and video.stat().st_size > 0 and VIDEO_PATH not in named:
        add(VIDEO_PATH, "video-segment", video)
    return warcs


def _navigations(actions: Path) -> tuple[str, ...]:
    if not actions.is_file():
        return ()
    urls = []
    for line in actions.read_text("utf-8").splitlines():
        with contextlib.suppress(ValueError):
            action = json.loads(line)
            if action.get("kind") == "navigate":
                urls.append(str(action.get("detail", {}).get("url", "")))
    return tuple(url for url in urls if url)


class CaptureRecovery:
    """Marks interrupted captures and seals every capture due, each pass."""

    def __init__(
        self,
        service: CaptureService,
        sealer: CaptureSealer,
        directory: Path,
        authority: TimestampAuthority,
        *,
        interval: float = 30.0,
    ) -> None:
        self._service = service
        self._sealer = sealer
        self._directory = directory
        self._authority = authority
        self._worker = Worker("capture-recovery", self.run_once, interval)

    def start(self) -> None:
        self._worker.start()

    def stop(self) -> None:
        self._worker.stop()

    def run_once(self, now: datetime | None = None) -> int:
        """One pass; how many captures were sealed."""
        for moved in self._service.recover_interrupted(now):
            log.warning("capture %s interrupted: %s", moved.id, moved.interruption_reason)
        sealed = 0
        for capture_id in self._service.due_for_sealing(now):
            try:
                self.seal(capture_id)
                sealed += 1
            except CaptureError as error:  # kept on the row; offered again next pass
                log.warning("capture %s not sealed: %s", capture_id, error.message)
        return sealed

    def seal(self, capture_id: str) -> CaptureRecord:
        record = self._service.record(capture_id)
        directory = self._directory / capture_id
        for pid in kill_orphans(directory):  # nothing may write into what is sealed
            log.warning("capture %s: killed process %d its dead hub left running", capture_id, pid)
        if not (directory / CHAIN_FILE).is_file():
            raise CaptureError(f"capture {capture_id} has no chain in {directory}")

        def found(head: bytes, length: int) -> None:
            if length > record.chain_length:  # entries the database had not heard of
                self._service.chain_progress(capture_id, head, length)

        recorded = recorded_from_directory(directory, record, self._authority, found)
        return self._sealer.seal(capture_id, recorded)
