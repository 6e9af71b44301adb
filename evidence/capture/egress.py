"""What the pre-flight asks of the host (issue 15 item 3): the egress address and the
recording proxy's version, as :class:`~evidence.capture.preflight.PreflightInputs` takes
them."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from pathlib import Path

import httpx

__all__ = ["http_egress_probe", "proxy_version"]

MAX_ANSWER = 100


def http_egress_probe(url: str, timeout: float = 5.0) -> Callable[[], str]:
    """A probe asking ``url`` (a service that answers the caller's address as text, such
    as ``https://api.ipify.org``) and checking the answer is one IP address."""

    def probe() -> str:
        answer = httpx.get(url, timeout=timeout, follow_redirects=False)
        answer.raise_for_status()
        text = answer.text.strip()[:MAX_ANSWER]
        return str(ipaddress.ip_address(text))  # ValueError: not an address

    return probe


def proxy_version(capture_venv: Path) -> str:
    """The installed mitmproxy and warcio, read from the capture venv's package metadata
    (no process started: the hub reads it at every start); what is missing says so, and
    the recorder then refuses to start the session."""
    found = []
    for name in ("mitmproxy", "warcio"):
        dists = sorted(capture_venv.glob(f"lib/python3*/site-packages/{name}-*.dist-info"))
        version = dists[-1].name.removesuffix(".dist-info").split("-", 1)[1] if dists else None
        found.append(f"{name} {version or 'missing'}")
    return ", ".join(found)
