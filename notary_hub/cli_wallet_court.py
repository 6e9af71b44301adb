"""``notary-hub wallet present`` and ``wallet bundle``: what a holder hands a court.

``present`` writes a Verifiable Presentation of stored credentials, signed by the
holder's key and bound to the verifier's challenge and domain
(:func:`wallet.presentations.build_presentation`). ``bundle`` writes the court bundle
(:mod:`wallet.court_bundle`): such a presentation of one custody letter, the original
file, and the letter as the notary's signed PDF, fetched from the hub that issued it.

Trust boundary: the holder signs only the presentation; the PDF and the letter carry the
notary's signatures, which the wallet checks before bundling (the letter on receipt,
the PDF here), so a clerk never receives a part the holder's own tools would refuse.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from evidence.letter_pdf.verify import PdfLetterVerifier
from notary_hub.cli_support import err, fail, out, plain
from notary_hub.cli_wallet_support import (
    chain_of,
    hub_of,
    letter_verifier,
    opened,
    signed_in,
    write_new,
)
from wallet.chain_view import ChainView
from wallet.court_bundle import BundleError, BundleParts, write_court_bundle
from wallet.holder_keys import authentication_key
from wallet.hub_client import HubClient
from wallet.presentations import FORMATS, Format, build_presentation
from wallet.wallet import DidRecord, Wallet

CredentialIds = Annotated[
    list[str], typer.Argument(metavar="CREDENTIAL_ID...", help="Credentials to present.")
]
Domain = Annotated[str, typer.Option(help="The verifier's domain (the court's).")]
Output = Annotated[Path, typer.Option("-o", "--output", help="Where to write it.")]
Challenge = Annotated[
    str | None,
    typer.Option(help="The verifier's challenge (default: one asked from the hub)."),
]
FormatOption = Annotated[
    str, typer.Option("--format", help="di (eddsa-rdfc-2022) or jwt (vp+jwt).")
]
DidOption = Annotated[
    str | None, typer.Option("--did", metavar="DID", help="The holder (default: the first).")
]


def _format(fmt: str) -> Format:
    if fmt not in FORMATS:
        fail("invalid_option", f"--format is one of {', '.join(FORMATS)}, not {fmt!r}", 2)
    return "jwt" if fmt == "jwt" else "di"


def _challenge(wallet: Wallet, challenge: str | None, domain: str) -> str:
    if challenge is not None:
        return challenge
    with hub_of(wallet) as hub:
        issued = str(hub.presentation_challenge(domain)["challenge"])
    err.print(f"challenge {issued}", markup=False, highlight=False)
    return issued


def _presentation(
    wallet: Wallet,
    record: DidRecord,
    documents: list[dict[str, Any] | str],
    chain: ChainView,
    *,
    challenge: str,
    domain: str,
    fmt: Format,
) -> dict[str, Any] | str:
    key, method = authentication_key(wallet, record, chain.document(record.did), fmt=fmt)
    # Verifiers resolve the holder's key as of `created`: never date it before the chain
    # head, which can run ahead of the wall clock (the block that added the key).
    head = chain.chain.get_block("latest").timestamp
    created = datetime.fromtimestamp(max(int(time.time()), head), UTC)
    return build_presentation(
        documents,
        holder=record.did,
        verification_method=method,
        private_key=key.private_key,
        challenge=challenge,
        domain=domain,
        fmt=fmt,
        created=created,
    )


def _text(presentation: dict[str, Any] | str) -> str:
    return presentation if isinstance(presentation, str) else json.dumps(presentation, indent=2)


def present(
    ctx: typer.Context,
    credential_ids: CredentialIds,
    domain: Domain,
    output: Output,
    challenge: Challenge = None,
    fmt: FormatOption = "di",
    did: DidOption = None,
) -> None:
    """Present credentials to one verifier: a presentation bound to its challenge and domain."""
    chosen = _format(fmt)
    with opened(ctx) as wallet:
        record = wallet.did(did)
        documents = [wallet.credentials.get(c).document for c in credential_ids]
        nonce = _challenge(wallet, challenge, domain)
        with chain_of(wallet) as chain:
            presentation = _presentation(
                wallet, record, documents, chain, challenge=nonce, domain=domain, fmt=chosen
            )
        write_new(output, _text(presentation) + "\n")
    out.print(f"presentation written to {plain(output)}")


def _letter_pdf(hub: HubClient, deposit_id: str, chain: ChainView) -> bytes:
    pdf = hub.letter_pdf(deposit_id)
    result = PdfLetterVerifier(letter_verifier(chain), chain.resolver).verify(pdf)
    if not result.verified:
        reasons = "; ".join(f"{e.check}: {e.message}" for e in result.errors[:3])
        raise BundleError(f"the hub's letter PDF does not verify ({reasons})")
    return pdf


def bundle(
    ctx: typer.Context,
    credential_id: Annotated[str, typer.Argument(help="The custody letter to take to court.")],
    file: Annotated[
        Path, typer.Option("--file", help="The original file.", exists=True, dir_okay=False)
    ],
    domain: Domain,
    output: Output,
    challenge: Challenge = None,
    fmt: FormatOption = "di",
    did: DidOption = None,
) -> None:
    """One archive for a court clerk: presentation, original file, letter PDF, README."""
    chosen = _format(fmt)
    if output.exists():
        fail("file_exists", f"{plain(output)} exists: name a new file", 1)
    with opened(ctx) as wallet:
        stored = wallet.credentials.get(credential_id)
        record = wallet.did(did)
        if not isinstance(stored.document, dict) or stored.source is None:
            raise BundleError(
                "only a custody letter received from the hub can be bundled (it has the PDF)"
            )
        if stored.subject != record.did:
            raise BundleError(f"the letter is about {stored.subject}, not the holder {record.did}")
        nonce = _challenge(wallet, challenge, domain)
        with chain_of(wallet) as chain, signed_in(wallet) as hub:
            pdf = _letter_pdf(hub, stored.source, chain)
            presentation = _presentation(
                wallet, record, [stored.document], chain, challenge=nonce, domain=domain, fmt=chosen
            )
        parts = BundleParts(presentation, stored.document, file, pdf, nonce, domain)
        names = write_court_bundle(output, parts)
    out.print(f"court bundle written to {plain(output)}: {', '.join(names)}")
