"""The deposit service: accept content or a digest, record the deposit, hand it back.

An upload is streamed into the encrypted blob store (:mod:`evidence.blob_store`),
which addresses content by SHA-256: the same file deposited twice is stored once,
with a deposit row for each deposit. Nothing is stored unless the whole request is
good: metadata is checked before the blob is committed, a declared digest that the
content does not have aborts the upload, and an ``Idempotency-Key`` seen before
either returns the first deposit (same content) or is refused before anything is
stored (other content). A new deposit starts ``received``; the pipeline
(:mod:`evidence.deposit.pipeline`) takes it on from there.

Deposits are read back by their owner only: the depositor DID through the
platform that deposited it, or through the person's own first-party wallet, whichever
platform deposited it (:meth:`evidence.principal.Principal.owns`).
"""

from __future__ import annotations

import hmac
import logging
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from evidence.blob_store import DEFAULT_MAX_SIZE, BlobStore, BlobWriter
from evidence.deposit.batch import BatchDeposits, ItemResult
from evidence.deposit.content_check import checked_chunks, close_chunks
from evidence.deposit.idempotency import request_fingerprint
from evidence.deposit.letter_refresh import LetterRefresher
from evidence.deposit.listing import DepositQuery, list_deposits
from evidence.deposit.models import Deposit, DepositRecord, DepositState, new_deposit_id
from evidence.deposit.request import (
    DeclaredDigests,
    DepositMetadata,
    media_type,
    parse_deposit_request,
)
from evidence.deposit.sm3_check import Sm3CheckingWriter
from evidence.errors import (
    ContentNotStored,
    DepositNotFound,
    DigestMismatch,
    IdempotencyKeyReused,
    InvalidDeposit,
    NotCertified,
    NotDepositOwner,
    Sha256Required,
)
from evidence.multipart import FormUpload
from evidence.principal import Principal
from hub_kernel.request_context import current_request_id

log = logging.getLogger(__name__)

DEFAULT_MEDIA_TYPE = "application/octet-stream"

_DEPOSITS = cast(Table, Deposit.__table__)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class DepositService:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        blobs: BlobStore,
        *,
        max_upload_bytes: int = DEFAULT_MAX_SIZE,
        clock: Callable[[], datetime] = _utc_now,
        poll_seconds: float = 1.0,
    ) -> None:
        self._sessions = sessions
        self._blobs = blobs
        self.max_upload_bytes = max_upload_bytes
        self.poll_seconds = poll_seconds  # how often the pipeline looks: a retry hint
        self._clock = clock
        self._listeners: list[Callable[[], None]] = []
        self._batches = BatchDeposits(sessions, clock=clock, notify=self._notify)
        self.refresher: LetterRefresher | None = None  # with extra chains (issue 16)

    def subscribe(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after each new deposit commits (the pipeline wakes on it)."""
        self._listeners.append(listener)

    # -- deposits -----------------------------------------------------------------------

    def open_upload(self, declared_sm3: bytes | None = None) -> BlobWriter:
        """A blob writer for an upload's content, bounded by the upload limit.

        An SM3 digest declared up front is checked as the content streams in (the
        store checks SHA-256 itself at commit, whenever it was declared).
        """
        writer = self._blobs.writer(max_size=self.max_upload_bytes)
        return Sm3CheckingWriter(writer, declared_sm3) if declared_sm3 is not None else writer

    def open_form_upload(self, fields: Mapping[str, str]) -> BlobWriter:
        """:meth:`open_upload` for :class:`~evidence.multipart.FormUploadParser`, given the
        form fields before the file part (bad ones fail here, before any content)."""
        _, declared = parse_deposit_request(fields, from_form=True)
        return self.open_upload(declared.sm3)

    def deposit_file(
        self,
        principal: Principal,
        metadata: DepositMetadata,
        chunks: Iterable[bytes],
        declared: DeclaredDigests | None = None,
    ) -> DepositRecord:
        """Deposit the content ``chunks`` (read once, never held whole)."""
        writer = self.open_upload(declared.sm3 if declared is not None else None)
        try:
            for chunk in chunks:
                writer.write(chunk)
        except BaseException:
            writer.abort()
            raise
        return self.deposit_upload(principal, metadata, writer, declared)

    def deposit_form(
        self, principal: Principal, form: FormUpload, *, idempotency_key: str | None = None
    ) -> DepositRecord:
        """Deposit a received multipart form (:mod:`evidence.multipart`) whose sink is a writer."""
        sink = form.sink
        try:
            if sink is None:
                raise InvalidDeposit("a multipart deposit needs a 'file' part")
            metadata, declared = parse_deposit_request(
                form.fields, idempotency_key=idempotency_key, from_form=True
            )
            if metadata.file_name is None and form.file_name is not None:
                metadata = replace(metadata, file_name=form.file_name)
            if metadata.media_type is None:
                part_type = _media_type_or_none(form.file_media_type)
                metadata = replace(metadata, media_type=part_type or DEFAULT_MEDIA_TYPE)
        except BaseException:
            if sink is not None:
                sink.abort()
            raise
        assert isinstance(sink, BlobWriter)
        return self.deposit_upload(principal, metadata, sink, declared)

    def deposit_upload(
        self,
        principal: Principal,
        metadata: DepositMetadata,
        writer: BlobWriter,
        declared: DeclaredDigests | None = None,
    ) -> DepositRecord:
        """Commit the content ``writer`` holds and record its deposit; abort it on any error."""
        declared = declared or DeclaredDigests()
        try:
            expected = declared.sha256
            replayed = self._by_idempotency_key(principal, metadata.idempotency_key)
            if replayed is not None:
                # The retry must carry the same content: commit only if it is (nothing new
                # is stored then, the blob exists), else refuse before anything is stored.
                if expected is not None and not hmac.compare_digest(expected, replayed.sha256):
                    raise _key_reused()
                expected = replayed.sha256
            if declared.sm3 is not None and not (
                isinstance(writer, Sm3CheckingWriter) and writer.expected == declared.sm3
            ):
                raise InvalidDeposit("an SM3 digest must be declared before the file part")
            try:
                blob = writer.commit(expected_sha256=expected)
            except DigestMismatch:
                if replayed is not None and declared.sha256 is None:
                    raise _key_reused() from None
                raise
        except BaseException:
            writer.abort()
            raise
        if replayed is not None:
            self._check_replay(
                replayed, principal, metadata, sha256=blob.sha256, sm3=blob.sm3, stored=True
            )
            return replayed
        return self._record(
            principal, metadata, sha256=blob.sha256, sm3=blob.sm3, size=blob.size, stored=True
        )

    def deposit_digest(
        self,
        principal: Principal,
        metadata: DepositMetadata,
        *,
        sha256: bytes | None,
        sm3: bytes | None = None,
    ) -> DepositRecord:
        """Record a digest-only deposit: the content stays with the depositor."""
        if sha256 is None:
            raise Sha256Required(
                "a digest-only deposit needs the content's SHA-256 (sha256): the timestamp and "
                "the anchor are over SHA-256; an SM3 digest (sm3) may accompany it"
            )
        if len(sha256) != 32 or (sm3 is not None and len(sm3) != 32):
            raise InvalidDeposit("SHA-256 and SM3 digests are 32 bytes")
        replayed = self._by_idempotency_key(principal, metadata.idempotency_key)
        if replayed is not None:
            self._check_replay(replayed, principal, metadata, sha256=sha256, sm3=sm3, stored=False)
            return replayed
        return self._record(principal, metadata, sha256=sha256, sm3=sm3, size=None, stored=False)

    def deposit_json(
        self, principal: Principal, body: Any, *, idempotency_key: str | None = None
    ) -> DepositRecord:
        """A digest-only deposit from its JSON request body."""
        if not isinstance(body, dict):
            raise InvalidDeposit("the JSON body must be an object")
        metadata, declared = parse_deposit_request(body, idempotency_key=idempotency_key)
        return self.deposit_digest(principal, metadata, sha256=declared.sha256, sm3=declared.sm3)

    def deposit_batch(self, principal: Principal, body: Any) -> list[ItemResult]:
        """Up to a thousand digest deposits from a batch body (:mod:`evidence.deposit.batch`)."""
        return self._batches.deposit_batch(principal, body)

    # -- reading ------------------------------------------------------------------------

    def get(self, principal: Principal, deposit_id: str) -> DepositRecord:
        with self._sessions() as session:
            row = session.get(Deposit, deposit_id) if len(deposit_id) <= 32 else None
            if row is None:
                raise DepositNotFound(f"no deposit {deposit_id[:40]!r}")
            record = DepositRecord.of(row)
        if not principal.owns(record.depositor, record.platform):
            raise NotDepositOwner("only the depositor, through its platform, may read a deposit")
        return record

    def list_own(
        self, principal: Principal, query: DepositQuery
    ) -> tuple[list[DepositRecord], str | None]:
        """A page of the caller's own deposits, newest first, and the next page's cursor."""
        return list_deposits(self._sessions, principal, query)

    def credential(
        self, principal: Principal, deposit_id: str, *, refresh: bool = False
    ) -> dict[str, Any]:
        """The signed custody letter; :class:`NotCertified` until the deposit is certified.
        ``refresh``: re-issued with the anchor receipts now available
        (:mod:`evidence.deposit.letter_refresh`)."""
        record = self.get(principal, deposit_id)
        with self._sessions() as session:
            letter = session.scalar(select(Deposit.letter).where(Deposit.id == record.id))
        if record.state is not DepositState.CERTIFIED or letter is None:
            raise NotCertified(
                f"deposit {record.id} is {record.state.value}, not yet certified",
                # RFC 9110 §10.2.3: ask again after the pipeline's next pass.
                headers={"Retry-After": str(max(1, math.ceil(self.poll_seconds)))},
            )
        if refresh and self.refresher is not None:
            return self.refresher.refresh(record, dict(letter))
        return dict(letter)

    def letter_for_status(self, deposit_id: str) -> dict[str, Any]:
        """A certified deposit's letter, for its public verification status only: never
        served (:mod:`evidence.letter_pdf.service` says what the status reveals)."""
        with self._sessions() as session:
            query = select(Deposit.letter).where(Deposit.id == deposit_id)
            letter = session.scalar(query) if len(deposit_id) <= 32 else None
        if letter is None:
            raise DepositNotFound(f"no certified deposit {deposit_id[:40]!r}")
        return dict(letter)

    def open_content(
        self, principal: Principal, deposit_id: str
    ) -> tuple[DepositRecord, Iterator[bytes]]:
        """The deposit and its content, re-checked against the recorded SHA-256 as it streams."""
        record = self.get(principal, deposit_id)
        if not record.content_stored:
            raise ContentNotStored(f"deposit {record.id} is digest-only: no content is stored")
        chunks = self._blobs.open(record.sha256)
        # Start reading now, so a missing or unreadable blob is an error, not a broken body.
        try:
            first = next(chunks, b"")
        except BaseException:
            close_chunks(chunks)
            raise
        return record, checked_chunks(first, chunks, record.sha256)

    # -- internals ----------------------------------------------------------------------

    def _record(
        self,
        principal: Principal,
        metadata: DepositMetadata,
        *,
        sha256: bytes,
        sm3: bytes | None,
        size: int | None,
        stored: bool,
    ) -> DepositRecord:
        values: dict[str, Any] = {
            "id": new_deposit_id(),
            "depositor": principal.did,
            "platform": principal.platform,
            "idempotency_key": metadata.idempotency_key,
            "request_fingerprint": (
                request_fingerprint(principal.did, metadata, sha256=sha256, sm3=sm3, stored=stored)
                if metadata.idempotency_key is not None
                else None
            ),
            "title": metadata.title,
            "description": metadata.description,
            "tags": list(metadata.tags),
            "media_type": metadata.media_type,
            "file_name": metadata.file_name,
            "size": size,
            "sha256": sha256,
            "sm3": sm3,
            "content_stored": stored,
            "state": DepositState.RECEIVED,
            "received_at": self._clock(),
            "attempts": 0,
            "request_id": current_request_id(),
        }
        try:
            # A Core INSERT: the ORM's unit of work costs more than the row itself here.
            with self._sessions() as session, session.begin():
                session.execute(insert(_DEPOSITS), [values])
        except IntegrityError:
            # Two requests with one Idempotency-Key raced; the first one's row stands.
            # (A stored blob stays: content-addressed, it may be another deposit's too.)
            replayed = self._by_idempotency_key(principal, metadata.idempotency_key)
            if replayed is None:
                raise
            self._check_replay(replayed, principal, metadata, sha256=sha256, sm3=sm3, stored=stored)
            return replayed
        record = DepositRecord.written(values)
        log.info("deposit received", extra={"deposit": record.id, "stored": stored})
        self._notify()
        return record

    def _notify(self) -> None:
        for listener in self._listeners:
            listener()

    def _by_idempotency_key(self, principal: Principal, key: str | None) -> DepositRecord | None:
        if key is None:
            return None
        with self._sessions() as session:
            row = session.scalar(
                select(Deposit).where(
                    Deposit.platform == principal.platform, Deposit.idempotency_key == key
                )
            )
            return DepositRecord.of(row) if row is not None else None

    @staticmethod
    def _check_replay(
        replayed: DepositRecord,
        principal: Principal,
        metadata: DepositMetadata,
        *,
        sha256: bytes,
        sm3: bytes | None,
        stored: bool,
    ) -> None:
        """A retry must ask for exactly what the first request did (its fingerprint);
        rows from before fingerprints were kept are compared by depositor and SHA-256."""
        if replayed.request_fingerprint is not None:
            fingerprint = request_fingerprint(
                principal.did, metadata, sha256=sha256, sm3=sm3, stored=stored
            )
            if not hmac.compare_digest(replayed.request_fingerprint, fingerprint):
                raise _key_reused()
        elif replayed.depositor != principal.did or not hmac.compare_digest(
            replayed.sha256, sha256
        ):
            raise _key_reused()


def _key_reused() -> IdempotencyKeyReused:
    return IdempotencyKeyReused(
        "Idempotency-Key is already used for a different request payload "
        "(other content, metadata or depositor)"
    )


def _media_type_or_none(value: str | None) -> str | None:
    try:
        return media_type(value)
    except InvalidDeposit:
        return None  # a browser's odd Content-Type for a part is not the depositor's error
