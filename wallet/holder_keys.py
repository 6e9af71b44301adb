"""Which of the wallet's keys speaks for a DID when it presents: an ``authentication`` method.

W3C DID Core §5.3.1 "Authentication" (https://www.w3.org/TR/did-core/#authentication):
a presentation's proof (``proofPurpose`` ``authentication``, or a ``vp+jwt`` ``kid``)
must name a verification method the holder's document lists under ``authentication``.
The document is the one the chain has now (a did:key's is its key). Ed25519 keys come
first (eddsa-rdfc-2022 signs with nothing else); a ``vp+jwt`` may also be signed
ES256K by the did:ethr's controller key (``#controller``).
"""

from __future__ import annotations

from typing import Any

from wallet.errors import UnknownKey
from wallet.keys import WalletKey
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
