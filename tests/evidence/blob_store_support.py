"""Helpers of the blob store contract tests: backends with raw access, probe scripts."""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evidence.blob_store import BlobNames, BlobStore, StoredBlob
from evidence.key_encryption import LocalKeyEncryptionKey
from evidence.local_blob_store import LocalBlobStore
from evidence.s3_blob_store import MIN_PART_SIZE, S3BlobStore
from tests.fixtures.s3_server import S3Bucket

REPO = Path(__file__).resolve().parents[2]
CHUNK = 1024  # small chunks: multi-chunk objects stay tiny
MASTER = bytes(range(32))
NAMES = BlobNames(MASTER)
LIMIT = 64 << 20
PREFIX = "evidence/"


@dataclass
class Backend:
    """A store under test and raw access to its stored objects."""

    store: BlobStore
    read_raw: Callable[[bytes], bytes]
    write_raw: Callable[[bytes, bytes], None]
    leftovers: Callable[[], list[str]]  # temporary objects / uploads still around
    reopen: Callable[[LocalKeyEncryptionKey], BlobStore]  # same storage, given key


def put(store: BlobStore, data: bytes, *, piece: int = 777, **commit: Any) -> StoredBlob:
    writer = store.writer(max_size=LIMIT)
    for start in range(0, len(data), piece):
        writer.write(data[start : start + piece])
    return writer.commit(**commit)


def get(store: BlobStore, sha256: bytes) -> bytes:
    return b"".join(store.open(sha256))


def openssl_sm3(data: bytes, directory: Path) -> bytes:
    path = directory / "sm3-input.bin"
    path.write_bytes(data)
    out = subprocess.run(
        ["openssl", "dgst", "-sm3", "-r", str(path)], check=True, capture_output=True, text=True
    ).stdout
    return bytes.fromhex(out.split()[0])


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


# -- the local filesystem store --------------------------------------------------------------


def local_backend(directory: Path) -> Backend:
    store = LocalBlobStore(directory, LocalKeyEncryptionKey(MASTER), names=NAMES, chunk_size=CHUNK)

    def write_raw(sha256: bytes, data: bytes) -> None:
        store.path(sha256).write_bytes(data)

    def leftovers() -> list[str]:
        return sorted(entry.name for entry in store.tmp_dir.iterdir() if entry.name != ".lock")

    return Backend(
        store,
        lambda sha256: store.path(sha256).read_bytes(),
        write_raw,
        leftovers,
        lambda kek: LocalBlobStore(directory, kek, names=NAMES, chunk_size=CHUNK),
    )


CRASHING_WRITER = """
import os, sys
from pathlib import Path
from evidence.key_encryption import LocalKeyEncryptionKey
from evidence.blob_store import BlobNames
from evidence.local_blob_store import LocalBlobStore
master = bytes(range(32))
store = LocalBlobStore(
    Path(sys.argv[1]), LocalKeyEncryptionKey(master), names=BlobNames(master), chunk_size=1024
)
writer = store.writer(max_size=1 << 20)
writer.write(os.urandom(5000))
os._exit(9)  # a crash: no commit, no abort, no cleanup
"""

MEMORY_PROBE = """
import os, sys
from pathlib import Path
from evidence.key_encryption import LocalKeyEncryptionKey
from evidence.blob_store import BlobNames
from evidence.local_blob_store import LocalBlobStore

def peak_kib():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])

master = os.urandom(32)
store = LocalBlobStore(Path(sys.argv[1]), LocalKeyEncryptionKey(master), names=BlobNames(master))
piece = os.urandom(1 << 20)
warm = store.writer(max_size=1 << 30)  # load every module and pool thread first
warm.write(piece)
for _ in store.open(warm.commit().sha256):
    pass
before = peak_kib()
writer = store.writer(max_size=1 << 30)
for index in range(200):
    writer.write(piece)
blob = writer.commit()
total = 0
for chunk in store.open(blob.sha256):
    total += len(chunk)
assert total == 200 << 20, total
print(peak_kib() - before)
"""


# -- the S3 store ----------------------------------------------------------------------------


def s3_backend(bucket: S3Bucket) -> Backend:
    client, name = bucket.client, bucket.name
    kwargs: dict[str, Any] = {
        "names": NAMES,
        "prefix": PREFIX,
        "chunk_size": CHUNK,
        "part_size": MIN_PART_SIZE,
    }
    store = S3BlobStore(client, name, LocalKeyEncryptionKey(MASTER), **kwargs)

    def read_raw(sha256: bytes) -> bytes:
        body: bytes = client.get_object(Bucket=name, Key=store.key(sha256))["Body"].read()
        return body

    def write_raw(sha256: bytes, data: bytes) -> None:
        client.put_object(Bucket=name, Key=store.key(sha256), Body=data)

    def leftovers() -> list[str]:
        objects = client.list_objects_v2(Bucket=name, Prefix=store.tmp_prefix).get("Contents", [])
        uploads = client.list_multipart_uploads(Bucket=name).get("Uploads", [])
        return [entry["Key"] for entry in objects] + [entry["Key"] for entry in uploads]

    return Backend(
        store,
        read_raw,
        write_raw,
        leftovers,
        lambda kek: S3BlobStore(client, name, kek, **kwargs),
    )
