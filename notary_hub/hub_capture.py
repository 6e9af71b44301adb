"""Start-up wiring of the capture service (issue 15): the ``captures`` settings to
:func:`evidence.capture.parts.open_captures`."""

from __future__ import annotations

import os
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from chain_adapter.parts import ChainParts
from credentials.parts import CredentialParts
from evidence.capture.capture_request import CaptureLimits
from evidence.capture.capture_verification import CaptureLetterVerifier
from evidence.capture.egress import http_egress_probe, proxy_version
from evidence.capture.letter_pdf import CaptureLetterPdfs
from evidence.capture.parts import CaptureBrowsing, CaptureParts, open_captures
from evidence.capture.preflight import PreflightInputs, tsa_clock
from evidence.capture.recorder.process import DEFAULT_CAPTURE_VENV
from evidence.capture.steps import StepLimits
from evidence.letter_issuer import LetterIssuer
from evidence.letter_pdf.build import LetterPdfs
from evidence.parts import EvidenceParts
from evidence.timestamping.tsa_http import TSA_CERTS_PATH
from hub_kernel.keystore import KeyStore
from notary_hub.settings import Settings


def open_captures_from(
    settings: Settings,
    sessions: sessionmaker[Session],
    keystore: KeyStore,
    chain_parts: ChainParts,
    credentials: CredentialParts,
    evidence: EvidenceParts,
    context_url: str | None,
    public_url: str | None,
    pdfs: LetterPdfs | None,
) -> CaptureParts:
    """The capture service; with ``pdfs`` (the document-signing key), its PDF letters."""
    cfg = settings.captures
    venv = cfg.capture_venv or DEFAULT_CAPTURE_VENV
    preflight = PreflightInputs(
        tsa_time=tsa_clock(evidence.timestamps),
        egress_probe=http_egress_probe(cfg.egress_probe_url),
        proxy_version=proxy_version(venv),
        max_clock_offset=timedelta(seconds=cfg.max_clock_offset_seconds),
        expected_egress=cfg.expected_egress,
        allow_no_sandbox=cfg.allow_no_sandbox and os.geteuid() == 0,
    )
    extra_ca = cfg.trusted_ca_file.read_bytes() if cfg.trusted_ca_file else b""
    browsing = CaptureBrowsing(
        preflight=preflight,
        allow=cfg.allow,
        # The hub itself: refused even if an allow-list entry covers it.
        deny=[f"{settings.server.host}:{settings.server.port}"],
        extra_trusted_ca_pem=extra_ca,
        capture_venv=venv,
        checkpoint_interval=cfg.checkpoint_seconds,
    )
    tsa = evidence.tsa
    chains = {tsa.name: f"{public_url}{TSA_CERTS_PATH}"} if tsa and public_url else {}
    parts = open_captures(
        sessions=sessions,
        blobs=evidence.blobs,
        keystore=keystore,
        directory=settings.data_dir / "captures",
        authority=evidence.timestamps,
        anchors=chain_parts.queue,
        letter_issuer=LetterIssuer(credentials.issuer, service="captures"),
        browsing=browsing,
        max_sessions=cfg.max_sessions,
        ceiling=CaptureLimits(cfg.idle_seconds, cfg.max_duration_seconds, cfg.download_cap_bytes),
        max_package_bytes=cfg.max_package_bytes,
        anchor_timeout=cfg.anchor_timeout,
        step_limits=StepLimits(max_total_seconds=cfg.script_seconds),
        context_url=context_url,
        tsa_certificates=chains,
        recovery_interval=cfg.recovery_seconds,
        lease_seconds=cfg.lease_seconds,
        extra_receipts=chain_parts.extra_receipts,
        wait_for_extra_chains=settings.anchoring.extra_chains_policy == "wait",
    )
    if pdfs is not None:
        letters = CaptureLetterVerifier(
            credentials.verifier,
            chain_parts.chain,
            trust=credentials.trust,
            tsa_roots=evidence.tsa_roots,
        )
        parts.letter_pdfs = CaptureLetterPdfs(pdfs, letters.verify, credentials.issuer.did)
    return parts
