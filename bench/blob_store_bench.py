"""Blob store throughput: write (SHA-256 + SM3 + AES-256-GCM + fsync) and read of a file.

    .venv/bin/python bench/blob_store_bench.py [--size-mib 1024] [--store DIR] [--s3]

Reads a random file of the given size (from ``os.urandom``, next to the store) in 1 MiB
pieces into the local store, then streams it back, and
compares with ``sha256sum`` and ``openssl dgst -sm3`` on the same file. ``--s3`` also
runs the S3 store against a moto server (a throughput floor: moto is slow Python).
Peak RSS is this process's ``ru_maxrss``.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evidence.blob_store import BlobNames, BlobStore
from evidence.key_encryption import LocalKeyEncryptionKey
from evidence.local_blob_store import LocalBlobStore
from testkit.waiting import wait_until

PIECE = 1 << 20


def _mb_s(size: int, seconds: float) -> float:
    return size / seconds / 1e6


def _timed_command(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def _make_source(path: Path, size: int) -> None:
    if path.exists() and path.stat().st_size == size:
        return
    with path.open("wb") as out:
        for _ in range(size // PIECE):
            out.write(os.urandom(PIECE))
        out.write(os.urandom(size % PIECE))


def run_store(name: str, store: BlobStore, source: Path, size: int) -> dict[str, Any]:
    start = time.perf_counter()
    writer = store.writer(max_size=size)
    with source.open("rb", buffering=0) as file:
        while piece := file.read(PIECE):
            writer.write(piece)
    blob = writer.commit()
    write_s = time.perf_counter() - start
    start = time.perf_counter()
    read = 0
    for chunk in store.open(blob.sha256):
        read += len(chunk)
    read_s = time.perf_counter() - start
    assert read == size
    return {"store": name, "write_mb_s": _mb_s(size, write_s), "read_mb_s": _mb_s(size, read_s)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--store", type=Path, default=None, help="store directory (temporary)")
    parser.add_argument("--s3", action="store_true")
    args = parser.parse_args()
    size = args.size_mib << 20
    root = args.store or Path(tempfile.mkdtemp(prefix="blob-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    source = root / "source.bin"
    _make_source(source, size)
    subprocess.run(["cat", str(source)], check=True, stdout=subprocess.DEVNULL)  # warm cache
    sha256sum_s = _timed_command(["sha256sum", str(source)])
    sm3_s = _timed_command(["openssl", "dgst", "-sm3", str(source)])
    print(
        f"size {size} bytes; sha256sum {_mb_s(size, sha256sum_s):.0f} MB/s; "
        f"openssl sm3 {_mb_s(size, sm3_s):.0f} MB/s"
    )
    master = os.urandom(32)
    kek, names = LocalKeyEncryptionKey(master), BlobNames(master)
    try:
        store = LocalBlobStore(root / "store", kek, names=names)
        results = [run_store("local", store, source, size)]
        if args.s3:
            results.append(_run_s3(kek, names, source, size))
    finally:
        shutil.rmtree(root / "store", ignore_errors=True)
        source.unlink()
        if args.store is None:
            root.rmdir()
    for result in results:
        print(
            f"{result['store']}: write {result['write_mb_s']:.0f} MB/s "
            f"({result['write_mb_s'] / _mb_s(size, sha256sum_s):.2f}x sha256sum), "
            f"read {result['read_mb_s']:.0f} MB/s"
        )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak_mb:.0f} MB")


def _run_s3(
    kek: LocalKeyEncryptionKey, names: BlobNames, source: Path, size: int
) -> dict[str, Any]:
    import socket

    import boto3
    from botocore.config import Config

    from evidence.s3_blob_store import S3BlobStore

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        client = boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
            config=Config(s3={"addressing_style": "path"}),
        )

        def bucket_created() -> bool:
            try:
                client.create_bucket(Bucket="bench")
            except Exception:  # moto is still starting
                return False
            return True

        wait_until(bucket_created, timeout=15, interval=0.1, message="moto did not answer")
        return run_store("s3 (moto)", S3BlobStore(client, "bench", kek, names=names), source, size)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
