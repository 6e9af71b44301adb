"""Where a serving hub can be reached: ``DATA_DIR/serve.json``, written by ``serve``.

Issue 11, item 1 (b): the embedded chain has one writer (``chain_adapter.writer_lock``),
so a CLI command that writes while ``notary-hub serve`` runs asks the running hub over
its authenticated admin API instead of opening a second copy of the chain. It finds the
hub here: ``{"url": "http://127.0.0.1:8000", "pid": 1234}``, written once the hub is
open and removed when it stops. A file left by a killed hub names a dead pid and is
ignored.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

SERVE_FILE = "serve.json"


def announce(data_dir: Path, url: str) -> Path:
    """Write ``serve.json`` for this process (mode 0600, replaced atomically)."""
    path = data_dir / SERVE_FILE
    partial = path.with_suffix(".tmp")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"url": url, "pid": os.getpid()}, handle)
    os.replace(partial, path)
    return path


def withdraw(path: Path) -> None:
    """Remove ``serve.json`` if it is still this process's (a later hub may own it now)."""
    if _pid(path) == os.getpid():
        path.unlink(missing_ok=True)


def running_hub(data_dir: Path) -> str | None:
    """The URL of the hub serving ``data_dir``, if its process is alive."""
    path = data_dir / SERVE_FILE
    pid = _pid(path)
    if pid is None or not _alive(pid):
        return None
    try:
        url = json.loads(path.read_text())["url"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return url if isinstance(url, str) else None


def client_url(host: str, port: int) -> str:
    """The URL a local client uses: a wildcard listen address is reached on loopback."""
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 - a listen address read, not bound
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _pid(path: Path) -> int | None:
    try:
        pid = json.loads(path.read_text())["pid"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return pid if isinstance(pid, int) else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, another user's
    return True
