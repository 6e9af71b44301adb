"""The deposit service on SQLite and PostgreSQL with the real encrypted local blob store."""

from __future__ import annotations

import hashlib
import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from cryptography.hazmat.primitives import hashes
from sqlalchemy import Engine, inspect
from sqlalchemy.orm import Session, sessionmaker

from evidence.deposit.models import DepositState, EvidenceBase
from evidence.deposit.request import DepositMetadata, parse_deposit_request
from evidence.deposit.service import DepositService
from evidence.digests import SM3, digest_multibase
from evidence.errors import (
    BlobCorrupt,
    ContentNotStored,
    DepositNotFound,
    DigestMismatch,
    InvalidDeposit,
    InvalidFileName,
    NotCertified,
    NotDepositOwner,
    UnsupportedHashAlgorithm,
    UploadTooLarge,
)
from evidence.local_blob_store import LocalBlobStore
from evidence.multipart import FormUploadParser
from evidence.principal import Principal
from tests.evidence.deposit_support import (
    alice,
    blob_files,
    blobs,
    bob,
    chunks_of,
    deposit_count,
    multipart_body,
    service,
)

__all__ = ["alice", "blobs", "bob", "service"]  # fixtures, used by name below


def sm3(data: bytes) -> bytes:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()


def unchanged(sessions: sessionmaker[Session], blobs: LocalBlobStore) -> tuple[int, list[object]]:
    return deposit_count(sessions), list(blob_files(blobs))


def test_a_file_is_stored_encrypted_and_streams_back_to_its_owner_only(
    service: DepositService, blobs: LocalBlobStore, alice: Principal, bob: Principal
) -> None:
    content = os.urandom(200_000)
    metadata = DepositMetadata(title="Contract", tags=("a",), media_type="application/pdf")
    record = service.deposit_file(alice, metadata, chunks_of(content))
    assert record.state is DepositState.RECEIVED and record.content_stored
    assert record.sha256 == hashlib.sha256(content).digest() and record.sm3 == sm3(content)
    assert record.size == len(content) and record.depositor == alice.did
    assert len(record.id) == 22  # 128 random bits, base64url
    (stored,) = [p for p in blob_files(blobs) if "keyed" in p.parts]
    assert content[:64] not in stored.read_bytes()  # encrypted at rest
    assert service.get(alice, record.id) == record
    got, chunks = service.open_content(alice, record.id)
    assert got == record and b"".join(chunks) == content
    for stranger in (bob, Principal(did=alice.did, platform="another-platform")):
        with pytest.raises(NotDepositOwner):
            service.get(stranger, record.id)
        with pytest.raises(NotDepositOwner):
            service.open_content(stranger, record.id)
    with pytest.raises(DepositNotFound):
        service.get(alice, "no-such-deposit")
    with pytest.raises(NotCertified):
        service.credential(alice, record.id)


def test_the_same_file_twice_is_stored_once_with_a_deposit_each(
    service: DepositService, blobs: LocalBlobStore, alice: Principal, bob: Principal
) -> None:
    content = os.urandom(50_000)
    first = service.deposit_file(alice, DepositMetadata(title="mine"), [content])
    second = service.deposit_file(bob, DepositMetadata(title="mine too"), [content])
    assert first.id != second.id and first.sha256 == second.sha256
    assert len([p for p in blob_files(blobs) if "keyed" in p.parts]) == 1
    assert b"".join(service.open_content(bob, second.id)[1]) == content


def test_declared_digests_must_match_or_nothing_is_stored(
    service: DepositService,
    blobs: LocalBlobStore,
    sessions: sessionmaker[Session],
    alice: Principal,
) -> None:
    content = os.urandom(10_000)
    before = unchanged(sessions, blobs)
    for fields in (
        {"sha256": hashlib.sha256(b"other").hexdigest()},
        {"sm3": sm3(b"other").hex()},
        {"sha256": hashlib.sha256(content).hexdigest(), "sm3": sm3(b"other").hex()},
        {"digestMultibase": digest_multibase(SM3, sm3(b"other"))},
    ):
        metadata, declared = parse_deposit_request(fields)
        with pytest.raises(DigestMismatch):
            service.deposit_file(alice, metadata, chunks_of(content), declared)
        assert unchanged(sessions, blobs) == before
    metadata, declared = parse_deposit_request(
        {"sha256": hashlib.sha256(content).hexdigest().upper(), "sm3": sm3(content).hex()}
    )
    record = service.deposit_file(alice, metadata, [content], declared)
    assert record.sm3 == sm3(content)


def test_an_oversize_file_stores_nothing(
    service: DepositService,
    blobs: LocalBlobStore,
    sessions: sessionmaker[Session],
    alice: Principal,
) -> None:
    before = unchanged(sessions, blobs)
    with pytest.raises(UploadTooLarge):
        service.deposit_file(alice, DepositMetadata(), chunks_of(b"x" * ((1 << 20) + 1), 65536))
    assert unchanged(sessions, blobs) == before


def test_digest_only_deposits(
    service: DepositService,
    blobs: LocalBlobStore,
    sessions: sessionmaker[Session],
    alice: Principal,
) -> None:
    sha, sm = hashlib.sha256(b"kept elsewhere").digest(), sm3(b"kept elsewhere")
    record = service.deposit_json(
        alice,
        {"sha256": sha.hex(), "sm3": sm.hex(), "title": "T", "fileName": "a.pdf", "tags": ["x"]},
    )
    assert not record.content_stored and record.size is None
    assert (record.sha256, record.sm3, record.file_name) == (sha, sm, "a.pdf")
    with pytest.raises(ContentNotStored):
        service.open_content(alice, record.id)
    only_multihash = service.deposit_json(
        alice, {"digests": {"SHA-256": "z" + digest_multibase("sha-256", sha)[1:]}}
    )
    assert only_multihash.sha256 == sha and only_multihash.sm3 is None
    before = unchanged(sessions, blobs)
    refused: list[tuple[dict[str, object], type[Exception]]] = [
        ({"md5": hashlib.md5(b"x").hexdigest()}, UnsupportedHashAlgorithm),
        ({"sha-512": hashlib.sha512(b"x").hexdigest()}, UnsupportedHashAlgorithm),
        ({"digests": {"sha-1": hashlib.sha1(b"x").hexdigest()}}, UnsupportedHashAlgorithm),
        ({"sm3": sm.hex()}, InvalidDeposit),  # SHA-256 is required
        ({"sha256": sha.hex()[:-2]}, InvalidDeposit),
        ({"sha256": sha.hex(), "fileName": "../x"}, InvalidFileName),
        ({"sha256": sha.hex(), "title": "bell\x07"}, InvalidDeposit),
        ({"sha256": sha.hex(), "mediaType": "pdf"}, InvalidDeposit),
        ({"sha256": sha.hex(), "tags": "a"}, InvalidDeposit),
        ({"sha256": sha.hex(), "owner": "me"}, InvalidDeposit),
        (
            {"sha256": sha.hex(), "sm3": sm.hex(), "digests": {"sm3": sm3(b"y").hex()}},
            InvalidDeposit,
        ),
    ]
    for body, error in refused:
        with pytest.raises(error):
            service.deposit_json(alice, body)
    assert unchanged(sessions, blobs) == before


def test_an_idempotency_key_returns_the_first_deposit(
    service: DepositService,
    blobs: LocalBlobStore,
    sessions: sessionmaker[Session],
    alice: Principal,
) -> None:
    content = os.urandom(5000)
    metadata = DepositMetadata(title="once", idempotency_key="key-1")
    first = service.deposit_file(alice, metadata, [content])
    again = service.deposit_file(alice, metadata, [content])
    assert again == first
    before = unchanged(sessions, blobs)
    with pytest.raises(InvalidDeposit, match="Idempotency-Key"):
        service.deposit_file(alice, metadata, [b"other content"])
    assert unchanged(sessions, blobs) == before
    sha = hashlib.sha256(b"d").hexdigest()
    digest_first = service.deposit_json(alice, {"sha256": sha}, idempotency_key='"key-2"')
    assert service.deposit_json(alice, {"sha256": sha}, idempotency_key="key-2") == digest_first
    with pytest.raises(InvalidDeposit, match="Idempotency-Key"):
        service.deposit_json(alice, {"sha256": "00" * 32}, idempotency_key="key-2")
    with pytest.raises(InvalidDeposit):
        service.deposit_json(alice, {"sha256": sha}, idempotency_key="a key with spaces")
    other_platform = Principal(did=alice.did, platform="other")
    assert service.deposit_file(other_platform, metadata, [content]).id != first.id


def test_a_form_with_bad_metadata_after_the_file_stores_nothing(
    service: DepositService,
    blobs: LocalBlobStore,
    sessions: sessionmaker[Session],
    alice: Principal,
) -> None:
    before = unchanged(sessions, blobs)
    late_sm3 = {"sm3": sm3(b"content").hex()}  # right, but SM3 must come before the file
    for fields in ({"mediaType": "not a type"}, {"sha-1": "00"}, {"tags": "[1, 2]"}, late_sm3):
        body, content_type = multipart_body({}, ("a.txt", b"content", "text/plain"), boundary="B")
        extra = "".join(
            f'--B\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
            for k, v in fields.items()
        )
        body = body.replace(b"--B--", extra.encode() + b"--B--")
        parser = FormUploadParser(content_type, service.open_form_upload)
        parser.feed(body)
        with pytest.raises(InvalidDeposit):
            service.deposit_form(alice, parser.finish())
        assert unchanged(sessions, blobs) == before
    wrong_sm3, content_type = multipart_body({"sm3": sm3(b"other").hex()}, ("c", b"content", "x/y"))
    parser = FormUploadParser(content_type, service.open_form_upload)
    parser.feed(wrong_sm3)
    with pytest.raises(DigestMismatch):
        service.deposit_form(alice, parser.finish())
    assert unchanged(sessions, blobs) == before
    body, content_type = multipart_body(
        {"title": "T", "tags": '["x", "y"]', "sm3": sm3(b"content").hex()},
        ("b.txt", b"content", "text/plain; charset=utf-8"),
    )
    parser = FormUploadParser(content_type, service.open_form_upload)
    parser.feed(body)
    record = service.deposit_form(alice, parser.finish())
    assert (record.file_name, record.media_type, record.tags) == ("b.txt", "text/plain", ("x", "y"))


def test_content_that_changed_at_rest_is_never_streamed_whole(
    service: DepositService, blobs: LocalBlobStore, alice: Principal
) -> None:
    content = os.urandom(3 << 20)
    service.max_upload_bytes = 4 << 20
    record = service.deposit_file(alice, DepositMetadata(), chunks_of(content, 1 << 16))
    path = blobs.path(record.sha256)
    data = bytearray(path.read_bytes())
    data[-100] ^= 1  # the last chunk
    path.write_bytes(bytes(data))
    _, chunks = service.open_content(alice, record.id)
    received = bytearray()
    with pytest.raises(BlobCorrupt):
        for chunk in chunks:
            received += chunk
    assert len(received) < len(content)


def test_migration_0005_builds_exactly_the_deposit_table_the_model_declares(
    engine: Engine,
) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, EvidenceBase.metadata)

    # Other components' tables are not in this metadata: only changes naming ours count.
    assert [change for change in diff if "evidence_deposits" in repr(change)] == []
    assert "evidence_deposits" in inspect(engine).get_table_names()
