"""``open_evidence``: the evidence family opened once, its services wired to the shared parts.

The shared parts (a blob store, the timestamp authorities, the letter issuer) are
given; each service is assembled here: for deposits, the service, its pipeline (woken
by new deposits and by anchored batches) and its letter verifier. Mapping settings to
backends is the wiring's job (``notary_hub.hub_evidence``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from cryptography import x509
from sqlalchemy.orm import Session, sessionmaker

from chain_adapter.anchoring.batcher import Batcher
from chain_adapter.anchoring.extra_receipts import ExtraReceipts
from chain_adapter.anchoring.queue import AnchorQueue
from chain_adapter.protocol import Chain
from credentials.issuer import CredentialIssuer
from credentials.issuer_trust import IssuerTrust
from credentials.verifier import Verifier
from evidence.blob_store import BlobStore
from evidence.capture.parts import CaptureParts
from evidence.deposit.letter import DepositLetters
from evidence.deposit.letter_refresh import LetterRefresher
from evidence.deposit.letter_verification import LetterVerifier
from evidence.deposit.pipeline import EvidencePipeline
from evidence.deposit.service import DepositService
from evidence.draw.parts import DrawParts
from evidence.letter_issuer import LetterIssuer
from evidence.letter_pdf.build import LetterPdfs
from evidence.letter_pdf.service import LetterPdfService
from evidence.timestamping import EmbeddedTimestampAuthority, TimestampAuthority, TimestampClient


@dataclass
class EvidenceParts:
    blobs: BlobStore
    tsa: EmbeddedTimestampAuthority | None
    timestamps: TimestampClient
    deposits: DepositService
    pipeline: EvidencePipeline
    letters: LetterVerifier
    tsa_roots: list[x509.Certificate]
    letter_pdfs: LetterPdfService | None = None
    draws: DrawParts | None = None  # issue 14: public draws (with a draw registry on chain)
    captures: CaptureParts | None = None  # issue 15: remote captures

    def start(self, stages: Collection[str] | None = None, *, captures: bool = True) -> None:
        """The deposit pipeline's ``stages`` (all by default); ``captures``: the capture
        recovery, which belongs with the processes that run capture sessions (HTTP)."""
        self.pipeline.start(stages)
        if captures and self.captures is not None:
            self.captures.recovery.start()

    def stop(self) -> None:
        if self.captures is not None:
            self.captures.close()
        self.pipeline.stop()

    def close(self) -> None:
        self.stop()


def open_evidence(
    *,
    sessions: sessionmaker[Session],
    chain: Chain,
    queue: AnchorQueue,
    batcher: Batcher,
    blobs: BlobStore,
    authorities: Sequence[TimestampAuthority],
    tsa: EmbeddedTimestampAuthority | None,
    tsa_roots: Sequence[x509.Certificate],
    issuer: CredentialIssuer,
    verifier: Verifier,
    trust: IssuerTrust,
    timestamp_retries: int,
    max_upload_bytes: int,
    poll_seconds: float,
    lease_seconds: float,
    pipeline_batch_size: int = 100,
    context_url: str | None = None,
    tsa_certificates_url: str | None = None,
    letter_pdfs: LetterPdfs | None = None,
    extra_receipts: ExtraReceipts | None = None,
    wait_for_extra_chains: bool = False,
    extra_chains: Mapping[int, Chain] | None = None,
) -> EvidenceParts:
    """``authorities`` are tried in order (an external one that is down falls back);
    ``context_url`` is where letters say the hub's context can be fetched
    (:func:`evidence.deposit.letter.build_custody_letter`); letters name
    ``tsa_certificates_url`` for the embedded ``tsa``'s tokens; ``letter_pdfs`` makes
    the signed PDF letters (:mod:`evidence.letter_pdf`). ``extra_receipts``: letters carry
    a receipt per extra chain (issue 16), refreshed on request, or waited for with
    ``wait_for_extra_chains``; ``extra_chains`` lets the letter check ask them too."""
    chains = {tsa.name: tsa_certificates_url} if tsa and tsa_certificates_url else {}
    timestamps = TimestampClient(list(authorities), retries=timestamp_retries)
    deposits = DepositService(
        sessions, blobs, max_upload_bytes=max_upload_bytes, poll_seconds=poll_seconds
    )
    issue_letters = DepositLetters(
        LetterIssuer(issuer, service="deposits"),
        chains,
        context_url=context_url,
        extra_receipts=extra_receipts,
    )
    pipeline = EvidencePipeline(
        sessions,
        timestamps,
        queue,
        issue_letters=issue_letters,
        interval=poll_seconds,
        lease_seconds=lease_seconds,
        batch_size=pipeline_batch_size,
        wait_for_extra=extra_receipts if wait_for_extra_chains else None,
    )
    if extra_receipts is not None and extra_receipts.chain_ids:
        deposits.refresher = LetterRefresher(sessions, queue, issue_letters, extra_receipts)
    deposits.subscribe(pipeline.wake)
    batcher.subscribe_anchored(pipeline.on_batch_anchored)
    roots = list(tsa_roots)
    letters = LetterVerifier(
        verifier, chain, trust=trust, tsa_roots=roots, extra_chains=extra_chains
    )
    pdfs = LetterPdfService(letter_pdfs, letters, issuer.did) if letter_pdfs else None
    return EvidenceParts(blobs, tsa, timestamps, deposits, pipeline, letters, roots, pdfs)
