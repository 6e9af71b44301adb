"""A capture package replayed in pywb, the Webrecorder project's own replay server: the
tests' independent judge that a WACZ is a web archive a replay tool can show, not just a
ZIP whose hashes add up.

pywb (https://pywb.readthedocs.io/) reads the package as it stands: ``wb-manager add
--unpack-wacz`` copies its WARCs into a collection and keeps the package's own CDXJ index
(only the file names rewritten), so a wrong offset or a misleading index entry shows as a
wrong replay. Replay URLs are ``{base}/{collection}/{mode}/{url}``: mode ``id_`` answers
the archived body byte for byte, ``mp_`` the page as pywb rewrites it for a browser; a URL
the collection does not hold is answered 404.

Why its own venv (``.venv-replay``, built by ``make .venv-replay/.installed`` from
``replay-requirements.txt``) and a subprocess: pywb pins werkzeug, redis and fakeredis
exactly and patches the standard library with gevent; in the hub's venv or the capture
venv (whose mitmproxy pins cryptography and h11) those pins would fight theirs. Nothing
here imports pywb.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from testkit.waiting import wait_until

__all__ = [
    "DEFAULT_REPLAY_VENV",
    "PywbReplay",
    "ReplayFailed",
    "ReplayUnavailable",
    "pywb_replay",
]

DEFAULT_REPLAY_VENV = Path(__file__).resolve().parents[1] / ".venv-replay"
COLLECTION = "capture"
# No proxy from the environment: pywb is on loopback.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class ReplayUnavailable(RuntimeError):
    """pywb's venv is not there."""


class ReplayFailed(RuntimeError):
    """pywb refused the package or did not start."""


@dataclass(frozen=True)
class PywbReplay:
    base_url: str  # http://127.0.0.1:<port>, without a trailing slash
    collection: str

    def url(self, original: str, mode: str = "id_") -> str:
        """Where pywb replays ``original`` in ``mode`` (``id_``: as archived)."""
        return f"{self.base_url}/{self.collection}/{mode}/{original}"


def _tools(venv: Path) -> tuple[Path, Path]:
    manager, wayback = venv / "bin" / "wb-manager", venv / "bin" / "wayback"
    if not (manager.is_file() and wayback.is_file()):
        raise ReplayUnavailable(
            f"pywb is not installed in {venv}: build it with `make .venv-replay/.installed`"
        )
    return manager, wayback


def _run(command: list[str], root: Path) -> None:
    # TMPDIR: wb-manager unpacks into a mkdtemp it does not always remove.
    done = subprocess.run(
        command,
        cwd=root,
        env=os.environ | {"TMPDIR": str(root)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        raise ReplayFailed(f"{Path(command[0]).name} failed: {done.stdout}{done.stderr}".strip())


def _collection(manager: Path, wacz: Path, root: Path) -> None:
    """A pywb collection holding ``wacz``'s WARCs and its index."""
    _run([str(manager), "init", COLLECTION], root)
    _run([str(manager), "add", "--unpack-wacz", COLLECTION, str(wacz)], root)
    index = root / "collections" / COLLECTION / "indexes" / "index.cdxj"
    # wb-manager only warns, and succeeds, when a package has no WARC or no index.
    if not index.is_file() or index.stat().st_size == 0:
        raise ReplayFailed(f"pywb found no indexed WARC in {wacz}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _answers(base_url: str, process: subprocess.Popen[bytes], log: Path) -> bool:
    if process.poll() is not None:
        raise ReplayFailed(f"pywb exited with {process.returncode}: {log.read_text()[-2000:]}")
    try:
        with _DIRECT.open(f"{base_url}/", timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    """End pywb and whatever it started: it leads its own process group."""
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(wait)
            break
        except subprocess.TimeoutExpired:
            continue
    process.wait(5.0)


@contextmanager
def pywb_replay(
    wacz: Path, *, venv: Path = DEFAULT_REPLAY_VENV, start_timeout: float = 30.0
) -> Iterator[PywbReplay]:
    """``wacz`` replayed by pywb on a free loopback port until the block exits."""
    manager, wayback = _tools(venv)
    if not wacz.is_file():
        raise FileNotFoundError(f"no WACZ at {wacz}")
    if wacz.suffix != ".wacz":
        raise ValueError(f"{wacz.name!r}: pywb adds a WACZ only by its .wacz name")
    with tempfile.TemporaryDirectory(prefix="pywb-") as temporary:
        root = Path(temporary)
        _collection(manager, wacz.resolve(), root)
        port = _free_port()  # free a moment ago: another process could take it first
        base_url = f"http://127.0.0.1:{port}"
        log = root / "wayback.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [str(wayback), "--bind", "127.0.0.1", "--port", str(port), "--threads", "2"],
                cwd=root,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_until(
                lambda: _answers(base_url, process, log),
                timeout=start_timeout,
                interval=0.1,
                message=lambda: f"pywb did not answer at {base_url}: {log.read_text()[-2000:]}",
            )
            yield PywbReplay(base_url, COLLECTION)
        finally:
            _stop(process)
