"""The holder's credentials, each one record of the wallet's vault (``credential/<id>``).

A credential comes as a Data Integrity document (a JSON object) or a ``vc+jwt`` compact
JWS (VC-JOSE-COSE, https://www.w3.org/TR/vc-jose-cose/ §3.1.1: the payload is the
credential). What the list shows is read from it without verifying anything: the type,
issuer and subject (VC Data Model 2.0 §4.5-§4.7, https://www.w3.org/TR/vc-data-model-2.0/),
and the issue date from ``validFrom`` (2.0 §4.9) or ``issuanceDate`` (VC 1.1). The
caller verifies before :meth:`CredentialStore.add`; the store keeps what it was given.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from credentials.errors import CredentialError
from credentials.jose.jws_compact import parse_compact
from credentials.vc_data_model import format_date_time, issuer_id, types_of
from wallet.errors import AmbiguousCredential, CredentialRejected, UnknownCredential, WalletError
from wallet.vault import Vault

__all__ = ["STATUSES", "CredentialStore", "StoredCredential", "describe"]

STATUSES = ("valid", "revoked", "suspended", "unknown")
PREFIX = "credential/"
_UUID_URN = "urn:uuid:"
MAX_ID_LENGTH = 2048


@dataclass(frozen=True)
class StoredCredential:
    id: str
    document: dict[str, Any] | str
    types: tuple[str, ...]
    issuer: str
    subject: str | None
    issued: str | None
    status: str
    received_at: str
    source: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "document": self.document,
            "types": list(self.types),
            "issuer": self.issuer,
            "subject": self.subject,
            "issued": self.issued,
            "status": self.status,
            "received_at": self.received_at,
            "source": self.source,
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> StoredCredential:
        return cls(
            id=value["id"],
            document=value["document"],
            types=tuple(value["types"]),
            issuer=value["issuer"],
            subject=value["subject"],
            issued=value["issued"],
            status=value["status"],
            received_at=value["received_at"],
            source=value["source"],
        )


@dataclass(frozen=True)
class _Described:
    id: str
    types: tuple[str, ...]
    issuer: str
    subject: str | None
    issued: str | None


class CredentialStore:
    """Add, list, get (by id or unique prefix), delete, and re-status credentials."""

    def __init__(self, vault: Vault, clock: Callable[[], datetime] | None = None) -> None:
        self._vault = vault
        self._clock = clock or (lambda: datetime.now(UTC))

    def add(
        self, document: dict[str, Any] | str, *, status: str = "valid", source: str | None = None
    ) -> StoredCredential:
        """Store ``document``; :class:`CredentialRejected` if it is unreadable or already here."""
        _check_status(status)
        described = describe(document)
        if PREFIX + described.id in self._vault:
            raise CredentialRejected(f"credential {described.id} is already in the wallet")
        received = self._clock()
        stored = StoredCredential(
            id=described.id,
            document=document,
            types=described.types,
            issuer=described.issuer,
            subject=described.subject,
            issued=described.issued,
            status=status,
            received_at=received.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            source=source,
        )
        self._vault.commit({PREFIX + stored.id: stored.to_json()})
        return stored

    def list(self) -> list[StoredCredential]:
        """Every stored credential, oldest received first."""
        found = [self._load(name) for name in self._vault.names(PREFIX)]
        return sorted(found, key=lambda credential: (credential.received_at, credential.id))

    def get(self, id: str) -> StoredCredential:
        return self._load(PREFIX + self.resolve(id))

    def resolve(self, id: str) -> str:
        """The full id ``id`` names: itself, or the one id it is a unique prefix of (with or
        without ``urn:uuid:``)."""
        ids = [name.removeprefix(PREFIX) for name in self._vault.names(PREFIX)]
        if id in ids:
            return id
        matches = [
            full
            for full in ids
            if id and (full.startswith(id) or full.removeprefix(_UUID_URN).startswith(id))
        ]
        if not matches:
            raise UnknownCredential(f"no credential {id!r} in the wallet")
        if len(matches) > 1:
            raise AmbiguousCredential(f"{id!r} is the start of {len(matches)} credential ids")
        return matches[0]

    def delete(self, id: str) -> None:
        self._vault.commit({PREFIX + self.resolve(id): None})

    def set_status(self, id: str, status: str) -> StoredCredential:
        _check_status(status)
        current = self.get(id)
        updated = replace(current, status=status)
        self._vault.commit({PREFIX + updated.id: updated.to_json()})
        return updated

    def _load(self, name: str) -> StoredCredential:
        return StoredCredential.from_json(self._vault.read(name))


def describe(document: object) -> _Described:
    """Id, types, issuer, subject and issue date of a credential, unverified."""
    try:
        if isinstance(document, str):
            return _describe_jwt(document)
        if isinstance(document, dict):
            return _describe_object(document, fallback_id=_digest_id(document))
    except CredentialError as exc:
        raise CredentialRejected(f"not a credential the wallet can store: {exc.message}") from None
    raise CredentialRejected("a credential is a JSON object or a vc+jwt string")


def _describe_object(credential: Mapping[str, Any], *, fallback_id: str) -> _Described:
    types = tuple(types_of(credential))
    if "VerifiableCredential" not in types:
        raise CredentialRejected("the document's type does not include VerifiableCredential")
    issued = credential.get("validFrom", credential.get("issuanceDate"))
    return _Described(
        id=_checked_id(_text(credential.get("id")) or fallback_id),
        types=types,
        issuer=issuer_id(credential),
        subject=_subject_id(credential.get("credentialSubject")),
        issued=issued if isinstance(issued, str) else None,
    )


def _describe_jwt(token: str) -> _Described:
    payload = parse_compact(token.strip()).payload
    # VC 1.1 JWTs carry the credential in a "vc" claim, with jti/iss/sub/nbf beside it.
    wrapped = payload.get("vc")
    credential: dict[str, Any] = wrapped if isinstance(wrapped, dict) else payload
    described = _describe_object(
        {**credential, "issuer": credential.get("issuer", payload.get("iss"))},
        fallback_id=_text(payload.get("jti")) or _digest_id(token.strip()),
    )
    issued = described.issued
    if issued is None and isinstance(payload.get("nbf"), int | float):
        issued = format_date_time(datetime.fromtimestamp(payload["nbf"], UTC))
    subject = described.subject or _text(payload.get("sub"))
    return _Described(described.id, described.types, described.issuer, subject, issued)


def _checked_id(id: str) -> str:
    if len(id) > MAX_ID_LENGTH or not id.isprintable() or id != id.strip():
        raise CredentialRejected("the credential's id is not a printable URL of sane length")
    return id


def _subject_id(subject: object) -> str | None:
    if isinstance(subject, list):
        subject = subject[0] if subject else None
    return _text(subject.get("id")) if isinstance(subject, dict) else None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _digest_id(document: dict[str, Any] | str) -> str:
    """A stable id for a credential without one, so the same document is a duplicate."""
    data = document if isinstance(document, str) else json.dumps(document, sort_keys=True)
    return "urn:sha256:" + hashlib.sha256(data.encode()).hexdigest()


def _check_status(status: str) -> None:
    if status not in STATUSES:
        raise WalletError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
