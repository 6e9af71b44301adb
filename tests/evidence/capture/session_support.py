"""Shared pieces of the capture session tests: the HTTPS test site, the hub's TSA, and the
settings of a session whose proxy lets that site's loopback port through and trusts its CA
upstream (as the recorder tests do)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509

from evidence.capture.launch import BrowserSettings
from evidence.capture.session import SessionSettings
from evidence.timestamping import TimestampAuthority
from testkit.capture_site import CaptureSite
from tests.evidence.capture.browser_support import preflight_inputs, sign_in_site
from tests.evidence.timestamping_support import hub_tsa

PASSWORD = "s3cret-correct-horse-battery"


@dataclass(frozen=True)
class Tsa:
    authority: TimestampAuthority
    root: x509.Certificate


def tsa(directory: Path) -> Tsa:
    directory.mkdir(exist_ok=True)
    authority, material = hub_tsa(directory)
    return Tsa(authority, material.root_certificate)


@contextmanager
def session_settings(
    tmp_path: Path, site: CaptureSite, authority: TimestampAuthority, **overrides: Any
) -> Iterator[SessionSettings]:
    """The settings of one session in ``tmp_path/session`` (the egress probe's own small
    site runs meanwhile)."""
    (tmp_path / "profiles").mkdir(exist_ok=True)
    (tmp_path / "preflight-tsa").mkdir(exist_ok=True)
    with sign_in_site() as origin:
        values: dict[str, Any] = {
            "directory": tmp_path / "session",
            "preflight": preflight_inputs(
                tmp_path / "preflight-tsa", origin, proxy_version="mitmproxy (capture venv)"
            ),
            "authority": authority,
            "browser": BrowserSettings(
                direct_for_tests=True, profile_parent=tmp_path / "profiles", load_timeout=15
            ),
            "allow": [f"127.0.0.1:{site.port}"],
            "max_response_bytes": 1_000_000,
            "extra_trusted_ca_pem": site.ca.certificate_pem,
            "checkpoint_interval": 1.0,
        }
        yield SessionSettings(**(values | overrides))


def action_lines(directory: Path) -> list[dict[str, Any]]:
    path = directory / "capture" / "actions.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
