"""Taking a credential into the wallet: verified over the chain first, stored only if it passes.

VC Data Model 2.0 §7.1 "Verification" (https://www.w3.org/TR/vc-data-model-2.0/#verification):
the holder runs the verifier itself (:class:`credentials.verifier.Verifier` over the
wallet's chain: proof, validity, status on chain) and requires a trusted issuer
(:func:`credentials.issuer_trust.check_issuer_trust`, ``required=True``: a notary the
consortium registry on chain admitted). A caller with more to check (the CLI runs the
custody letter's timestamp and anchor checks, which live in ``evidence``) passes an
``extra_check``. Any failure is :class:`~wallet.errors.CredentialRejected` and nothing
is stored. ``refresh_status`` re-reads a stored credential's status list entry on chain
(Bitstring Status List v1.0 §3.2).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from credentials.issuer_trust import check_issuer_trust
from credentials.verification import VerificationResult
from wallet.chain_view import ChainView
from wallet.credential_store import StoredCredential
from wallet.errors import CredentialRejected, UnknownCredential
from wallet.wallet import Wallet

ExtraCheck = Callable[[Any], VerificationResult | None]  # None: nothing more to check


def credential_id(document: Any) -> str | None:
    """The ``id`` a credential document names (a vc+jwt is identified by the store)."""
    if isinstance(document, dict) and isinstance(document.get("id"), str):
        return str(document["id"])
    return None


def rejection(result: VerificationResult) -> CredentialRejected:
    problems = "; ".join(f"{p.check}: {p.message}" for p in result.errors[:3])
    return CredentialRejected(f"the credential does not verify: {problems}")


class Receiver:
    """Verify-then-store over ``chain``."""

    def __init__(self, chain: ChainView) -> None:
        self._chain = chain
        self._verifier = chain.verifier()
        self._trust = chain.trust()

    def check(self, document: Any) -> VerificationResult:
        """The verifier's result with the issuer's trust required."""
        result = self._verifier.verify_credential(document)
        check_issuer_trust(result, self._trust, required=True)
        return result

    def receive(
        self,
        wallet: Wallet,
        document: Any,
        *,
        source: str | None = None,
        extra_check: ExtraCheck | None = None,
    ) -> StoredCredential:
        """Store ``document`` once it verifies; the stored copy if the wallet already holds it."""
        held = self._held(wallet, document)
        if held is not None:
            return held
        result = extra_check(document) if extra_check is not None else None
        if result is None:
            result = self.check(document)
        if not result.verified:
            raise rejection(result)
        return wallet.credentials.add(document, status="valid", source=source)

    def refresh_status(self, wallet: Wallet, credential: str) -> StoredCredential:
        """Re-verify the stored credential (its status entry read on chain); record its status."""
        stored = wallet.credentials.get(credential)
        result = self._verifier.verify_credential(stored.document)
        return wallet.credentials.set_status(stored.id, status_of(result))

    @staticmethod
    def _held(wallet: Wallet, document: Any) -> StoredCredential | None:
        known = credential_id(document)
        if known is None:
            return None
        try:
            stored = wallet.credentials.get(known)
        except UnknownCredential:
            return None
        return stored if stored.id == known else None


def status_of(result: VerificationResult) -> str:
    """``revoked`` / ``suspended`` by a set bit, ``valid`` when every check passed, else
    ``unknown`` (the status could not be read, or another check failed)."""
    checks = result.details.get("status", [])
    for purpose in ("revocation", "suspension"):
        if any(c.get("purpose") == purpose and c.get("status") == 1 for c in checks):
            return "revoked" if purpose == "revocation" else "suspended"
    return "valid" if result.verified else "unknown"
