"""``open_draws``: the draw service assembled from plain values (issue 14).

The state machine (:class:`~evidence.draw.service.DrawService`), its commit and draw
steps over the draw registry on chain (:class:`~evidence.draw.chain_record.DrawChainRecords`)
and the timestamp authorities, and what a drawn draw publishes. Mapping settings to these
arguments is the wiring's job (``notary_hub.hub_evidence``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from chain_adapter.contract import BoundContract
from chain_adapter.transactor import Transactor
from evidence.blob_store import BlobStore
from evidence.draw.chain_record import DrawChainRecords
from evidence.draw.committing import DrawCommitter
from evidence.draw.drand import QUICKNET
from evidence.draw.drawing import DrawRunner
from evidence.draw.entry_receipts import EntryReceipts
from evidence.draw.letter_pdf import DrawLetterPdfs
from evidence.draw.letters import DrawLetters
from evidence.draw.publication import DrawPublication
from evidence.draw.receipt_credentials import ReceiptCredentials
from evidence.draw.registry import DrawRegistry
from evidence.draw.service import DrawService
from evidence.draw.winner_letters import WinnerLetters
from evidence.letter_issuer import LetterIssuer
from evidence.letter_pdf.build import LetterPdfs
from evidence.timestamping.protocol import TimestampAuthority
from hub_kernel.keystore import KeyStore

QUICKNET_VALUES: dict[str, Any] = {
    "chainHash": QUICKNET.chain_hash.hex(),
    "publicKey": QUICKNET.public_key.hex(),
    "genesis": QUICKNET.genesis,
    "period": QUICKNET.period,
}


@dataclass
class DrawParts:
    service: DrawService
    committer: DrawCommitter
    runner: DrawRunner
    records: DrawChainRecords
    publication: DrawPublication
    receipts: EntryReceipts
    letters: DrawLetters | None = None  # with the notary's issuer: the result letter
    winner_letters: WinnerLetters | None = None  # and the winners' credentials
    letter_pdfs: DrawLetterPdfs | None = None  # with the document-signing key: the PDF
    receipt_credentials: ReceiptCredentials | None = None  # with the issuer: on demand


def beacon_networks(extra: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """drand quicknet (built in, first: the default) and any further networks by name."""
    return {QUICKNET.name: QUICKNET_VALUES, **(extra or {})}


def open_draws(
    *,
    sessions: sessionmaker[Session],
    blobs: BlobStore,
    keystore: KeyStore,
    directory: Path,
    registry: BoundContract,
    transactor: Transactor,
    timestamps: TimestampAuthority,
    relays: Sequence[str],
    networks: Mapping[str, Mapping[str, Any]] | None = None,
    relay_timeout: float = 5.0,
    min_lead_seconds: int = 60,
    max_chunk_bytes: int | None = None,
    clock: Callable[[], datetime] | None = None,
    letter_issuer: LetterIssuer | None = None,
    context_url: str | None = None,
    letter_pdfs: LetterPdfs | None = None,
) -> DrawParts:
    """``registry``: the deployed ``DrawRegistry``, written by ``transactor`` (its owner);
    ``networks``: beacon networks besides quicknet, by name."""
    service = DrawService(
        sessions,
        blobs,
        keystore,
        directory,
        networks=beacon_networks(networks),
        min_lead_seconds=min_lead_seconds,
        max_chunk_bytes=max_chunk_bytes,
        **({"clock": clock} if clock is not None else {}),
    )
    records = DrawChainRecords(DrawRegistry(registry, transactor), transactor.chain.chain_id)
    committer = DrawCommitter(service, records, timestamps)
    letters = winners = entries = None
    if letter_issuer is not None:
        letters = DrawLetters(service, records, letter_issuer, context_url=context_url)
        winners = WinnerLetters(service, records, letter_issuer, context_url=context_url)
        entries = ReceiptCredentials(service, records, letter_issuer, context_url=context_url)
    runner = DrawRunner(
        service,
        records,
        relays=relays,
        relay_timeout=relay_timeout,
        on_drawn=_after_draw(letters, winners),
    )
    publication, receipts = DrawPublication(service), EntryReceipts(service)
    pdfs = DrawLetterPdfs(letters, letter_pdfs) if letters and letter_pdfs else None
    return DrawParts(
        service, committer, runner, records, publication, receipts, letters, winners, pdfs, entries
    )


def _after_draw(
    letters: DrawLetters | None, winners: WinnerLetters | None
) -> Callable[[str], None] | None:
    """Sign the result letter, then the winners' credentials, once a draw is drawn."""
    if letters is None or winners is None:
        return None

    def after(draw_id: str) -> None:
        letters.issue_quietly(draw_id)
        winners.issue_quietly(draw_id)

    return after
