"""Issuing credentials as the notary DID: the generic issuer the evidence services use.

VC Data Model 2.0 (https://www.w3.org/TR/vc-data-model-2.0/) §4.4 identifiers
(``urn:uuid`` when the caller gives none), §4.7 issuer (always the notary DID: a
request naming another issuer is refused, as the VC API's issue endpoint
specifies), §4.9 validity period, §4.10 status (Bitstring Status List entries);
secured either with Data Integrity eddsa-rdfc-2022 (https://www.w3.org/TR/vc-di-eddsa/)
or as ``application/vc+jwt`` (https://www.w3.org/TR/vc-jose-cose/ §3.1.1).
"""

from __future__ import annotations

import copy
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from credentials.data_integrity.proofs import Cryptosuite, ProofOptions, SigningKey, add_proof
from credentials.errors import IssuanceError, MalformedCredential
from credentials.issuing_policy import check_caller_credential
from credentials.jose.vc_jose import enveloped_credential, sign_credential_jwt
from credentials.jsonld.strict import check_terms
from credentials.status.service import StatusService
from credentials.vc_data_model import check_credential, format_date_time
from did_registry.notary_identity import NotaryIdentity

Mechanism = Literal["eddsa-rdfc-2022", "vc+jwt"]
MECHANISMS: tuple[Mechanism, ...] = ("eddsa-rdfc-2022", "vc+jwt")
JWT_ALGORITHMS = ("EdDSA", "ES256K")


@dataclass(frozen=True, slots=True)
class _CachedKey:
    method: str
    key: Ed25519PrivateKey
    chain_time: int  # the chain head's time when the key was looked up
    until: float


class NotarySigner:
    """Signs with the notary DID's current assertion key.

    The key is looked up in the notary's resolved DID document (never predicted)
    and kept for ``key_ttl`` seconds: a rotation made by ``notary-hub keys rotate``
    is picked up within that time, and a proof is never dated before the chain
    state that published its key (see :meth:`proof_time`). ``clock`` (seconds since
    the epoch) dates proofs and times the key's cache.
    """

    def __init__(
        self,
        notary: NotaryIdentity,
        *,
        suite: Cryptosuite,
        chain_time: Callable[[], int],
        controller_key: bytes | None = None,
        key_ttl: float = 2.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._notary = notary
        self._suite = suite
        self._chain_time = chain_time
        self._controller = (
            ec.derive_private_key(int.from_bytes(controller_key, "big"), ec.SECP256K1())
            if controller_key is not None
            else None
        )
        self._ttl = key_ttl
        self._clock = clock
        self._cached: _CachedKey | None = None
        self._lock = threading.Lock()

    @property
    def did(self) -> str:
        return self._notary.did

    def _current(self) -> _CachedKey:
        now = self._clock()
        cached = self._cached
        if cached is None or cached.until < now:
            with self._lock:
                fragment, key = self._notary.current_signing_key()
                head = self._chain_time()  # after the lookup: the key's block is at or below it
                cached = _CachedKey(f"{self._notary.did}#{fragment}", key, head, now + self._ttl)
                self._cached = cached
        return cached

    def signing_key(self) -> SigningKey:
        cached = self._current()
        return SigningKey(cached.method, cached.key)

    def proof_time(self) -> datetime:
        """Now, or the chain's head time if the chain runs ahead of the wall clock.

        Verifiers resolve the issuer's DID as of ``created``. Block times only
        increase, and a burst of transactions can put them seconds ahead of the
        wall clock; dating a proof before the block that published its key would
        make it unverifiable, so ``created`` is never earlier than the chain head
        seen when the key was looked up.
        """
        wall = int(self._clock())
        return datetime.fromtimestamp(max(wall, self._current().chain_time), UTC)

    def sign(
        self, document: Mapping[str, Any], options: ProofOptions | None = None
    ) -> dict[str, Any]:
        """``document`` with an eddsa-rdfc-2022 proof (``assertionMethod`` unless told)."""
        options = options or ProofOptions()
        if options.created is None:
            options = ProofOptions(
                proof_purpose=options.proof_purpose,
                created=self.proof_time(),
                expires=options.expires,
                challenge=options.challenge,
                domain=options.domain,
                nonce=options.nonce,
                id=options.id,
            )
        return add_proof(document, suite=self._suite, key=self.signing_key(), options=options)

    def sign_jwt(self, credential: Mapping[str, Any], *, alg: str = "EdDSA") -> str:
        """``credential`` as a ``vc+jwt``: EdDSA with the assertion key, or ES256K with
        the DID's controller key (the ``#controller`` method of did:ethr)."""
        issued_at = int(self.proof_time().timestamp())
        if alg == "EdDSA":
            key = self.signing_key()
            return sign_credential_jwt(
                credential,
                key=key.private_key,
                kid=key.verification_method,
                alg=alg,
                issued_at=issued_at,
            )
        if alg == "ES256K" and self._controller is not None:
            return sign_credential_jwt(
                credential,
                key=self._controller,
                kid=f"{self.did}#controller",
                alg=alg,
                issued_at=issued_at,
            )
        raise IssuanceError(f"the notary does not sign vc+jwt with {alg!r}")


@dataclass(frozen=True, slots=True)
class Issued:
    id: str
    mechanism: Mechanism
    credential: dict[str, Any]  # the secured credential, or the enveloped vc+jwt

    def to_json(self) -> dict[str, Any]:
        return {"verifiableCredential": self.credential}


class CredentialIssuer:
    """Completes, status-lists and secures credentials issued by the notary DID."""

    def __init__(
        self,
        signer: NotarySigner,
        *,
        status: StatusService | None = None,
        default_validity: timedelta | None = None,
    ) -> None:
        self._signer = signer
        self._status = status
        self._validity = default_validity

    @property
    def did(self) -> str:
        return self._signer.did

    def prepare(
        self,
        credential: Mapping[str, Any],
        *,
        status_purposes: Sequence[str] = (),
    ) -> dict[str, Any]:
        """The unsecured credential as it will be signed: issuer, id, validity and status set."""
        return self.prepare_many([credential], status_purposes=status_purposes)[0]

    def prepare_many(
        self,
        credentials: Sequence[Mapping[str, Any]],
        *,
        status_purposes: Sequence[str] = (),
    ) -> list[dict[str, Any]]:
        """:meth:`prepare` for many credentials; their status entries in one allocation."""
        documents = [self._complete(c, bool(status_purposes)) for c in credentials]
        if status_purposes and documents:
            if self._status is None:
                raise IssuanceError("this hub has no status lists")
            allocated = self._status.allocate_many([d["id"] for d in documents], status_purposes)
            for document, entries in zip(documents, allocated, strict=True):
                document["credentialStatus"] = entries[0] if len(entries) == 1 else entries
        for document in documents:
            check_credential(document)
            check_terms(document)  # never sign what JSON-LD would read differently
        return documents

    def _complete(self, credential: Mapping[str, Any], with_status: bool) -> dict[str, Any]:
        if not isinstance(credential, Mapping):
            raise MalformedCredential("a credential must be a JSON object")
        if "proof" in credential:
            raise MalformedCredential("the credential to issue already has a proof")
        document = copy.deepcopy(dict(credential))
        issuer = document.get("issuer", self.did)
        named = issuer.get("id") if isinstance(issuer, Mapping) else issuer
        if named != self.did:
            raise IssuanceError(f"this hub issues as {self.did}, not as {named!r}")
        document["issuer"] = issuer
        document.setdefault("id", f"urn:uuid:{uuid.uuid4()}")
        now = datetime.now(UTC)
        document.setdefault("validFrom", format_date_time(now))
        if self._validity is not None:
            document.setdefault("validUntil", format_date_time(now + self._validity))
        if with_status and "credentialStatus" in document:
            raise MalformedCredential("credentialStatus is assigned by the issuer")
        return document

    def issue(
        self,
        credential: Mapping[str, Any],
        *,
        mechanism: Mechanism = "eddsa-rdfc-2022",
        alg: str = "EdDSA",
        status_purposes: Sequence[str] = ("revocation",),
    ) -> Issued:
        return self.issue_many(
            [credential], mechanism=mechanism, alg=alg, status_purposes=status_purposes
        )[0]

    def issue_requested(
        self,
        credential: Mapping[str, Any],
        *,
        mechanism: Mechanism = "eddsa-rdfc-2022",
        alg: str = "EdDSA",
        status_purposes: Sequence[str] = ("revocation",),
    ) -> Issued:
        """:meth:`issue` for an outside caller (the VC API): only what
        :func:`~credentials.issuing_policy.check_caller_credential` allows."""
        if not isinstance(credential, Mapping):
            raise MalformedCredential("a credential must be a JSON object")
        check_caller_credential(credential)
        return self.issue(credential, mechanism=mechanism, alg=alg, status_purposes=status_purposes)

    def issue_many(
        self,
        credentials: Sequence[Mapping[str, Any]],
        *,
        mechanism: Mechanism = "eddsa-rdfc-2022",
        alg: str = "EdDSA",
        status_purposes: Sequence[str] = ("revocation",),
    ) -> list[Issued]:
        """Issue ``credentials`` together: one status allocation, one publish, then each
        signed. All or nothing: a bad credential fails the call before anything is signed
        (its siblings' entries stay allocated, and a retry with the same ids reuses them)."""
        if mechanism not in MECHANISMS:
            raise IssuanceError(f"unknown securing mechanism {mechanism!r}; use {MECHANISMS}")
        documents = self.prepare_many(credentials, status_purposes=status_purposes)
        if status_purposes and documents and self._status is not None:
            # A new list is served (and checkable) once its first version is anchored.
            self._status.publish()
        if mechanism == "vc+jwt":
            return [
                Issued(d["id"], mechanism, enveloped_credential(self._signer.sign_jwt(d, alg=alg)))
                for d in documents
            ]
        return [Issued(d["id"], mechanism, self._signer.sign(d)) for d in documents]
