"""Resumable list uploads on SQLite and PostgreSQL: chunks at the offset only, read back in
order, a stale or racing chunk refused with where to resume, and closed sessions leave no
chunk blobs behind."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker

from evidence.draw.models import Draw, DrawState, UploadState
from evidence.draw.service_errors import (
    InvalidDrawRequest,
    UploadClosed,
    UploadNotFound,
    UploadOffsetMismatch,
)
from evidence.draw.uploads import UploadSessions
from evidence.errors import UploadTooLarge
from evidence.local_blob_store import LocalBlobStore
from tests.evidence.deposit_support import blob_files, blobs

__all__ = ["blobs"]


def add_draw(sessions: sessionmaker[Session], draw_id: str = "d" * 32) -> str:
    with sessions() as session, session.begin():
        session.add(
            Draw(
                id=draw_id,
                organiser="did:key:z6Mk",
                platform="p",
                state=DrawState.UPLOADING,
                config={},
                config_hash=bytes(32),
                beacon_round=1,
                created_at=datetime.now(UTC),
            )
        )
    return draw_id


def test_resumable_upload(sessions: sessionmaker[Session], blobs: LocalBlobStore) -> None:
    uploads = UploadSessions(sessions, blobs, max_chunk_bytes=1 << 16)
    draw = add_draw(sessions)
    data = os.urandom(150_000)
    with sessions() as session, session.begin():
        started = uploads.start(session, draw, "csv", len(data))
    assert started.offset == 0 and started.state is UploadState.OPEN

    first = uploads.append(draw, started.id, 0, [data[:40_000], data[40_000:60_000]])
    assert first.offset == 60_000 and first.chunks == 1
    # A retried chunk (the answer was lost) is refused with the offset to resume from.
    with pytest.raises(UploadOffsetMismatch) as stale:
        uploads.append(draw, started.id, 0, [data[:60_000]])
    assert stale.value.headers == {"Upload-Offset": "60000"}
    with pytest.raises(UploadTooLarge):  # past the chunk limit: nothing kept
        uploads.append(draw, started.id, 60_000, [data[60_000:]])
    assert uploads.get(draw, started.id).offset == 60_000
    uploads.append(draw, started.id, 60_000, [data[60_000:120_000]])
    done = uploads.append(draw, started.id, 120_000, [data[120_000:]])
    assert done.offset == len(data) and done.chunks == 3
    with pytest.raises(UploadOffsetMismatch, match="finish it"):
        uploads.append(draw, started.id, len(data), [b"more"])
    assert b"".join(uploads.read(started.id)) == data

    uploads.close(started.id, UploadState.FINISHED, [])
    assert blob_files(blobs) == []
    with pytest.raises(UploadClosed):
        uploads.append(draw, started.id, len(data), [b"x"])
    assert uploads.get(draw, started.id).state is UploadState.FINISHED


def test_bad_sessions_and_chunks(sessions: sessionmaker[Session], blobs: LocalBlobStore) -> None:
    uploads = UploadSessions(sessions, blobs)
    draw = add_draw(sessions)
    with sessions() as session, session.begin():
        for kind, size in (("xlsx", 10), ("csv", 0), ("csv", "10"), ("jsonl", True)):
            with pytest.raises(InvalidDrawRequest):
                uploads.start(session, draw, kind, size)
        started = uploads.start(session, draw, "jsonl", 10)
    with pytest.raises(UploadNotFound):
        uploads.get("e" * 32, started.id)  # another draw's upload id
    with pytest.raises(InvalidDrawRequest, match="empty"):
        uploads.append(draw, started.id, 0, [b""])
    with pytest.raises(UploadTooLarge):  # more than the declared size
        uploads.append(draw, started.id, 0, [b"x" * 11])
    uploads.append(draw, started.id, 0, [b"12345"])
    uploads.close(started.id, UploadState.REFUSED, [{"line": 1, "reason": "bad"}] * 500)
    closed = uploads.get(draw, started.id)
    assert closed.state is UploadState.REFUSED and len(closed.problems) == 100
    assert blob_files(blobs) == []
