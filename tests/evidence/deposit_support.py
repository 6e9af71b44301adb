"""Shared pieces of the deposit tests: a real local blob store, the deposit service on the
``sessions`` database fixture (SQLite and PostgreSQL, schema built by the migrations),
depositors with real did:key DIDs, and helpers that snapshot the store and the table so
a refused request can be shown to have left both unchanged."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from did_registry.did_key import did_key
from evidence.blob_store import BlobNames
from evidence.deposit.models import Deposit
from evidence.deposit.service import DepositService
from evidence.key_encryption import LocalKeyEncryptionKey
from evidence.local_blob_store import LocalBlobStore
from evidence.principal import Principal
from hub_kernel.multiformats import ED25519

PLATFORM = "api-token"


def new_did_key() -> str:
    public = Ed25519PrivateKey.generate().public_key()
    return did_key(ED25519, public.public_bytes(Encoding.Raw, PublicFormat.Raw))


def blob_files(store: LocalBlobStore) -> list[Path]:
    """Every file under the store's directory (objects and temporary uploads)."""
    return sorted(p for p in store.directory.rglob("*") if p.is_file() and p.name != ".lock")


def deposit_count(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Deposit)) or 0)


def multipart_body(
    fields: dict[str, str],
    file: tuple[str, bytes, str] | None = None,
    *,
    boundary: str | None = None,
) -> tuple[bytes, str]:
    """An RFC 7578 body and its Content-Type; ``file`` is (file name, content, media type)."""
    boundary = boundary or uuid.uuid4().hex
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value.encode()
            + b"\r\n"
        )
    if file is not None:
        file_name, content, media_type = file
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{file_name}"\r\nContent-Type: {media_type}\r\n\r\n'
        )
        parts.append(head.encode() + content + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


@pytest.fixture
def blobs(tmp_path: Path) -> LocalBlobStore:
    master = os.urandom(32)
    return LocalBlobStore(
        tmp_path / "blobs", LocalKeyEncryptionKey(master), names=BlobNames(master)
    )


@pytest.fixture
def service(sessions: sessionmaker[Session], blobs: LocalBlobStore) -> DepositService:
    return DepositService(sessions, blobs, max_upload_bytes=1 << 20)


@pytest.fixture
def alice() -> Principal:
    return Principal(did=new_did_key(), platform=PLATFORM)


@pytest.fixture
def bob() -> Principal:
    return Principal(did=new_did_key(), platform=PLATFORM)


def chunks_of(data: bytes, size: int = 7919) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]
