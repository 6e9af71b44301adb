"""The settings of one capture session (issue 15) and what they make: its 0700 directory,
the recorder's settings, and the browser's settings pointed at that recorder (its proxy,
the session CA's SPKI pin and CA file; why the pin relaxes nothing upstream:
:mod:`evidence.capture.launch`)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from evidence.capture.chain_checkpoints import DEFAULT_INTERVAL
from evidence.capture.errors import CaptureStateConflict
from evidence.capture.launch import BrowserSettings
from evidence.capture.preflight import PreflightInputs
from evidence.capture.recorder.process import (
    DEFAULT_CAPTURE_VENV,
    MitmRecorder,
    RecorderSettings,
)
from evidence.capture.session_limits import SessionSlots
from evidence.timestamping.protocol import TimestampAuthority

__all__ = ["SessionSettings", "browser_settings", "make_directory", "recorder_settings"]


@dataclass(frozen=True)
class SessionSettings:
    #: Created here, mode 0700; it must not exist yet.
    directory: Path
    preflight: PreflightInputs
    authority: TimestampAuthority
    #: The browser's options; its proxy, SPKI pin and CA file are the session's own.
    browser: BrowserSettings | None = None
    #: Destinations let through although local (``host:port``, CIDR), and the hub's own.
    allow: Sequence[str] = ()
    deny: Sequence[str] = ()
    max_response_bytes: int = 200 * 1024 * 1024
    #: Tests only: a test site's CA, trusted upstream by the proxy.
    extra_trusted_ca_pem: bytes = b""
    checkpoint_interval: float = DEFAULT_INTERVAL
    slots: SessionSlots | None = None
    capture_venv: Path = DEFAULT_CAPTURE_VENV


def make_directory(directory: Path) -> None:
    try:
        directory.mkdir(mode=0o700)
    except FileExistsError:
        raise CaptureStateConflict(f"the session directory {directory} exists") from None
    os.chmod(directory, 0o700)  # whatever the umask


def browser_settings(settings: SessionSettings, recorder: MitmRecorder) -> BrowserSettings:
    ca_file = settings.directory / "session-ca.pem"
    ca_file.write_bytes(recorder.session_ca.certificate_pem)
    # The defaults as a template (direct only until the proxy fields below replace it).
    return replace(
        settings.browser or BrowserSettings(direct_for_tests=True),
        proxy=recorder.proxy_url,
        session_ca_spki=recorder.session_ca.spki_sha256_base64,
        session_ca_file=ca_file,
        direct_for_tests=False,
    )


def recorder_settings(settings: SessionSettings) -> RecorderSettings:
    """The proxy writes its WARC, event log and CA into the session directory."""
    return RecorderSettings(
        session_dir=settings.directory,
        allow=settings.allow,
        deny=settings.deny,
        max_response_bytes=settings.max_response_bytes,
        extra_trusted_ca_pem=settings.extra_trusted_ca_pem,
        capture_venv=settings.capture_venv,
    )
