"""What a capture request may ask for (issue 15): its first address, its lease holder's
name, its digests, and its limits: the idle timeout, maximum duration and download cap.

A caller may ask for tighter limits than the hub's; never looser. The row keeps them as
JSON (``{"idleSeconds", "maxDurationSeconds", "downloadCapBytes"}``), the names the HTTP
API takes.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from evidence.capture.models import HOLDER_MAX_LENGTH, TARGET_MAX_LENGTH
from evidence.capture.service_errors import InvalidCaptureRequest

__all__ = ["CaptureLimits", "check_digest", "check_holder", "check_target", "new_holder"]

_NAMES = {
    "idleSeconds": "idle_seconds",
    "maxDurationSeconds": "max_duration_seconds",
    "downloadCapBytes": "download_cap_bytes",
}


@dataclass(frozen=True, slots=True)
class CaptureLimits:
    idle_seconds: int = 300
    max_duration_seconds: int = 3600
    download_cap_bytes: int = 500 * 1024 * 1024

    def __post_init__(self) -> None:
        for name in _NAMES.values():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidCaptureRequest(f"limit {name} must be a positive integer")

    def to_json(self) -> dict[str, int]:
        return {key: getattr(self, name) for key, name in _NAMES.items()}

    @classmethod
    def parse(cls, asked: Mapping[str, object] | None, ceiling: CaptureLimits) -> CaptureLimits:
        """The limits asked for (members left out take the ceiling's), none above the
        ceiling, no unknown member."""
        asked = asked or {}
        unknown = sorted(set(asked) - set(_NAMES))
        if unknown:
            raise InvalidCaptureRequest(f"unknown limit {unknown[0][:40]!r}")
        values = {name: asked.get(key, getattr(ceiling, name)) for key, name in _NAMES.items()}
        limits = cls(**values)  # type: ignore[arg-type]  # checked by __post_init__
        for key, name in _NAMES.items():
            if getattr(limits, name) > getattr(ceiling, name):
                raise InvalidCaptureRequest(
                    f"limit {key} may be at most {getattr(ceiling, name)} on this hub"
                )
        return limits


def check_target(target: object) -> str:
    """The first address: an absolute http or https URL, without credentials (they would
    sit in the database and the letter)."""
    if not isinstance(target, str) or not 0 < len(target) <= TARGET_MAX_LENGTH:
        raise InvalidCaptureRequest(f"target must be a URL of at most {TARGET_MAX_LENGTH} chars")
    try:
        parts = urlsplit(target)
        host = parts.hostname
    except ValueError:
        raise InvalidCaptureRequest("target is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not host:
        raise InvalidCaptureRequest("target must be an absolute http or https URL")
    if parts.username is not None or parts.password is not None:
        raise InvalidCaptureRequest("target must not carry a user name or password")
    return target


def new_holder() -> str:
    """A lease holder's name for this process run: host, pid and a random part, so a
    restarted process (same host, maybe the same pid) never renews its predecessor's
    leases and its captures are found interrupted."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(8)}"


def check_holder(holder: str) -> str:
    if not isinstance(holder, str) or not 0 < len(holder) <= HOLDER_MAX_LENGTH:
        raise InvalidCaptureRequest(f"a lease holder is 1 to {HOLDER_MAX_LENGTH} characters")
    return holder


def check_digest(value: object, what: str) -> None:
    if not isinstance(value, bytes) or len(value) != 32:
        raise InvalidCaptureRequest(f"{what} must be 32 bytes")
