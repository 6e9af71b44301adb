"""Upload of a large file over HTTP to a served hub, side by side with ``sha256sum``.

A script, not a test. Run from the repository root::

    .venv/bin/python bench/upload_bench.py [--size-mib 1024] [--file PATH] [--keep-file]

Makes a random file (``os.urandom``, in ``/tmp`` unless ``--file`` names one; an existing
file of the right size is reused) and reads it once so both sides start from the page
cache. Then, in the same run:

- ``sha256sum FILE``, timed;
- a fresh hub as its own process (``notary-hub serve``, embedded default: SQLite, local
  encrypted blob store in its data directory), and one ``POST /evidence/deposits`` of
  the file as ``multipart/form-data``, the body generated from the file 1 MiB at a time
  by the client (``httpx`` with a generator, ``Content-Length`` known up front), timed
  from the first byte sent to the 201;
- the hub's peak RSS during the upload: its ``VmHWM`` (``/proc/PID/status``), reset
  just before the upload through ``/proc/PID/clear_refs``, next to its RSS at rest;
- the deposit's SHA-256 checked against ``sha256sum``'s, and the content streamed back
  (``GET .../content``, re-checked by the hub against its digest) for the download rate.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.deposit_bench import HUB_COMMAND, Hub, running_hub

PIECE = 1 << 20
TIMEOUT = httpx.Timeout(600.0, connect=10.0)


def make_file(path: Path, size: int) -> None:
    if path.exists() and path.stat().st_size == size:
        return
    with path.open("wb") as out:
        for _ in range(size // PIECE):
            out.write(os.urandom(PIECE))
        out.write(os.urandom(size % PIECE))


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


def reset_peak_rss(pid: int) -> bool:
    """Reset the process's VmHWM to its current RSS (Linux: ``echo 5 > clear_refs``)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def multipart(path: Path, size: int, title: str) -> tuple[str, int, Iterator[bytes]]:
    """An RFC 7578 body over ``path``: its Content-Type, length and a generator of it."""
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\n{title}\r\n'
        f"--{boundary}\r\nContent-Disposition: form-data; "
        f'name="file"; filename="{path.name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def body() -> Iterator[bytes]:
        yield head
        with path.open("rb", buffering=0) as source:
            while piece := source.read(PIECE):
                yield piece
        yield tail

    return f"multipart/form-data; boundary={boundary}", len(head) + size + len(tail), body()


def timed(argv: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(argv, check=True, capture_output=True, text=True)
    return time.perf_counter() - start, done.stdout


def upload(hub: Hub, path: Path, size: int) -> tuple[float, dict[str, object]]:
    content_type, length, body = multipart(path, size, "upload bench")
    headers = {**hub.headers, "Content-Type": content_type, "Content-Length": str(length)}
    with httpx.Client(base_url=hub.url, timeout=TIMEOUT) as client:
        start = time.perf_counter()
        answer = client.post("/evidence/deposits", content=body, headers=headers)
        seconds = time.perf_counter() - start
    if answer.status_code != 201:
        raise RuntimeError(f"upload refused: {answer.status_code} {answer.text[:500]}")
    deposit: dict[str, object] = answer.json()
    return seconds, deposit


def download(hub: Hub, deposit_id: str) -> tuple[float, str, int]:
    digest = hashlib.sha256()
    received = 0
    with httpx.Client(base_url=hub.url, headers=hub.headers, timeout=TIMEOUT) as client:
        start = time.perf_counter()
        with client.stream("GET", f"/evidence/deposits/{deposit_id}/content") as answer:
            answer.raise_for_status()
            for chunk in answer.iter_bytes(PIECE):
                digest.update(chunk)
                received += len(chunk)
        seconds = time.perf_counter() - start
    return seconds, digest.hexdigest(), received


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--file", type=Path, default=None, help="where the random file goes")
    parser.add_argument("--keep-file", action="store_true", help="leave the file for reuse")
    parser.add_argument("--no-download", action="store_true")
    parser.add_argument(
        "--hub-command",
        default=" ".join(HUB_COMMAND),
        help="the command serving the hub, given --port PORT (default: notary-hub serve)",
    )
    args = parser.parse_args()
    size = args.size_mib << 20
    path = args.file or Path(tempfile.gettempdir()) / f"upload-bench-{args.size_mib}MiB.bin"
    now = datetime.now(UTC).isoformat(timespec="seconds")
    print(f"{now}  python {platform.python_version()}, Linux {platform.release()}, ", end="")
    print(f"nproc {os.cpu_count()}, load {os.getloadavg()[0]:.2f}")
    make_file(path, size)
    subprocess.run(["cat", str(path)], check=True, stdout=subprocess.DEVNULL)  # page cache
    data_dir = Path(tempfile.mkdtemp(prefix="upload-bench-"))
    try:
        sha_s, out = timed(["sha256sum", str(path)])
        expected = out.split()[0]
        with running_hub(data_dir, None, args.hub_command.split()) as hub:
            pid = hub.process.pid
            rest_kib = status_kib(pid, "VmRSS")
            reset = reset_peak_rss(pid)
            up_s, deposit = upload(hub, path, size)
            peak_kib = status_kib(pid, "VmHWM")
            if deposit.get("sha256") != expected:
                raise RuntimeError(f"the hub's SHA-256 {deposit.get('sha256')} is not {expected}")
            down = None if args.no_download else download(hub, str(deposit["id"]))
            hub_cpu = hub.cpu_seconds()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
        if not args.keep_file and args.file is None:
            path.unlink(missing_ok=True)
    mb = size / 1e6
    print(f"file {size:,} bytes ({args.size_mib} MiB), random; SHA-256 {expected[:16]}…")
    print(f"{'':34}{'seconds':>9}{'MB/s':>9}{'vs sha256sum':>14}{'peak RSS':>12}")
    print(f"{'sha256sum':34}{sha_s:>9.2f}{mb / sha_s:>9.0f}{1.0:>13.2f}x{'':>12}")
    peak = f"{peak_kib / 1024:.0f} MB" + ("" if reset else " *")
    print(
        f"{'hub upload (HTTP multipart)':34}{up_s:>9.2f}{mb / up_s:>9.0f}"
        f"{sha_s / up_s:>13.2f}x{peak:>12}"
    )
    if down is not None:
        down_s, got, received = down
        ok = "digest ok" if got == expected and received == size else "DIGEST MISMATCH"
        print(f"{'hub download (GET content)':34}{down_s:>9.2f}{mb / down_s:>9.0f}", end="")
        print(f"{sha_s / down_s:>13.2f}x{'':>12}  {ok}")
    print(f"hub RSS at rest before the upload {rest_kib / 1024:.0f} MB; ", end="")
    print(f"hub CPU {hub_cpu:.1f} s in all (start-up included)")
    if not reset:
        print("* clear_refs not writable: the peak includes the hub's start-up")


if __name__ == "__main__":
    main()
