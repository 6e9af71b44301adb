"""Which of the wallet's keys speaks for a DID when it presents: an ``authentication`` method.

W3C DID Core §5.3.1 "Authentication" (https://www.w3.org/TR/did-core/#authentication):
a presentation's proof (``proofPurpose`` ``authentication``, or a ``vp+jwt`` ``kid``)
must name a verification method the holder's document lists under ``authentication``.
The document is the one the chain has now (a did:key's is its key). Ed25519 keys come
first (eddsa-rdfc-2022 signs with nothing else); a ``vp+jwt`` may also be signed
ES256K by the did:ethr's controller key (``#controller``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wallet.errors import UnknownKey
from wallet.keys import WalletKey
from wallet.openid4vp_login import LoginRequest
from wallet.presentations import Format, build_presentation
from wallet.wallet import DidRecord, Wallet


def _listed(document: dict[str, Any], method: str) -> bool:
    did = str(document.get("id", ""))
    for entry in document.get("authentication", []):
        reference = entry.get("id") if isinstance(entry, dict) else entry
        if isinstance(reference, str) and method in (reference, did + reference):
            return True
    return False


def authentication_key(
    wallet: Wallet, record: DidRecord, document: dict[str, Any], *, fmt: str = "di"
) -> tuple[WalletKey, str]:
    """The wallet key and its absolute verification method id that authenticate as ``record``."""
    names = list(record.signing_keys)
    if fmt == "jwt":
        names.append(record.controller_key)
    for name in names:
        method = record.verification_methods.get(name)
        if method is not None and _listed(document, method):
            return wallet.key(name), method
    hint = " (`notary-hub wallet did add-key --purpose authentication`)"
    raise UnknownKey(f"no key of the wallet authenticates as {record.did}{hint}")


def signing_choice(
    wallet: Wallet, record: DidRecord, document: dict[str, Any], fmt: str | None = None
) -> tuple[Format, WalletKey, str]:
    """The format and key to present with: the one asked for, else Data Integrity with
    an Ed25519 authentication key, else a vp+jwt by any authentication key."""
    if fmt is not None:
        chosen: Format = "jwt" if fmt == "jwt" else "di"
        return (chosen, *authentication_key(wallet, record, document, fmt=chosen))
    try:
        return ("di", *authentication_key(wallet, record, document, fmt="di"))
    except UnknownKey:
        return ("jwt", *authentication_key(wallet, record, document, fmt="jwt"))


def did_presenter(
    wallet: Wallet, record: DidRecord, document_of: Callable[[str], dict[str, Any]]
) -> Callable[[LoginRequest], tuple[Format, Any]]:
    """What answers a hub's sign-in request as ``record`` (OpenID4VP §14.1: the request's
    nonce and verifier bound in); ``document_of`` reads the DID's document when asked."""

    def present(request: LoginRequest) -> tuple[Format, Any]:
        chosen, key, method = signing_choice(wallet, record, document_of(record.did))
        presentation = build_presentation(
            [],
            holder=record.did,
            verification_method=method,
            private_key=key.private_key,
            challenge=request.nonce,
            domain=request.client_id,
            fmt=chosen,
            require_credentials=False,
        )
        return chosen, presentation

    return present
