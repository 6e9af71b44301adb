"""``open_captures``: the capture service assembled from plain values (issue 15).

The records (:class:`~evidence.capture.service.CaptureService`), the sealer over the
hub's timestamp authorities, anchor queue, blob store and letter issuer
(:class:`~evidence.capture.sealing.CaptureSealer`), the runner of scripted sessions
(:class:`~evidence.capture.runner.CaptureRunner`) and the recovery loop
(:class:`~evidence.capture.recovery.CaptureRecovery`). Mapping settings to these
arguments is the wiring's job (``notary_hub.hub_evidence``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from chain_adapter.anchoring.extra_receipts import ExtraReceipts
from chain_adapter.anchoring.queue import AnchorQueue
from evidence.blob_store import BlobStore
from evidence.capture.capture_letter import CaptureLetters
from evidence.capture.capture_request import CaptureLimits, new_holder
from evidence.capture.launch import BrowserSettings
from evidence.capture.letter_pdf import CaptureLetterPdfs
from evidence.capture.preflight import PreflightInputs
from evidence.capture.recorder.process import DEFAULT_CAPTURE_VENV
from evidence.capture.recovery import CaptureRecovery
from evidence.capture.runner import CaptureRunner
from evidence.capture.sealing import CaptureSealer, load_wacz_key
from evidence.capture.service import CaptureService
from evidence.capture.session import SessionSettings
from evidence.capture.session_limits import SessionSlots
from evidence.capture.steps import StepLimits
from evidence.capture.wacz_signing import WaczSigner
from evidence.letter_issuer import LetterIssuer
from evidence.timestamping.protocol import TimestampAuthority
from hub_kernel.keystore import KeyStore

__all__ = ["CaptureBrowsing", "CaptureParts", "open_captures"]


@dataclass(frozen=True)
class CaptureBrowsing:
    """How this hub's sessions browse: the pre-flight's inputs, what the proxy lets
    through although local (``allow``) and never (``deny``: the hub's own addresses)."""

    preflight: PreflightInputs
    allow: Sequence[str] = ()
    deny: Sequence[str] = ()
    #: Dev and tests only: a site's CA the proxy trusts upstream besides the system's.
    extra_trusted_ca_pem: bytes = b""
    capture_venv: Path = DEFAULT_CAPTURE_VENV
    checkpoint_interval: float = 60.0
    browser: BrowserSettings | None = None


@dataclass
class CaptureParts:
    service: CaptureService
    runner: CaptureRunner
    sealer: CaptureSealer
    recovery: CaptureRecovery
    letter_pdfs: CaptureLetterPdfs | None = None  # with the document-signing key

    def close(self) -> None:
        self.recovery.stop()
        self.runner.close()


def open_captures(
    *,
    sessions: sessionmaker[Session],
    blobs: BlobStore,
    keystore: KeyStore,
    directory: Path,
    authority: TimestampAuthority,
    anchors: AnchorQueue,
    letter_issuer: LetterIssuer,
    browsing: CaptureBrowsing,
    max_sessions: int = 2,
    ceiling: CaptureLimits | None = None,
    max_package_bytes: int = 4 * 1024**3,
    anchor_timeout: float = 120.0,
    step_limits: StepLimits | None = None,
    context_url: str | None = None,
    tsa_certificates: Mapping[str, str] | None = None,
    recovery_interval: float = 30.0,
    lease_seconds: float = 60.0,
    extra_receipts: ExtraReceipts | None = None,
    wait_for_extra_chains: bool = False,
) -> CaptureParts:
    """``directory``: where sessions record (``DATA_DIR/captures``), one 0700 folder each;
    ``extra_receipts``: letters carry a receipt per extra chain (issue 16), waited for
    with ``wait_for_extra_chains``."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    directory = directory.resolve()  # absolute in every command line (:mod:`.orphans`)
    service = CaptureService(sessions, ceiling=ceiling, lease=timedelta(seconds=lease_seconds))
    letters = CaptureLetters(
        letter_issuer, tsa_certificates, context_url=context_url, extra_receipts=extra_receipts
    )
    sealer = CaptureSealer(
        service,
        blobs=blobs,
        signer=lambda: WaczSigner(load_wacz_key(keystore)),
        letters=letters,
        authority=authority,
        anchors=anchors,
        holder=new_holder(),
        max_package_bytes=max_package_bytes,
        anchor_timeout=anchor_timeout,
        wait_for_extra=extra_receipts if wait_for_extra_chains else None,
    )

    def settings_for(capture_id: str, limits: CaptureLimits) -> SessionSettings:
        # The profile inside the session's directory: every process of the session names
        # it, so recovery finds what a killed hub left running (:mod:`.orphans`).
        template = browsing.browser or BrowserSettings(direct_for_tests=True)  # proxied later
        browser = replace(template, profile_parent=directory / capture_id)
        return SessionSettings(
            directory=directory / capture_id,
            preflight=browsing.preflight,
            authority=authority,
            browser=browser,
            allow=browsing.allow,
            deny=browsing.deny,
            max_response_bytes=limits.download_cap_bytes,
            extra_trusted_ca_pem=browsing.extra_trusted_ca_pem,
            checkpoint_interval=browsing.checkpoint_interval,
            capture_venv=browsing.capture_venv,
        )

    slots = SessionSlots(max_sessions)
    runner = CaptureRunner(
        service, sealer, settings_for, slots, step_limits=step_limits or StepLimits()
    )
    recovery = CaptureRecovery(service, sealer, directory, authority, interval=recovery_interval)
    return CaptureParts(service, runner, sealer, recovery)
