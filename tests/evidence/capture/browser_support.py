"""Shared pieces of the capture browser tests: a sign-in page with a password field and an
animation, served on loopback by a real HTTP server, and the pre-flight inputs of this
machine (the hub's own embedded TSA, an egress probe that asks that server)."""

from __future__ import annotations

import os
import urllib.request
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from evidence.capture.launch import BrowserSettings
from evidence.capture.preflight import PreflightInputs, tsa_clock
from tests.evidence.timestamping_support import hub_tsa
from tests.fixtures.loopback_site import loopback_site

PASSWORD = "hunter2-correct-horse"
PAGE = b"""<!doctype html><html lang=en><head><meta charset=utf-8><title>Sign in</title>
<style>
body{margin:0;font:16px sans-serif;background:#fff}
#user{position:absolute;left:20px;top:80px;width:240px;height:30px}
#pw{position:absolute;left:20px;top:130px;width:240px;height:30px}
#spin{position:absolute;left:320px;top:80px;width:120px;height:120px;background:#c0392b;
animation:spin 1s linear infinite}
@keyframes spin{to{transform:rotate(360deg)}}
#tall{position:absolute;top:260px;height:3000px;width:10px}
</style></head><body>
<h1 style="margin:20px">Terms of the notarised contract</h1>
<input id=user name=user><input id=pw type=password name=pw>
<div id=spin></div><div id=tall></div>
</body></html>"""
STILL = b"<!doctype html><title>Still</title><p>Nothing moves here.</p>"
ORIGINAL = bytes(range(256)) * 64


def sign_in_site() -> AbstractContextManager[str]:
    """The site on a free loopback port; yields its origin."""
    return loopback_site(
        {
            "/": ("text/html; charset=utf-8", PAGE),
            "/still": ("text/html; charset=utf-8", STILL),
            "/original.bin": ("application/octet-stream", ORIGINAL),
            "/whoami": lambda request: ("text/plain", request.client_address[0].encode()),
        }
    )


def egress_probe(origin: str) -> Any:
    def probe() -> str:
        with urllib.request.urlopen(f"{origin}/whoami", timeout=5) as answer:
            return str(answer.read().decode())

    return probe


def preflight_inputs(directory: Path, origin: str, **overrides: Any) -> PreflightInputs:
    """This machine's real inputs: the hub's embedded TSA, the site as the egress probe.
    Chromium runs without its sandbox only when the tests run as root."""
    tsa, _ = hub_tsa(directory)
    values: dict[str, Any] = {
        "tsa_time": tsa_clock(tsa),
        "egress_probe": egress_probe(origin),
        "proxy_version": "none (tests: direct)",
        "allow_no_sandbox": os.geteuid() == 0,
    }
    return PreflightInputs(**(values | overrides))


def direct_settings(directory: Path, **overrides: Any) -> BrowserSettings:
    """Settings of a browser without the recording proxy (tests only), profiles in tmp."""
    values: dict[str, Any] = {"direct_for_tests": True, "profile_parent": directory}
    return BrowserSettings(**(values | overrides))
