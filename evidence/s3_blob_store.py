"""A :class:`~evidence.blob_store.BlobStore` on S3 (or any S3-compatible service), via boto3.

Objects are envelopes (:mod:`evidence.envelope`) under ``prefix + "keyed/" + name``,
``name`` being :class:`~evidence.blob_store.BlobNames` of the content's SHA-256
(HMAC-SHA256 under a key derived from the master key, issue 9 item 11), so listing
the bucket does not confirm which files are stored. The digest is only known once the
upload ends, so a writer streams the ciphertext as a
multipart upload (Amazon S3 API: CreateMultipartUpload / UploadPart /
CompleteMultipartUpload; every part but the last at least 5 MiB) to a temporary key
under ``prefix + "tmp/"``, then server-side copies it to its content address and
deletes the temporary object; any failure aborts the multipart upload
(AbortMultipartUpload). Content that fits in one part skips the temporary key and is
written once, directly (PutObject). Reads stream the GetObject body.

Two writers racing to store the same new content both copy it and both report
``created``; the stored bytes are equivalent, so only that flag can be off. A
bucket lifecycle rule ``AbortIncompleteMultipartUpload`` (or
:meth:`S3BlobStore.remove_abandoned_uploads`) reclaims uploads of crashed processes.

Stores made before issue 9 keyed each object by the digest itself
(``prefix + sha256 hex``). S3 has no rename: moving an object is a full server-side
copy and a delete, across a bucket that may hold terabytes and serve several hub
replicas, which no hub should do while it starts. So this store looks up both names:
reads, ``exists`` and ``stat`` try the keyed key, then the digest key; a write finds
a digest-keyed copy and stores nothing (dedupe holds); ``delete`` removes both. An
operator moves the old objects when it suits with :meth:`S3BlobStore.migrate_legacy_keys`
(copy, then delete; safe to interrupt and to run again), after which no key names a
digest.

botocore errors become :class:`~evidence.errors.BlobNotFound` (a missing key) or
:class:`~evidence.errors.BlobStoreUnavailable` (anything else).
"""

from __future__ import annotations

import io
import re
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import BotoCoreError, ClientError
from urllib3.exceptions import HTTPError

from evidence.blob_store import BlobNames, EncryptingBlobWriter, check_sha256
from evidence.digests import Digests
from evidence.envelope import (
    DEFAULT_CHUNK_SIZE,
    MAX_HEADER_SIZE,
    decrypt,
    plaintext_size,
    read_header,
)
from evidence.errors import BlobNotFound, BlobStoreUnavailable
from evidence.key_encryption import KeyEncryptionKey

__all__ = ["DEFAULT_PART_SIZE", "MIN_PART_SIZE", "S3BlobStore", "S3BlobWriter"]

MIN_PART_SIZE = 5 << 20  # S3's minimum for every part but the last
MAX_PARTS = 10_000
DEFAULT_PART_SIZE = 8 << 20
_NOT_FOUND = frozenset({"404", "NoSuchKey", "NotFound"})
_TRANSPORT_ERRORS = (BotoCoreError, HTTPError, OSError)
_CONTENT_RANGE = re.compile(r"bytes \d+-\d+/(\d+)")
_LEGACY_NAME = re.compile(r"[0-9a-f]{64}")
# Copies up to 5 GiB are one CopyObject; beyond, UploadPartCopy in 1 GiB parts.
_COPY_CONFIG = TransferConfig(multipart_threshold=5 << 30, multipart_chunksize=1 << 30)


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _unavailable(action: str, exc: Exception) -> BlobStoreUnavailable:
    detail = _error_code(exc) if isinstance(exc, ClientError) else type(exc).__name__
    return BlobStoreUnavailable(f"S3 {action} failed ({detail})")


class _Body:
    """The GetObject body as a :class:`~evidence.envelope.Readable`, errors mapped."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def read(self, size: int, /) -> bytes:
        try:
            data: bytes = self._body.read(size)
        except _TRANSPORT_ERRORS as exc:
            raise _unavailable("read", exc) from None
        return data

    def close(self) -> None:
        self._body.close()


class S3BlobWriter(EncryptingBlobWriter):
    def __init__(
        self, store: S3BlobStore, kek: KeyEncryptionKey, *, max_size: int, chunk_size: int
    ) -> None:
        self._owner = store
        self._client = store.client
        self._bucket = store.bucket
        self._tmp_key = store.tmp_prefix + secrets.token_hex(16)
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._tmp_complete = False
        super().__init__(kek, max_size=max_size, chunk_size=chunk_size)

    def _sink(self, ciphertext: bytes) -> None:
        self._pending.append(ciphertext)
        self._pending_size += len(ciphertext)
        if self._pending_size >= self._owner.part_size:
            self._upload_part()

    def _take_pending(self) -> bytes:
        body = b"".join(self._pending)
        self._pending.clear()
        self._pending_size = 0
        return body

    def _upload_part(self) -> None:
        if len(self._parts) >= MAX_PARTS:
            raise BlobStoreUnavailable(f"an S3 upload has at most {MAX_PARTS} parts")
        body = self._take_pending()
        try:
            if self._upload_id is None:
                created = self._client.create_multipart_upload(
                    Bucket=self._bucket, Key=self._tmp_key
                )
                self._upload_id = str(created["UploadId"])
            number = len(self._parts) + 1
            part = self._client.upload_part(
                Bucket=self._bucket,
                Key=self._tmp_key,
                UploadId=self._upload_id,
                PartNumber=number,
                Body=body,
            )
        except (ClientError, *_TRANSPORT_ERRORS) as exc:
            raise _unavailable("upload", exc) from None
        self._parts.append({"PartNumber": number, "ETag": part["ETag"]})

    def _store(self, digests: Digests) -> bool:
        key = self._owner.key(digests.sha256)
        try:
            if self._upload_id is None:  # one part: no temporary object needed
                if self._owner.exists(digests.sha256):
                    return False
                self._client.put_object(Bucket=self._bucket, Key=key, Body=self._take_pending())
                return True
            if self._pending:
                self._upload_part()
            self._client.complete_multipart_upload(
                Bucket=self._bucket,
                Key=self._tmp_key,
                UploadId=self._upload_id,
                MultipartUpload={"Parts": self._parts},
            )
            self._tmp_complete = True
            created = not self._owner.exists(digests.sha256)
            if created:
                self._client.copy(
                    {"Bucket": self._bucket, "Key": self._tmp_key},
                    self._bucket,
                    key,
                    Config=_COPY_CONFIG,
                )
        except (ClientError, *_TRANSPORT_ERRORS) as exc:
            raise _unavailable("store", exc) from None
        self._discard()
        return created

    def _discard(self) -> None:
        self._pending.clear()
        # Best effort: what this misses, remove_abandoned_uploads or a lifecycle rule gets.
        try:
            if self._tmp_complete:
                self._client.delete_object(Bucket=self._bucket, Key=self._tmp_key)
            elif self._upload_id is not None:
                self._client.abort_multipart_upload(
                    Bucket=self._bucket, Key=self._tmp_key, UploadId=self._upload_id
                )
        except (ClientError, *_TRANSPORT_ERRORS):
            pass
        self._upload_id = None
        self._tmp_complete = False


class S3BlobStore:
    """Encrypted content-addressed blobs in ``bucket`` under ``prefix``.

    ``client`` is a boto3 S3 client (``boto3.client("s3", endpoint_url=…)``), configured
    with the credentials, region, endpoint and retry policy of the deployment.
    """

    def __init__(
        self,
        client: Any,
        bucket: str,
        kek: KeyEncryptionKey,
        *,
        names: BlobNames,
        prefix: str = "",
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        part_size: int = DEFAULT_PART_SIZE,
    ) -> None:
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"S3 parts are at least {MIN_PART_SIZE} bytes")
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.tmp_prefix = prefix + "tmp/"
        self.keyed_prefix = prefix + "keyed/"
        self.part_size = part_size
        self._kek = kek
        self._names = names
        self._chunk_size = chunk_size

    def key(self, sha256: bytes) -> str:
        """The object key for ``sha256`` (its keyed name)."""
        return self.keyed_prefix + self._names.name(check_sha256(sha256))

    def legacy_key(self, sha256: bytes) -> str:
        """Where a store made before keyed names kept it (see the module docstring)."""
        return self.prefix + check_sha256(sha256).hex()

    def writer(self, *, max_size: int) -> S3BlobWriter:
        return S3BlobWriter(self, self._kek, max_size=max_size, chunk_size=self._chunk_size)

    def _get(self, sha256: bytes, **extra: str) -> dict[str, Any]:
        for key in (self.key(sha256), self.legacy_key(sha256)):
            try:
                response: dict[str, Any] = self.client.get_object(
                    Bucket=self.bucket, Key=key, **extra
                )
            except ClientError as exc:
                if _error_code(exc) in _NOT_FOUND:
                    continue
                raise _unavailable("get", exc) from None
            except _TRANSPORT_ERRORS as exc:
                raise _unavailable("get", exc) from None
            return response
        raise BlobNotFound(f"no blob {sha256.hex()}")

    def _head(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _error_code(exc) in _NOT_FOUND:
                return False
            raise _unavailable("head", exc) from None
        except _TRANSPORT_ERRORS as exc:
            raise _unavailable("head", exc) from None
        return True

    def open(self, sha256: bytes) -> Iterator[bytes]:
        body = _Body(self._get(sha256)["Body"])
        try:
            chunks = decrypt(body, self._kek, sha256)
        except BaseException:
            body.close()
            raise
        return _closing_chunks(body, chunks)

    def exists(self, sha256: bytes) -> bool:
        return self._head(self.key(sha256)) or self._head(self.legacy_key(sha256))

    def stat(self, sha256: bytes) -> int | None:
        # One ranged GET gives the header and, in Content-Range, the stored size.
        try:
            response = self._get(sha256, Range=f"bytes=0-{MAX_HEADER_SIZE - 1}")
        except BlobNotFound:
            return None
        body = _Body(response["Body"])
        try:
            head = body.read(MAX_HEADER_SIZE)
        finally:
            body.close()
        match = _CONTENT_RANGE.fullmatch(str(response.get("ContentRange", "")))
        stored_size = int(match.group(1)) if match else len(head)
        header, header_bytes = read_header(io.BytesIO(head))
        return plaintext_size(len(header_bytes), header.chunk_size, stored_size)

    def delete(self, sha256: bytes) -> None:
        keys = [k for k in (self.key(sha256), self.legacy_key(sha256)) if self._head(k)]
        if not keys:
            raise BlobNotFound(f"no blob {sha256.hex()}")
        try:
            for key in keys:
                self.client.delete_object(Bucket=self.bucket, Key=key)
        except (ClientError, *_TRANSPORT_ERRORS) as exc:
            raise _unavailable("delete", exc) from None

    def migrate_legacy_keys(self) -> int:
        """Move digest-keyed objects to their keyed names (copy, then delete); how many.

        Only keys directly under the prefix whose name is 64 lowercase hex digits are
        taken. Interrupted, an object is under one name or both (then the digest copy is
        deleted next time); a copy identical to one already keyed is not made again.
        """
        moved = 0
        try:
            pages = self.client.get_paginator("list_objects_v2")
            for page in pages.paginate(Bucket=self.bucket, Prefix=self.prefix, Delimiter="/"):
                for entry in page.get("Contents", []):
                    name = str(entry["Key"])[len(self.prefix) :]
                    if not _LEGACY_NAME.fullmatch(name):
                        continue
                    sha256 = bytes.fromhex(name)
                    if not self._head(self.key(sha256)):
                        self.client.copy(
                            {"Bucket": self.bucket, "Key": entry["Key"]},
                            self.bucket,
                            self.key(sha256),
                            Config=_COPY_CONFIG,
                        )
                    self.client.delete_object(Bucket=self.bucket, Key=entry["Key"])
                    moved += 1
        except (ClientError, *_TRANSPORT_ERRORS) as exc:
            raise _unavailable("migration", exc) from None
        return moved

    def remove_abandoned_uploads(self, older_than: timedelta = timedelta(days=1)) -> int:
        """Abort multipart uploads and delete temporary objects older than ``older_than``."""
        cutoff = datetime.now(UTC) - older_than
        removed = 0
        try:
            pages = self.client.get_paginator("list_multipart_uploads")
            for page in pages.paginate(Bucket=self.bucket, Prefix=self.tmp_prefix):
                for upload in page.get("Uploads", []):
                    if upload["Initiated"] <= cutoff:
                        self.client.abort_multipart_upload(
                            Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                        )
                        removed += 1
            pages = self.client.get_paginator("list_objects_v2")
            for page in pages.paginate(Bucket=self.bucket, Prefix=self.tmp_prefix):
                for entry in page.get("Contents", []):
                    if entry["LastModified"] <= cutoff:
                        self.client.delete_object(Bucket=self.bucket, Key=entry["Key"])
                        removed += 1
        except (ClientError, *_TRANSPORT_ERRORS) as exc:
            raise _unavailable("cleanup", exc) from None
        return removed

    def __repr__(self) -> str:
        return (
            f"S3BlobStore(bucket={self.bucket!r}, prefix={self.prefix!r}, kek={self._kek!r}, "
            "names=keyed)"
        )


def _closing_chunks(body: _Body, chunks: Iterator[bytes]) -> Iterator[bytes]:
    try:
        yield from chunks
    finally:
        body.close()
