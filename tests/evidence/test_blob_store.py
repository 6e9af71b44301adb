"""The blob store contract, run against the local filesystem store and the S3 store.

:class:`BlobStoreContract` holds every behaviour both stores promise; each subclass
supplies a :class:`Backend` (the store plus raw access to what it stored, for
tampering) and a listing of every stored name, and adds what only its medium has. The
S3 store talks HTTP to moto's server. Stored names are keyed (HMAC-SHA256 of the
digest, issue 9 item 11): no listing shows a content's digest, and stores made with
digest names keep working (the local one moves them on open, S3 looks up both).
"""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from evidence.blob_store import BlobNames, BlobStore, BlobWriter, StoredBlob
from evidence.envelope import TAG_SIZE, read_header
from evidence.errors import (
    BlobCorrupt,
    BlobNotFound,
    BlobStoreUnavailable,
    DigestMismatch,
    EvidenceError,
    InvalidDeposit,
    UploadTooLarge,
)
from evidence.key_encryption import LocalKeyEncryptionKey
from evidence.local_blob_store import LocalBlobStore
from evidence.s3_blob_store import MIN_PART_SIZE, S3BlobStore
from tests.evidence.blob_store_support import (
    CHUNK,
    CRASHING_WRITER,
    LIMIT,
    MASTER,
    MEMORY_PROBE,
    NAMES,
    PREFIX,
    REPO,
    Backend,
    get,
    local_backend,
    openssl_sm3,
    put,
    s3_backend,
    sha,
)
from tests.fixtures.s3_server import S3Bucket, S3Server


class BlobStoreContract:
    """The tests every store passes; each subclass provides the ``backend`` fixture."""

    @pytest.fixture
    def store(self, backend: Backend) -> BlobStore:
        return backend.store

    def listed(self, backend: Backend) -> list[str]:
        """Every name (path, key) the backend's storage shows to whoever can list it."""
        raise AssertionError(f"{type(self).__name__} must say how its storage is listed")

    # -- round trips -------------------------------------------------------------------------

    @pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, 2 * CHUNK, 3 * CHUNK + CHUNK // 2])
    def test_round_trip(self, store: BlobStore, size: int, tmp_path: Path) -> None:
        data = os.urandom(size)
        blob = put(store, data)
        assert blob == StoredBlob(sha(data), openssl_sm3(data, tmp_path), size, True)
        assert store.exists(blob.sha256)
        assert store.stat(blob.sha256) == size
        assert get(store, blob.sha256) == data

    def test_large_content_in_many_parts(self, store: BlobStore) -> None:
        data = os.urandom(2 * MIN_PART_SIZE + 12345)  # three S3 parts
        blob = put(store, data, piece=1 << 20)
        assert blob.sha256 == sha(data)
        assert store.stat(blob.sha256) == len(data)
        assert get(store, blob.sha256) == data

    def test_open_streams_chunk_by_chunk(self, store: BlobStore) -> None:
        data = os.urandom(5 * CHUNK + 3)
        blob = put(store, data, piece=len(data))
        pieces = store.open(blob.sha256)
        assert next(pieces) == data[:CHUNK]
        assert next(pieces) == data[CHUNK : 2 * CHUNK]
        pieces.close()  # type: ignore[attr-defined]  # stopping early releases the object
        assert [len(piece) for piece in store.open(blob.sha256)] == [CHUNK] * 5 + [3]

    def test_same_content_is_stored_once(self, backend: Backend) -> None:
        data = os.urandom(3 * CHUNK)
        first = put(backend.store, data)
        stored = backend.read_raw(first.sha256)
        second = put(backend.store, data, piece=5000)
        assert first.created and not second.created
        assert (second.sha256, second.sm3, second.size) == (first.sha256, first.sm3, first.size)
        assert backend.read_raw(first.sha256) == stored  # the first copy is kept as it was
        assert backend.leftovers() == []

    def test_interleaved_writers(self, store: BlobStore) -> None:
        one, two = os.urandom(2 * CHUNK + 1), os.urandom(CHUNK + 7)
        first, second = store.writer(max_size=LIMIT), store.writer(max_size=LIMIT)
        for start in range(0, 3 * CHUNK, 500):
            first.write(one[start : start + 500])
            second.write(two[start : start + 500])
        assert second.commit().sha256 == sha(two)
        assert first.commit().sha256 == sha(one)
        assert (get(store, sha(one)), get(store, sha(two))) == (one, two)

    def test_listing_reveals_no_digest(self, backend: Backend) -> None:
        contents = [os.urandom(size) for size in (0, 10, 3 * CHUNK)]
        blobs = [put(backend.store, content) for content in contents]
        assert not put(backend.store, contents[1]).created  # still content-addressed
        listed = self.listed(backend)
        assert len([n for n in listed if NAMES.name(blobs[0].sha256) in n]) == 1
        for blob in blobs:
            for digest in (blob.sha256.hex(), blob.sha256.hex().upper(), blob.sm3.hex()):
                assert not any(digest in name for name in listed), digest
            assert any(NAMES.name(blob.sha256) in name for name in listed)
        # The names are keyed: another master key names the same content otherwise.
        other = BlobNames(os.urandom(32))
        assert all(other.name(b.sha256) != NAMES.name(b.sha256) for b in blobs)

    def test_protocols(self, store: BlobStore) -> None:
        assert isinstance(store, BlobStore)
        writer = store.writer(max_size=1)
        assert isinstance(writer, BlobWriter)
        writer.abort()

    # -- nothing stored unless committed -----------------------------------------------------

    def test_expected_digest(self, backend: Backend) -> None:
        data = os.urandom(2 * CHUNK)
        assert put(backend.store, data, expected_sha256=sha(data)).sha256 == sha(data)
        other = os.urandom(2 * CHUNK)
        with pytest.raises(DigestMismatch):
            put(backend.store, other, expected_sha256=sha(data + b"x"))
        assert not backend.store.exists(sha(other))
        assert backend.leftovers() == []

    def test_max_size(self, backend: Backend) -> None:
        store = backend.store
        data = os.urandom(2 * CHUNK)
        writer = store.writer(max_size=len(data))
        writer.write(data)
        assert writer.commit().size == len(data)  # exactly the limit is fine

        writer = store.writer(max_size=len(data))
        writer.write(data[:CHUNK])
        with pytest.raises(UploadTooLarge):
            writer.write(data[CHUNK:] + b"!")
        with pytest.raises(EvidenceError):
            writer.write(b"more")
        with pytest.raises(EvidenceError):
            writer.commit()
        assert not store.exists(sha(data + b"!"))
        with pytest.raises(UploadTooLarge):
            store.writer(max_size=0).write(b"x")
        assert backend.leftovers() == []

    def test_abort(self, backend: Backend) -> None:
        data = os.urandom(3 * CHUNK)
        writer = backend.store.writer(max_size=LIMIT)
        writer.write(data)
        writer.abort()
        writer.abort()  # idempotent
        with pytest.raises(EvidenceError):
            writer.commit()
        assert not backend.store.exists(sha(data))
        with backend.store.writer(max_size=LIMIT) as dropped:  # type: ignore[attr-defined]
            dropped.write(data)
        assert not backend.store.exists(sha(data))
        assert backend.leftovers() == []

    def test_commit_once(self, store: BlobStore) -> None:
        writer = store.writer(max_size=LIMIT)
        writer.write(b"once")
        writer.commit()
        writer.abort()  # a no-op after commit
        assert store.exists(sha(b"once"))
        with pytest.raises(EvidenceError):
            writer.commit()

    # -- missing and malformed addresses -----------------------------------------------------

    def test_missing(self, store: BlobStore) -> None:
        missing = sha(b"never stored")
        assert not store.exists(missing)
        assert store.stat(missing) is None
        with pytest.raises(BlobNotFound):
            store.open(missing)
        with pytest.raises(BlobNotFound):
            store.delete(missing)

    def test_delete(self, store: BlobStore) -> None:
        blob = put(store, b"to be deleted")
        store.delete(blob.sha256)
        assert not store.exists(blob.sha256)
        with pytest.raises(BlobNotFound):
            store.delete(blob.sha256)
        assert put(store, b"to be deleted").created

    def test_digest_arguments_are_checked(self, store: BlobStore) -> None:
        for call in (store.open, store.exists, store.stat, store.delete):
            with pytest.raises(InvalidDeposit):
                call(b"\0" * 31)
            with pytest.raises(InvalidDeposit):
                call(sha(b"").hex())  # type: ignore[arg-type]
        writer = store.writer(max_size=LIMIT)
        with pytest.raises(InvalidDeposit):
            writer.commit(expected_sha256=b"short")
        assert not store.exists(sha(b""))

    # -- tampering and keys ------------------------------------------------------------------

    def _tampered(self, backend: Backend, change: Callable[[bytes, int], bytes]) -> None:
        data = os.urandom(3 * CHUNK + CHUNK // 2)
        blob = put(backend.store, data)
        stored = backend.read_raw(blob.sha256)
        header_size = len(read_header(io.BytesIO(stored))[1])
        backend.write_raw(blob.sha256, change(stored, header_size))
        with pytest.raises(BlobCorrupt):
            get(backend.store, blob.sha256)

    @pytest.mark.parametrize(
        "where", ["magic", "version", "chunk size", "key id", "wrapped key", "chunk", "last tag"]
    )
    def test_flipped_byte(self, backend: Backend, where: str) -> None:
        def flip(stored: bytes, header_size: int) -> bytes:
            position = {
                "magic": 0,
                "version": 6,
                "chunk size": 9,
                "key id": 20,
                "wrapped key": header_size - 5,
                "chunk": header_size + CHUNK + TAG_SIZE + 100,
                "last tag": len(stored) - 1,
            }[where]
            altered = bytearray(stored)
            altered[position] ^= 0x04
            return bytes(altered)

        self._tampered(backend, flip)

    @pytest.mark.parametrize("cut", ["at a chunk boundary", "inside a chunk", "to the header"])
    def test_truncated(self, backend: Backend, cut: str) -> None:
        def truncate(stored: bytes, header_size: int) -> bytes:
            keep = {
                "at a chunk boundary": header_size + 3 * (CHUNK + TAG_SIZE),
                "inside a chunk": len(stored) - 100,
                "to the header": header_size,
            }[cut]
            return stored[:keep]

        self._tampered(backend, truncate)

    def test_swapped_chunks(self, backend: Backend) -> None:
        def swap(stored: bytes, header_size: int) -> bytes:
            sealed = CHUNK + TAG_SIZE
            first = stored[header_size : header_size + sealed]
            second = stored[header_size + sealed : header_size + 2 * sealed]
            return stored[:header_size] + second + first + stored[header_size + 2 * sealed :]

        self._tampered(backend, swap)

    def test_objects_swapped_between_digests(self, backend: Backend) -> None:
        one, two = os.urandom(2 * CHUNK), os.urandom(2 * CHUNK)
        a, b = put(backend.store, one).sha256, put(backend.store, two).sha256
        stored_a, stored_b = backend.read_raw(a), backend.read_raw(b)
        backend.write_raw(a, stored_b)
        backend.write_raw(b, stored_a)
        for digest in (a, b):
            with pytest.raises(BlobCorrupt):
                get(backend.store, digest)

    def test_master_keys(self, backend: Backend) -> None:
        data = os.urandom(2 * CHUNK + 1)
        blob = put(backend.store, data)
        # The same master key in a new process (a new store object) reads it ...
        assert get(backend.reopen(LocalKeyEncryptionKey(MASTER)), blob.sha256) == data
        # ... another one cannot, and says so before yielding anything.
        with pytest.raises(BlobCorrupt, match="wrong master key"):
            backend.reopen(LocalKeyEncryptionKey(os.urandom(32))).open(blob.sha256)


# -- the local filesystem store --------------------------------------------------------------


class TestLocalBlobStore(BlobStoreContract):
    @pytest.fixture
    def backend(self, tmp_path: Path) -> Backend:
        return local_backend(tmp_path / "blobs")

    def listed(self, backend: Backend) -> list[str]:
        assert isinstance(backend.store, LocalBlobStore)
        return [str(path) for path in backend.store.directory.rglob("*")]

    def test_layout_and_permissions(self, tmp_path: Path) -> None:
        old_umask = os.umask(0o022)
        try:
            store = LocalBlobStore(tmp_path / "blobs", LocalKeyEncryptionKey(MASTER), names=NAMES)
            blob = put(store, b"evidence")
        finally:
            os.umask(old_umask)
        name = NAMES.name(blob.sha256)
        path = tmp_path / "blobs" / "keyed" / name[:2] / name[2:4] / name
        assert store.path(blob.sha256) == path and path.is_file()
        assert blob.sha256.hex() not in str(path)
        assert path.stat().st_mode & 0o777 == 0o600
        for directory in (path.parent, path.parent.parent, store.objects_dir, store.tmp_dir):
            assert directory.stat().st_mode & 0o777 == 0o700
        assert (tmp_path / "blobs").stat().st_mode & 0o777 == 0o700
        assert b"evidence" not in path.read_bytes()

    def test_digest_named_blobs_are_moved_to_keyed_names_on_open(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A store from before keyed names: its envelopes are renamed, and read as before."""
        directory = tmp_path / "blobs"
        store = LocalBlobStore(directory, LocalKeyEncryptionKey(MASTER), names=NAMES)
        contents = [os.urandom(3 * CHUNK), b"second", b""]
        blobs = [put(store, content) for content in contents]
        for blob in blobs[:2]:  # the old layout: objects/ab/cd/<sha256 hex>
            digest = blob.sha256.hex()
            legacy = directory / "objects" / digest[:2] / digest[2:4] / digest
            legacy.parent.mkdir(parents=True, exist_ok=True)
            store.path(blob.sha256).rename(legacy)
        stray = directory / "objects" / "zz" / "not-a-blob"  # not ours: left alone
        stray.parent.mkdir()
        stray.write_bytes(b"?")
        assert not store.exists(blobs[0].sha256)

        with caplog.at_level(logging.WARNING, logger="evidence.local_blob_store"):
            reopened = LocalBlobStore(directory, LocalKeyEncryptionKey(MASTER), names=NAMES)
        assert "moved 2 blob(s) from digest names to keyed names" in caplog.text
        assert all(blob.sha256.hex() not in caplog.text for blob in blobs)
        for blob, content in zip(blobs, contents, strict=True):
            assert get(reopened, blob.sha256) == content
            assert reopened.stat(blob.sha256) == len(content)
        assert not put(reopened, contents[0]).created  # dedupe across the move
        names = [p.name for p in directory.rglob("*")]
        assert not any(blob.sha256.hex() in name for blob in blobs for name in names)
        assert stray.read_bytes() == b"?" and not (directory / "objects" / "ab").exists()
        stray.unlink()
        stray.parent.rmdir()
        # Nothing left to move: the next open removes the empty tree and moves nothing.
        caplog.clear()
        LocalBlobStore(directory, LocalKeyEncryptionKey(MASTER), names=NAMES)
        assert not (directory / "objects").exists() and "moved" not in caplog.text

    def test_an_interrupted_move_is_finished_by_the_next_open(self, tmp_path: Path) -> None:
        directory = tmp_path / "blobs"
        store = LocalBlobStore(directory, LocalKeyEncryptionKey(MASTER), names=NAMES)
        blob = put(store, b"moved twice?")
        digest = blob.sha256.hex()
        legacy = directory / "objects" / digest[:2] / digest[2:4] / digest
        legacy.parent.mkdir(parents=True)
        os.link(store.path(blob.sha256), legacy)  # crashed between the two names
        reopened = LocalBlobStore(directory, LocalKeyEncryptionKey(MASTER), names=NAMES)
        assert not legacy.exists() and get(reopened, blob.sha256) == b"moved twice?"

    def test_looser_directories_are_tightened_on_open(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        directory = tmp_path / "blobs"
        store = LocalBlobStore(directory, LocalKeyEncryptionKey(MASTER), names=NAMES)
        path = store.path(put(store, b"restored from a backup").sha256)
        loose = [directory, store.objects_dir, store.tmp_dir, path.parent, path.parent.parent]
        for each in loose:
            each.chmod(0o755)
        with caplog.at_level(logging.WARNING, logger="evidence.local_blob_store"):
            LocalBlobStore(directory, LocalKeyEncryptionKey(MASTER), names=NAMES)
        assert [each.stat().st_mode & 0o777 for each in loose] == [0o700] * len(loose)
        assert caplog.text.count("tightened blob store directory") == len(loose)
        assert "from 755 to 700" in caplog.text

    def test_crash_leaves_temporaries_that_the_next_open_removes(self, tmp_path: Path) -> None:
        directory = tmp_path / "blobs"
        LocalBlobStore(directory, LocalKeyEncryptionKey(MASTER), names=NAMES)
        crashed = subprocess.run(
            [sys.executable, "-c", CRASHING_WRITER, str(directory)], cwd=REPO, timeout=60
        )
        assert crashed.returncode == 9
        assert len(list((directory / "tmp").glob("*.tmp"))) == 1
        assert not any(path.is_file() for path in (directory / "keyed").rglob("*"))

        live = LocalBlobStore(directory, LocalKeyEncryptionKey(MASTER), names=NAMES).writer(
            max_size=LIMIT
        )
        live.write(b"in progress")
        assert len(list((directory / "tmp").glob("*.tmp"))) == 1  # the crashed one is gone
        # A live writer's file survives another process (or store) opening the directory.
        again = LocalBlobStore(directory, LocalKeyEncryptionKey(MASTER), names=NAMES)
        assert again.remove_abandoned_uploads() == 0
        assert live.commit().sha256 == sha(b"in progress")
        assert list((directory / "tmp").glob("*.tmp")) == []

    def test_unwritable_storage_is_unavailable(self, backend: Backend) -> None:
        store = backend.store
        assert isinstance(store, LocalBlobStore)
        data = b"blocked"
        blocker = store.path(sha(data)).parent.parent
        blocker.parent.mkdir(parents=True, exist_ok=True)
        blocker.write_bytes(b"a file where a directory belongs")
        with pytest.raises(BlobStoreUnavailable):
            put(store, data)
        assert backend.leftovers() == []
        with pytest.raises(BlobStoreUnavailable):
            LocalBlobStore(blocker / "store", LocalKeyEncryptionKey(MASTER), names=NAMES)

    def test_streaming_200_mib_keeps_memory_flat(self, tmp_path: Path) -> None:
        probe = subprocess.run(
            [sys.executable, "-c", MEMORY_PROBE, str(tmp_path / "blobs")],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert probe.returncode == 0, probe.stderr
        growth_mib = int(probe.stdout) / 1024
        assert growth_mib < 32, f"peak RSS grew by {growth_mib:.1f} MiB for 200 MiB"


# -- the S3 store ----------------------------------------------------------------------------


class TestS3BlobStore(BlobStoreContract):
    @pytest.fixture
    def backend(self, s3_bucket: S3Bucket) -> Backend:
        return s3_backend(s3_bucket)

    def listed(self, backend: Backend) -> list[str]:
        store = backend.store
        assert isinstance(store, S3BlobStore)
        contents = store.client.list_objects_v2(Bucket=store.bucket).get("Contents", [])
        return [str(entry["Key"]) for entry in contents]

    def test_keys(self, s3_bucket: S3Bucket) -> None:
        backend = s3_backend(s3_bucket)
        small, large = os.urandom(100), os.urandom(MIN_PART_SIZE + 1)
        put(backend.store, small)
        put(backend.store, large, piece=1 << 20)  # multipart via a temporary key
        listed = s3_bucket.client.list_objects_v2(Bucket=s3_bucket.name)["Contents"]
        assert sorted(entry["Key"] for entry in listed) == sorted(
            PREFIX + "keyed/" + NAMES.name(sha(content)) for content in (small, large)
        )
        assert backend.leftovers() == []
        assert not put(backend.store, large, piece=1 << 20).created
        assert backend.leftovers() == []

    def test_digest_keyed_objects_are_found_and_can_be_moved(self, s3_bucket: S3Bucket) -> None:
        """A bucket from before keyed names: both names are looked up, then migrated."""
        backend = s3_backend(s3_bucket)
        store = backend.store
        assert isinstance(store, S3BlobStore)
        client, bucket = s3_bucket.client, s3_bucket.name
        small, large = os.urandom(100), os.urandom(MIN_PART_SIZE + 1)
        blobs = [put(store, small), put(store, large, piece=1 << 20)]
        for blob in blobs:  # the old layout: prefix + sha256 hex
            client.copy_object(
                Bucket=bucket,
                Key=store.legacy_key(blob.sha256),
                CopySource={"Bucket": bucket, "Key": store.key(blob.sha256)},
            )
            client.delete_object(Bucket=bucket, Key=store.key(blob.sha256))
        assert store.legacy_key(blobs[0].sha256) == PREFIX + blobs[0].sha256.hex()

        assert store.exists(blobs[0].sha256) and store.stat(blobs[0].sha256) == 100
        assert get(store, blobs[0].sha256) == small
        assert not put(store, large, piece=1 << 20).created  # dedupe against the old name
        assert get(store, blobs[1].sha256) == large
        assert self.listed(backend) == sorted(store.legacy_key(b.sha256) for b in blobs)

        unrelated = PREFIX + "notes.txt"  # not a digest: never touched
        client.put_object(Bucket=bucket, Key=unrelated, Body=b"")
        assert store.migrate_legacy_keys() == 2
        assert store.migrate_legacy_keys() == 0
        listed = self.listed(backend)
        assert sorted(listed) == sorted([unrelated, *(store.key(b.sha256) for b in blobs)])
        assert get(store, blobs[1].sha256) == large
        store.delete(blobs[0].sha256)
        assert not store.exists(blobs[0].sha256)

    def test_remove_abandoned_uploads(self, s3_bucket: S3Bucket) -> None:
        backend = s3_backend(s3_bucket)
        store = backend.store
        assert isinstance(store, S3BlobStore)
        kept = put(store, b"stored evidence")
        writer = store.writer(max_size=LIMIT)
        writer.write(os.urandom(MIN_PART_SIZE + CHUNK))  # one part uploaded, then a "crash"
        # A temporary object left between CompleteMultipartUpload and the copy.
        s3_bucket.client.put_object(Bucket=s3_bucket.name, Key=store.tmp_prefix + "x", Body=b"")
        assert len(backend.leftovers()) == 2
        # (moto reports every upload as initiated in 2010, so only the object's age counts.)
        assert store.remove_abandoned_uploads(older_than=timedelta(days=1)) == 1
        assert len(backend.leftovers()) == 1
        assert store.remove_abandoned_uploads(older_than=timedelta(0)) == 1
        assert backend.leftovers() == []
        assert store.exists(kept.sha256)

    def test_unreachable_or_missing_bucket_is_unavailable(self, s3_server: S3Server) -> None:
        kek = LocalKeyEncryptionKey(MASTER)
        missing_bucket = S3BlobStore(s3_server.client(), "no-such-bucket", kek, names=NAMES)
        dead = S3Server("http://127.0.0.1:9", s3_server.log_path)  # the discard port: refused
        unreachable = S3BlobStore(
            dead.client(retries={"max_attempts": 1}), "bucket", kek, names=NAMES
        )
        digest = sha(b"anything")
        for store in (missing_bucket, unreachable):
            with pytest.raises(BlobStoreUnavailable):
                store.open(digest)
            with pytest.raises(BlobStoreUnavailable):
                put(store, b"anything")
            with pytest.raises(BlobStoreUnavailable):
                put(store, os.urandom(MIN_PART_SIZE + 1), piece=1 << 20)
        with pytest.raises(BlobStoreUnavailable):
            unreachable.exists(digest)
        with pytest.raises(BlobStoreUnavailable):
            unreachable.stat(digest)
        with pytest.raises(BlobStoreUnavailable):
            unreachable.delete(digest)

    def test_part_size_floor(self, s3_bucket: S3Bucket) -> None:
        with pytest.raises(ValueError):
            S3BlobStore(
                s3_bucket.client,
                s3_bucket.name,
                LocalKeyEncryptionKey(MASTER),
                names=NAMES,
                part_size=1 << 20,
            )
