"""Whom a verifier trusts to issue: the last check of every verification.

A proof that verifies says only that the key the issuer's DID document lists
signed the document. Whether that issuer is anyone to believe is the verifier's
decision (VC Data Model 2.0 §8.1 "Trust Model",
https://www.w3.org/TR/vc-data-model-2.0/#trust-model: "the verifier trusts the
issuer ... for the claims it makes"), and it is made here from two sources only:

- DIDs the verifier pins itself (``notary-hub verify --issuer``, a trust file);
- the consortium registry on chain: a notary the consortium admitted, as of the
  proof's time (:class:`did_registry.consortium_trust.ConsortiumTrust`).

A custody letter is valid only from a trusted issuer (``required=True``). For a
generic credential the trust status is reported as its own check (``issuer``)
or a warning, so that nobody reads "verified" as "from the notary".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from credentials.errors import CredentialError
from credentials.verification import Problem, VerificationResult

CHECK = "issuer"


class UntrustedIssuer(CredentialError):
    """A proof that verifies, by an issuer the verifier has no reason to trust."""

    code = "UNTRUSTED_ISSUER"
    status_code = 422


@dataclass(frozen=True, slots=True)
class TrustDecision:
    trusted: bool
    reason: str  # why, for the report: "pinned by the verifier", "consortium member at block 7"


class IssuerTrust(Protocol):
    """A source of trust in issuers."""

    def decide(self, issuer: str, at: datetime) -> TrustDecision:
        """Whether ``issuer`` was trusted to issue at ``at`` (the proof's time)."""
        ...


class PinnedIssuers:
    """DIDs the verifier names itself; trusted at any time."""

    def __init__(self, dids: Iterable[str]) -> None:
        self._dids = frozenset(dids)

    def __bool__(self) -> bool:
        return bool(self._dids)

    def decide(self, issuer: str, at: datetime) -> TrustDecision:
        if issuer in self._dids:
            return TrustDecision(True, "pinned by the verifier")
        return TrustDecision(False, "not among the pinned issuers")


class AnyOf:
    """Trusted when any source trusts; otherwise every source's reason is reported."""

    def __init__(self, sources: Sequence[IssuerTrust]) -> None:
        self._sources = list(sources)

    def decide(self, issuer: str, at: datetime) -> TrustDecision:
        reasons = []
        for source in self._sources:
            decision = source.decide(issuer, at)
            if decision.trusted:
                return decision
            reasons.append(decision.reason)
        return TrustDecision(False, "; ".join(reasons) or "no issuer is trusted")


def signing_time(result: VerificationResult) -> datetime | None:
    """When the document was signed, by its own account: the latest proof ``created``
    (Data Integrity) or the ``iat`` the key was resolved at (vc+jwt)."""
    times: list[datetime] = []
    for proof in result.details.get("proofs", []):
        created = proof.get("created") if isinstance(proof, Mapping) else None
        if isinstance(created, str):
            try:
                times.append(_utc(datetime.fromisoformat(created)))
            except ValueError:
                continue
    key_time = result.details.get("keyTime")
    if isinstance(key_time, int) and not isinstance(key_time, bool):
        times.append(datetime.fromtimestamp(key_time, UTC))
    return max(times) if times else None


def check_issuer_trust(
    result: VerificationResult,
    trust: IssuerTrust,
    *,
    required: bool,
    now: datetime | None = None,
) -> None:
    """Record whether the issuer of a verified ``result`` is trusted.

    Nothing is decided for a document whose proof did not verify: its issuer is
    unknown. ``required`` makes distrust an error (custody letters); otherwise it is a
    warning, and trust a passed ``issuer`` check.
    """
    issuer = result.details.get("issuer")
    if "proof" not in result.checks or not isinstance(issuer, str):
        return
    at = signing_time(result) or now or datetime.now(UTC)
    decision = trust.decide(issuer, at)
    result.details["issuerTrust"] = {"trusted": decision.trusted, "reason": decision.reason}
    if decision.trusted:
        result.passed(CHECK)
        return
    error = UntrustedIssuer(f"issuer not trusted: {issuer} ({decision.reason})")
    if required:
        result.fail(CHECK, error)
    else:
        result.warnings.append(Problem.of(CHECK, error))


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
