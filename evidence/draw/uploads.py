"""Resumable, streamed uploads of a draw's candidate list.

An upload is a session with an offset (issue 14 item 3: 10 million rows, never the whole
file in memory, resumable). Each request appends one chunk that must start exactly at
the session's offset: it streams into an encrypted blob (the evidence blob store: the
list names people), and only then is it recorded, with a compare-and-set on the offset,
so two racing appends cannot both land and a retried one is refused with the offset to
resume from. A session declares its size up front; finishing one that holds fewer bytes
is refused as cut off. Reading it back streams the chunks in order, decrypted.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from evidence.blob_store import BlobStore, BlobWriter
from evidence.draw.models import UPLOAD_ID_LENGTH, DrawUpload, DrawUploadChunk, UploadState
from evidence.draw.service_errors import (
    InvalidDrawRequest,
    UploadClosed,
    UploadNotFound,
    UploadOffsetMismatch,
)
from evidence.errors import BlobNotFound, UploadTooLarge

FORMATS = ("csv", "jsonl")
DEFAULT_MAX_CHUNK_BYTES = 64 << 20
MAX_LIST_BYTES = 64 << 30  # 10 million rows of long identifiers fit many times over
MAX_PROBLEMS_KEPT = 100


@dataclass(frozen=True, slots=True)
class UploadRecord:
    id: str
    draw_id: str
    format: str
    state: UploadState
    size: int | None
    offset: int
    chunks: int
    problems: tuple[dict[str, Any], ...]

    @classmethod
    def of(cls, row: DrawUpload) -> UploadRecord:
        return cls(
            id=row.id,
            draw_id=row.draw_id,
            format=row.format,
            state=row.state,
            size=row.size,
            offset=row.offset,
            chunks=row.chunks,
            problems=tuple(row.problems or ()),
        )


def _now() -> datetime:
    return datetime.now(UTC)


def offset_headers(offset: int) -> dict[str, str]:
    return {"Upload-Offset": str(offset)}


class ChunkWriter:
    """One chunk streaming into its encrypted blob; recorded by :meth:`commit` only."""

    def __init__(
        self,
        sessions: UploadSessions,
        record: UploadRecord,
        offset: int,
        writer: BlobWriter,
        limit: int,
    ) -> None:
        self._uploads = sessions
        self._record = record
        self._offset = offset
        self._writer = writer
        self._limit = limit

    def write(self, chunk: bytes) -> None:
        try:
            self._writer.write(chunk)
        except UploadTooLarge:
            raise UploadTooLarge(
                f"a chunk is at most {self._limit} bytes here (the declared size and the "
                "chunk limit)"
            ) from None

    def abort(self) -> None:
        self._writer.abort()

    def commit(self) -> UploadRecord:
        try:
            stored = self._writer.commit()
        except BaseException:
            self._writer.abort()
            raise
        return self._uploads.record_chunk(self._record, self._offset, stored.size, stored.sha256)


class UploadSessions:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        blobs: BlobStore,
        *,
        max_chunk_bytes: int = DEFAULT_MAX_CHUNK_BYTES,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._sessions = sessions
        self._blobs = blobs
        self.max_chunk_bytes = max_chunk_bytes
        self._clock = clock

    def start(self, session: Session, draw_id: str, kind: str, size: object) -> UploadRecord:
        """A new open session for ``draw_id``, in the caller's transaction."""
        if kind not in FORMATS:
            raise InvalidDrawRequest(f"format must be one of {', '.join(FORMATS)}")
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_LIST_BYTES:
            raise InvalidDrawRequest(f"size must be the file's length, 1 to {MAX_LIST_BYTES} bytes")
        row = DrawUpload(
            id=secrets.token_hex(UPLOAD_ID_LENGTH // 2),
            draw_id=draw_id,
            format=kind,
            state=UploadState.OPEN,
            size=size,
            offset=0,
            chunks=0,
            created_at=self._clock(),
        )
        session.add(row)
        session.flush()
        return UploadRecord.of(row)

    def get(self, draw_id: str, upload_id: str) -> UploadRecord:
        with self._sessions() as session:
            row = session.get(DrawUpload, upload_id) if len(upload_id) <= 32 else None
            if row is None or row.draw_id != draw_id:
                raise UploadNotFound(f"draw {draw_id[:40]!r} has no upload {upload_id[:40]!r}")
            return UploadRecord.of(row)

    def append(
        self, draw_id: str, upload_id: str, offset: int, chunks: Iterable[bytes]
    ) -> UploadRecord:
        """Append the bytes of ``chunks`` at ``offset``, which must be the session's."""
        writer = self.chunk_writer(draw_id, upload_id, offset)
        try:
            for chunk in chunks:
                writer.write(chunk)
        except BaseException:
            writer.abort()
            raise
        return writer.commit()

    def chunk_writer(self, draw_id: str, upload_id: str, offset: int) -> ChunkWriter:
        """A writer for one chunk at ``offset`` (checked now, and again when committed)."""
        record = self._open(draw_id, upload_id, offset)
        assert record.size is not None
        limit = min(self.max_chunk_bytes, record.size - offset)
        return ChunkWriter(self, record, offset, self._blobs.writer(max_size=limit), limit)

    def read(self, upload_id: str) -> Iterator[bytes]:
        """The uploaded bytes, in order, decrypted chunk by chunk."""
        with self._sessions() as session:
            digests = session.scalars(
                select(DrawUploadChunk.sha256)
                .where(DrawUploadChunk.upload_id == upload_id)
                .order_by(DrawUploadChunk.seq)
            ).all()
        for sha256 in digests:
            yield from self._blobs.open(bytes(sha256))

    def close(self, upload_id: str, state: UploadState, problems: list[dict[str, Any]]) -> None:
        """End the session: its chunks are dropped (blobs no other chunk uses are deleted)."""
        with self._sessions() as session, session.begin():
            digests = session.scalars(
                select(DrawUploadChunk.sha256).where(DrawUploadChunk.upload_id == upload_id)
            ).all()
            session.query(DrawUploadChunk).filter(DrawUploadChunk.upload_id == upload_id).delete()
            session.execute(
                update(DrawUpload)
                .where(DrawUpload.id == upload_id)
                .values(state=state, problems=problems[:MAX_PROBLEMS_KEPT] or None)
            )
        for sha256 in set(bytes(d) for d in digests):
            self._forget(sha256)

    def _open(self, draw_id: str, upload_id: str, offset: int) -> UploadRecord:
        record = self.get(draw_id, upload_id)
        if record.state is not UploadState.OPEN:
            raise UploadClosed(f"upload {record.id} is {record.state.value}")
        if offset != record.offset:
            raise UploadOffsetMismatch(
                f"the upload stands at byte {record.offset}, not {offset}: resume from there",
                headers=offset_headers(record.offset),
            )
        if record.size is not None and offset >= record.size:
            raise UploadOffsetMismatch(
                f"the upload holds all {record.size} declared bytes: finish it",
                headers=offset_headers(record.offset),
            )
        return record

    def record_chunk(
        self, record: UploadRecord, offset: int, size: int, sha256: bytes
    ) -> UploadRecord:
        if size == 0:
            self._forget(sha256)
            raise InvalidDrawRequest("an empty chunk appends nothing")
        try:
            with self._sessions() as session, session.begin():
                moved = session.execute(
                    update(DrawUpload)
                    .where(
                        DrawUpload.id == record.id,
                        DrawUpload.offset == offset,
                        DrawUpload.state == UploadState.OPEN,
                    )
                    .values(offset=offset + size, chunks=DrawUpload.chunks + 1)
                )
                if moved.rowcount != 1:  # type: ignore[attr-defined]
                    raise _raced(session, record.id)
                values = {"upload_id": record.id, "seq": record.chunks, "start": offset}
                session.execute(
                    insert(DrawUploadChunk), [{**values, "size": size, "sha256": sha256}]
                )
                row = session.get(DrawUpload, record.id)
                assert row is not None
                session.refresh(row)
                return UploadRecord.of(row)
        except IntegrityError:
            self._forget(sha256)
            raise _raced_now(self._sessions, record.id) from None
        except UploadOffsetMismatch:
            self._forget(sha256)
            raise

    def _forget(self, sha256: bytes) -> None:
        """Delete a chunk's blob unless a chunk row still uses it (content addressing)."""
        with self._sessions() as session:
            used = session.scalar(
                select(func.count())
                .select_from(DrawUploadChunk)
                .where(DrawUploadChunk.sha256 == sha256)
            )
        if not used:
            with suppress(BlobNotFound):
                self._blobs.delete(sha256)


def _raced(session: Session, upload_id: str) -> UploadOffsetMismatch:
    current = session.scalar(select(DrawUpload.offset).where(DrawUpload.id == upload_id)) or 0
    return UploadOffsetMismatch(
        f"another chunk landed first: the upload stands at byte {current}",
        headers=offset_headers(current),
    )


def _raced_now(sessions: sessionmaker[Session], upload_id: str) -> UploadOffsetMismatch:
    with sessions() as session:
        return _raced(session, upload_id)
