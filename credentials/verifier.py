"""The verifier: everything a court or counterparty checks, with a chain node and nothing else.

VC Data Model 2.0 §7.1 "Verification" (https://www.w3.org/TR/vc-data-model-2.0/#verification)
in this order, each a named check in the result:

1. ``structure`` — §4 rules (:mod:`credentials.vc_data_model`);
2. ``context`` — bundled contexts only, no term JSON-LD would drop
   (:mod:`credentials.jsonld.strict`);
3. ``proof`` — Data Integrity (:mod:`credentials.data_integrity.proofs`) or
   ``vc+jwt`` (:mod:`credentials.jose.vc_jose`), the issuer's DID resolved through the
   chain as of the proof's creation, and the signing key bound to the issuer;
4. ``validity`` — §4.9 validFrom / validUntil against the verifier's clock;
5. ``status`` — Bitstring Status List entries, from a list credential handed in
   (any mirror) or from the copy published on chain, checked against the chain.

Presentations (§4.13) are checked with proof purpose ``authentication``, the
verifier's challenge and domain, the holder bound to the signing key, and that key
the holder's as of the proof's ``created`` and still in its latest DID document; then
each credential in them as above. A presentation naming a ``holder`` proves that
holder only by a proof: without one it is refused as unsigned
(:class:`UnsignedHolder`), never reported as the holder's. Enveloped credentials
and presentations (§4.13.1 / §4.13.2) are judged as envelopes, nothing beside the
token accepted (:func:`credentials.jose.vc_jose.enveloped_token`). Nothing here raises
for a bad document.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from chain_adapter.protocol import Chain
from credentials.data_integrity.proofs import verify_proof
from credentials.errors import (
    CredentialError,
    KeyResolutionError,
    MalformedCredential,
    StatusError,
)
from credentials.holder_binding import UnsignedHolder, check_holder_binding
from credentials.jose.vc_jose import (
    enveloped_presentation_token,
    enveloped_token,
    verify_credential_jwt,
    verify_presentation_jwt,
)
from credentials.jsonld.strict import check_terms
from credentials.keys.verification_methods import resolve_verification_key
from credentials.status.check import StatusCheck, check_status, check_status_on_chain
from credentials.vc_data_model import (
    ENVELOPED_CREDENTIAL,
    ENVELOPED_PRESENTATION,
    check_credential,
    check_presentation,
    check_validity_period,
    credentials_of,
    holder_id,
    issuer_id,
    status_entries,
    types_of,
)
from credentials.verification import Problem, VerificationResult
from did_registry.resolution import DidResolver

STATUS_ENTRY = "BitstringStatusListEntry"
STATUS_CACHE_SIZE = 16_384


class StatusLists(Protocol):
    """Where list credentials come from: a file, a mirror URL, the hub's own database."""

    def fetch(self, url: str) -> Mapping[str, Any] | None:
        """The list credential named ``url``, or None to fall back to the chain's copy."""
        ...


class StaticStatusLists:
    """List credentials handed to the verifier (``--status-list FILE``), by their ``id``."""

    def __init__(self, lists: Sequence[Mapping[str, Any]]) -> None:
        self._lists = {str(doc.get("id")): doc for doc in lists}

    def fetch(self, url: str) -> Mapping[str, Any] | None:
        return self._lists.get(url)


def _did_of(method: str) -> str:
    return method.split("#", 1)[0]


class Verifier:
    def __init__(
        self,
        resolver: DidResolver,
        *,
        chain: Chain | None,
        status_lists: StatusLists | None = None,
        status_registry: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._resolver = resolver
        self._chain = chain
        self._lists = status_lists
        self._registry = status_registry
        self._clock = clock
        # On-chain status answers, by entry and the chain head they were read at: a
        # new block may hold a new list version, the same head cannot.
        self._status_cache: OrderedDict[Hashable, StatusCheck] = OrderedDict()
        self._status_lock = threading.Lock()

    # -- credentials -------------------------------------------------------------------

    def verify_credential(
        self, credential: Any, *, check_status: bool = True
    ) -> VerificationResult:
        try:
            token = self._token_of(credential)
        except CredentialError as exc:
            result = VerificationResult()
            result.fail("structure", exc)
            return result
        if token is not None:
            result = verify_credential_jwt(token, resolver=self._resolver, at=int(self._clock()))
            if result.document is None:
                return result
            document: Mapping[str, Any] = result.document
        else:
            result = VerificationResult()
            checked = self._secured_credential(credential, result)
            if checked is None:
                return result
            document = checked
        self._validity(document, result)
        if check_status:
            self._status(document, result)
        result.details.setdefault("issuer", _safe(issuer_id, document))
        result.details.setdefault("id", document.get("id"))
        result.details.setdefault("type", document.get("type"))
        return result

    def _token_of(self, credential: Any) -> str | None:
        """The vc+jwt of a token or an envelope; None for a Data Integrity credential.
        A bad envelope raises: it is refused as one, never read as a credential."""
        if isinstance(credential, str):
            return credential
        if isinstance(credential, Mapping) and ENVELOPED_CREDENTIAL in _types(credential):
            return enveloped_token(credential, where="the credential")
        return None

    def _secured_credential(
        self, credential: Any, result: VerificationResult
    ) -> Mapping[str, Any] | None:
        try:
            document = check_credential(credential)
            issuer = issuer_id(document)
        except CredentialError as exc:
            result.fail("structure", exc)
            return None
        result.passed("structure")
        if not self._terms(document, result):
            return None
        proofs = verify_proof(document, resolver=self._resolver, expected_purpose="assertionMethod")
        result.merge(proofs)
        for proof in proofs.details.get("proofs", []):
            if _did_of(proof["verificationMethod"]) != issuer:
                result.fail(
                    "proof",
                    KeyResolutionError(
                        f"the proof is by {proof['verificationMethod']}, not by the issuer {issuer}"
                    ),
                )
        result.details["proofs"] = proofs.details.get("proofs", [])
        if result.errors:
            return None
        result.document = proofs.document
        return document

    def _terms(self, document: Mapping[str, Any], result: VerificationResult) -> bool:
        try:
            warnings = check_terms(document)
        except CredentialError as exc:
            result.fail("context", exc)
            return False
        result.passed("context")
        result.warnings.extend(Problem("context", "ISSUER_DEPENDENT_TERM", w) for w in warnings)
        return True

    def _validity(self, document: Mapping[str, Any], result: VerificationResult) -> None:
        try:
            check_validity_period(document, datetime.fromtimestamp(self._clock(), UTC))
        except CredentialError as exc:
            result.fail("validity", exc)
            return
        result.passed("validity")

    def _status(self, document: Mapping[str, Any], result: VerificationResult) -> None:
        checks = []
        for entry in status_entries(document):
            try:
                check = self._one_status(entry, issuer_id(document))
            except CredentialError as exc:
                result.fail("status", exc)
                continue
            checks.append(check.to_json())
            if check.revoked:
                result.fail("status", StatusError(f"revoked (list {check.list_url})"))
            elif check.suspended:
                result.fail("status", StatusError(f"suspended (list {check.list_url})"))
            else:
                result.passed("status")
        if checks:
            result.details["status"] = checks

    def _one_status(self, entry: Mapping[str, Any], issuer: str) -> StatusCheck:
        if entry.get("type") != STATUS_ENTRY:
            raise StatusError(f"status type {str(entry.get('type'))[:60]!r} is not supported")
        if self._chain is None:
            raise StatusError("status lists are checked against the chain; no chain was given")
        url = entry.get("statusListCredential")
        listed = (
            self._lists.fetch(url) if self._lists is not None and isinstance(url, str) else None
        )
        if listed is None:
            return self._status_on_chain(entry, issuer, self._chain)
        return check_status(
            entry,
            listed,
            chain=self._chain,
            issuer_did=issuer,
            verify_list=lambda doc: self.verify_credential(doc, check_status=False),
        )

    def _status_on_chain(self, entry: Mapping[str, Any], issuer: str, chain: Chain) -> StatusCheck:
        key = (
            issuer,
            str(entry.get("statusListCredential")),
            str(entry.get("statusListIndex")),
            str(entry.get("statusPurpose")),
            chain.block_number(),
        )
        with self._status_lock:
            cached = self._status_cache.get(key)
        if cached is not None:
            return cached
        check = check_status_on_chain(
            entry, chain=chain, issuer_did=issuer, registry=self._registry
        )
        with self._status_lock:
            self._status_cache[key] = check
            while len(self._status_cache) > STATUS_CACHE_SIZE:
                self._status_cache.popitem(last=False)
        return check

    # -- presentations -----------------------------------------------------------------

    def verify_presentation(
        self, presentation: Any, *, challenge: str | None = None, domain: str | None = None
    ) -> VerificationResult:
        if isinstance(presentation, str):
            return self._jwt_presentation(presentation, challenge, domain)
        result = VerificationResult()
        try:
            if isinstance(presentation, Mapping) and ENVELOPED_PRESENTATION in _types(presentation):
                token = enveloped_presentation_token(presentation)
                return self._jwt_presentation(token, challenge, domain)
            document = check_presentation(presentation)
        except CredentialError as exc:
            result.fail("structure", exc)
            return result
        result.passed("structure")
        if not self._terms(document, result):
            return result
        holder = holder_id(document)
        if "proof" not in document and holder is not None:
            # VC DM 2.0 §4.13: the holder is known from the securing mechanism; a
            # holder member nobody signed is a claim anyone could have written.
            result.fail(
                "proof",
                UnsignedHolder(
                    f"the presentation names {holder[:200]} as its holder but has no proof: "
                    "an unsigned holder claim"
                ),
            )
        elif "proof" in document or challenge is not None or domain is not None:
            self._presentation_proofs(document, holder, challenge, domain, result)
            if holder is not None and not result.errors:
                result.details["holder"] = holder  # proven: every proof is the holder's
        proven = result.details.get("holder")
        for index, credential in enumerate(credentials_of(document)):
            inner = self.verify_credential(credential)
            if isinstance(proven, str) and inner.document is not None:
                check_holder_binding(proven, inner.document, inner)
            result.merge(inner, prefix=f"verifiableCredential[{index}].")
        if result.verified:
            result.document = dict(document)
        return result

    def _presentation_proofs(
        self,
        document: Mapping[str, Any],
        holder: str | None,
        challenge: str | None,
        domain: str | None,
        result: VerificationResult,
    ) -> None:
        """The holder's proofs: each key the holder's as of its ``created`` and still in
        the holder's latest DID document."""
        now = int(self._clock())
        proofs = verify_proof(
            document,
            resolver=self._resolver,
            expected_purpose="authentication",
            challenge=challenge,
            domain=domain,
            now=now,
        )
        result.merge(proofs)
        for proof in proofs.details.get("proofs", []):
            method = proof["verificationMethod"]
            if holder is not None and _did_of(method) != holder:
                result.fail(
                    "proof",
                    KeyResolutionError(
                        f"the presentation is signed by {method}, not by its holder {holder}"
                    ),
                )
                continue
            try:  # a presentation is a live proof of control: a revoked key no longer speaks
                resolve_verification_key(self._resolver, method, "authentication", at=None)
            except CredentialError as exc:
                result.fail(
                    "proof",
                    KeyResolutionError(f"{method} is no longer the holder's key: {exc.message}"),
                )

    def _jwt_presentation(
        self, token: str, challenge: str | None, domain: str | None
    ) -> VerificationResult:
        result = verify_presentation_jwt(
            token,
            resolver=self._resolver,
            challenge=challenge,
            domain=domain,
            at=int(self._clock()),
        )
        for index, credential in enumerate(result.details.get("credentials", [])):
            if credential is None:
                continue
            inner = VerificationResult()
            self._validity(credential, inner)
            self._status(credential, inner)
            holder = result.details.get("holder")
            if isinstance(holder, str):
                check_holder_binding(holder, credential, inner)
            result.merge(inner, prefix=f"verifiableCredential[{index}].")
        return result


def _types(document: Mapping[str, Any]) -> list[str]:
    try:
        return types_of(document)
    except MalformedCredential:
        return []


def _safe(function: Callable[[Mapping[str, Any]], str], document: Mapping[str, Any]) -> str | None:
    try:
        return function(document)
    except CredentialError:
        return None
