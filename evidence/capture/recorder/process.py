"""The hub's side of the recording proxy (issue 15): start it, point a browser at it, stop it.

The proxy is ``proxy_script/warc_addon.py`` run by mitmdump from ``.venv-capture`` (built
by ``make .venv-capture/.installed`` from ``capture-requirements.txt``): its own process
and its own venv, because mitmproxy 11.0.2 (the last for Python 3.11) pins a cryptography
and an h11 older than the hub's. The hub never imports it; they share a JSON settings file,
the WARC file and the JSON-Lines event log. Why mitmproxy and not warcprox: the addon's
docstring.

Per session: a fresh CA (:mod:`.session_ca`) that the capture browser alone trusts, an
upstream trust store (the system's CAs, plus a test's own CA), an allow-list (loopback and
private ranges are refused otherwise), the hub's own addresses (refused even if allowed),
and a response size cap.
"""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import certifi

from evidence.capture.recorder.errors import RecorderFailed, RecorderUnavailable
from evidence.capture.recorder.session_ca import SessionCa, new_session_ca

__all__ = [
    "DEFAULT_CAPTURE_VENV",
    "MitmRecorder",
    "Recorder",
    "RecorderEvent",
    "RecorderSettings",
]

DEFAULT_CAPTURE_VENV = Path(__file__).resolve().parents[3] / ".venv-capture"
ADDON = Path(__file__).resolve().parent / "proxy_script" / "warc_addon.py"


@dataclass(frozen=True)
class RecorderSettings:
    session_dir: Path  # the WARC, the event log, the proxy's confdir and log
    # "127.0.0.1:8443", "10.0.0.0/8", "[::1]:443": destinations let through although local
    allow: Sequence[str] = ()
    # the hub's own addresses: refused even when an allow-list entry covers them
    deny: Sequence[str] = ()
    max_response_bytes: int = 200 * 1024 * 1024
    extra_trusted_ca_pem: bytes = b""  # tests: the test site's own CA
    capture_venv: Path = DEFAULT_CAPTURE_VENV
    start_timeout: float = 30.0
    stop_timeout: float = 10.0


@dataclass(frozen=True)
class RecorderEvent:
    """A refused or failed request, as the proxy logged it."""

    # private_address, loopback_address, hub, dns_failed, certificate_invalid, tls_failed,
    # over_cap, failed
    reason: str
    detail: str
    facts: Mapping[str, object] = field(default_factory=dict)


class Recorder(Protocol):
    """A recording proxy a capture browser goes through; another backend could be one."""

    @property
    def proxy_url(self) -> str: ...

    @property
    def session_ca(self) -> SessionCa: ...

    @property
    def warc_path(self) -> Path: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def events(self) -> list[RecorderEvent]: ...


def upstream_trust_store(extra_pem: bytes) -> bytes:
    """The system's CA certificates, then ``extra_pem`` (a test site's CA, tests only)."""
    cafile = ssl.get_default_verify_paths().cafile
    system = Path(cafile) if cafile and Path(cafile).is_file() else Path(certifi.where())
    return system.read_bytes().rstrip(b"\n") + b"\n" + extra_pem


class MitmRecorder:
    """mitmdump with the WARC addon, on a free loopback port, for one capture session."""

    def __init__(self, settings: RecorderSettings) -> None:
        self.settings = settings
        self._ca = new_session_ca(settings.session_dir.name)
        self._process: subprocess.Popen[bytes] | None = None
        self._port: int | None = None

    @property
    def session_ca(self) -> SessionCa:
        return self._ca

    @property
    def warc_path(self) -> Path:
        return self.settings.session_dir / "capture.warc.gz"

    @property
    def events_path(self) -> Path:
        return self.settings.session_dir / "events.jsonl"

    @property
    def proxy_url(self) -> str:
        if self._port is None:
            raise RecorderFailed("the recording proxy is not running")
        return f"http://127.0.0.1:{self._port}"

    def start(self) -> None:
        mitmdump = self.settings.capture_venv / "bin" / "mitmdump"
        if not mitmdump.is_file():
            raise RecorderUnavailable(
                f"no {mitmdump}: build the capture venv with `make .venv-capture/.installed`"
            )
        arguments = self._prepare()
        log = (self.settings.session_dir / "proxy.log").open("ab")
        with log:
            self._process = subprocess.Popen(  # noqa: S603 (our own venv's program, no shell)
                [str(mitmdump), *arguments],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # the browser's Ctrl-C is not the proxy's
            )
        self._port = self._wait_ready()

    def _prepare(self) -> list[str]:
        """The session's files, and mitmdump's arguments that name them."""
        directory = self.settings.session_dir
        confdir = directory / "proxy-conf"
        confdir.mkdir(parents=True, exist_ok=True)
        self._ca.write_mitmproxy_confdir(confdir)
        trust = directory / "upstream-trust.pem"
        trust.write_bytes(upstream_trust_store(self.settings.extra_trusted_ca_pem))
        config = directory / "recorder.json"
        config.write_text(
            json.dumps(
                {
                    "warc_path": str(self.warc_path),
                    "events_path": str(self.events_path),
                    "ready_path": str(directory / "ready.json"),
                    "allow": list(self.settings.allow),
                    "deny": list(self.settings.deny),
                }
            )
        )
        options = {
            "confdir": confdir,
            "capture_config": config,
            "ssl_verify_upstream_trusted_ca": trust,
            "body_size_limit": self.settings.max_response_bytes,
            # HTTP/1.1 on both sides: the WARC records hold the messages as sent.
            "http2": "false",
            # Connect when a request is to be forwarded, not at CONNECT: a server that
            # speaks first is then a failed TLS handshake, never a raw TCP relay.
            "connection_strategy": "lazy",
            # mitmproxy answers http://mitm.it itself: nothing but the target may answer.
            "onboarding": "false",
            "termlog_verbosity": "warn",
            "flow_detail": 0,
        }
        arguments = ["--listen-host", "127.0.0.1", "--listen-port", "0", "-s", str(ADDON)]
        for name, value in options.items():
            arguments += ["--set", f"{name}={value}"]
        return arguments

    def _wait_ready(self) -> int:
        ready = self.settings.session_dir / "ready.json"
        deadline = time.monotonic() + self.settings.start_timeout
        assert self._process is not None
        while time.monotonic() < deadline:
            if ready.is_file():
                port: int = json.loads(ready.read_text())["port"]
                return port
            if self._process.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RecorderFailed(f"the recording proxy did not start: {self._log_tail()}")

    def _log_tail(self) -> str:
        log = self.settings.session_dir / "proxy.log"
        return log.read_text(errors="replace")[-2000:] if log.is_file() else ""

    def stop(self) -> None:
        """SIGTERM: mitmdump closes the WARC in its ``done`` hook; SIGKILL if it hangs."""
        process, self._process, self._port = self._process, None, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(self.settings.stop_timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def events(self) -> list[RecorderEvent]:
        if not self.events_path.is_file():
            return []
        events = []
        for line in self.events_path.read_text(encoding="utf-8").splitlines():
            facts = json.loads(line)
            reason, detail = facts.pop("reason"), facts.pop("detail", "")
            events.append(RecorderEvent(str(reason), str(detail), facts))
        return events

    def __enter__(self) -> MitmRecorder:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
