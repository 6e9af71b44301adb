"""Structure and validity period of credentials and presentations: VC Data Model 2.0.

https://www.w3.org/TR/vc-data-model-2.0/ — §4.3 Contexts (the first is
``https://www.w3.org/ns/credentials/v2``), §4.4 Identifiers (``id`` is a URL),
§4.5 Types (``VerifiableCredential`` / ``VerifiablePresentation``), §4.7 Issuer (a
URL or an object with one), §4.8 Credential Subject, §4.9 Validity Period
(``validFrom`` / ``validUntil`` are ``dateTimeStamp`` values), §4.10 Status,
§4.13 Verifiable Presentations (``holder``, ``verifiableCredential``), and
§5.12 / the JSON-LD ``dateTimeStamp`` lexical form (a time zone is required).

These are pure checks on parsed JSON; they raise :class:`MalformedCredential`
(and :class:`ValidityError` for the period) with a message naming the member.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from credentials.errors import DocumentTooLarge, MalformedCredential, ValidityError
from credentials.jsonld.contexts import CREDENTIALS_V2

CREDENTIAL_TYPE = "VerifiableCredential"
PRESENTATION_TYPE = "VerifiablePresentation"
ENVELOPED_CREDENTIAL = "EnvelopedVerifiableCredential"
ENVELOPED_PRESENTATION = "EnvelopedVerifiablePresentation"
# Credentials one presentation may hold: each costs a proof check, a DID resolution and
# a status read, so a presentation of thousands is refused before any of that work.
MAX_PRESENTED_CREDENTIALS = 100

# XML Schema dateTimeStamp: a date-time with a mandatory time zone.
_DATE_TIME_STAMP = re.compile(
    r"-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})"
)
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S+")


def parse_date_time(value: object, member: str) -> datetime:
    """An XML Schema ``dateTimeStamp`` as an aware UTC datetime."""
    if not isinstance(value, str) or not _DATE_TIME_STAMP.fullmatch(value):
        raise MalformedCredential(
            f"{member} must be an XML Schema dateTimeStamp, e.g. 2026-01-01T00:00:00Z"
        )
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise MalformedCredential(f"{member} is not a valid date-time: {exc}") from None
    return parsed.astimezone(UTC)


def format_date_time(moment: datetime) -> str:
    """Seconds precision, UTC, ``Z``: the form Data Integrity ``created`` uses too."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def types_of(document: Mapping[str, Any]) -> list[str]:
    value = document.get("type")
    types = [value] if isinstance(value, str) else value
    if not isinstance(types, list) or not types or not all(isinstance(t, str) for t in types):
        raise MalformedCredential("type must be a string or a non-empty array of strings")
    return types


def issuer_id(credential: Mapping[str, Any]) -> str:
    issuer = credential.get("issuer")
    if isinstance(issuer, Mapping):
        issuer = issuer.get("id")
    if not isinstance(issuer, str) or not _URL.fullmatch(issuer):
        raise MalformedCredential("issuer must be a URL, or an object whose id is one")
    return issuer


def _check_contexts(document: Mapping[str, Any]) -> None:
    contexts = document.get("@context")
    if not isinstance(contexts, list) or not contexts:
        raise MalformedCredential("@context must be an array")
    if contexts[0] != CREDENTIALS_V2:
        raise MalformedCredential(f"the first @context must be {CREDENTIALS_V2}")


def _check_id(value: object, member: str) -> None:
    if not isinstance(value, str) or not _URL.fullmatch(value):
        raise MalformedCredential(f"{member} must be a URL")


def check_credential(credential: object) -> Mapping[str, Any]:
    """The structural rules of §4 for a (secured or unsecured) credential."""
    if not isinstance(credential, Mapping):
        raise MalformedCredential("a credential must be a JSON object")
    _check_contexts(credential)
    if CREDENTIAL_TYPE not in types_of(credential):
        raise MalformedCredential(f"type must include {CREDENTIAL_TYPE}")
    if "id" in credential:
        _check_id(credential["id"], "id")
    issuer_id(credential)
    subjects = credential.get("credentialSubject")
    subjects = [subjects] if isinstance(subjects, Mapping) else subjects
    if not isinstance(subjects, list) or not subjects:
        raise MalformedCredential("credentialSubject must be an object or a non-empty array")
    for subject in subjects:
        if not isinstance(subject, Mapping) or not subject:
            raise MalformedCredential("each credentialSubject must be a non-empty object")
        if "id" in subject:
            _check_id(subject["id"], "credentialSubject.id")
    start = end = None
    if "validFrom" in credential:
        start = parse_date_time(credential["validFrom"], "validFrom")
    if "validUntil" in credential:
        end = parse_date_time(credential["validUntil"], "validUntil")
    if start is not None and end is not None and end < start:
        raise MalformedCredential("validUntil is before validFrom")
    for legacy in ("issuanceDate", "expirationDate"):
        if legacy in credential:
            raise MalformedCredential(f"{legacy} is VC 1.1; VC 2.0 uses validFrom/validUntil")
    statuses = credential.get("credentialStatus", [])
    for status in [statuses] if isinstance(statuses, Mapping) else statuses:
        if not isinstance(status, Mapping) or not isinstance(status.get("type"), str):
            raise MalformedCredential("each credentialStatus must be an object with a type")
    return credential


def check_validity_period(credential: Mapping[str, Any], now: datetime) -> None:
    """§4.9: raise :class:`ValidityError` outside [validFrom, validUntil]."""
    if "validFrom" in credential:
        start = parse_date_time(credential["validFrom"], "validFrom")
        if now < start:
            raise ValidityError(f"not valid before {credential['validFrom']}")
    if "validUntil" in credential:
        end = parse_date_time(credential["validUntil"], "validUntil")
        if now > end:
            raise ValidityError(f"expired at {credential['validUntil']}")


def check_presentation(presentation: object) -> Mapping[str, Any]:
    """§4.13: a presentation, whose credentials are checked one by one by the verifier."""
    if not isinstance(presentation, Mapping):
        raise MalformedCredential("a presentation must be a JSON object")
    _check_contexts(presentation)
    if PRESENTATION_TYPE not in types_of(presentation):
        raise MalformedCredential(f"type must include {PRESENTATION_TYPE}")
    if "id" in presentation:
        _check_id(presentation["id"], "id")
    holder = presentation.get("holder")
    if isinstance(holder, Mapping):
        holder = holder.get("id")
    if holder is not None:
        _check_id(holder, "holder")
    presented = credentials_of(presentation)
    if len(presented) > MAX_PRESENTED_CREDENTIALS:
        raise DocumentTooLarge(
            f"the presentation holds {len(presented)} credentials; "
            f"at most {MAX_PRESENTED_CREDENTIALS} are verified"
        )
    for credential in presented:
        if not isinstance(credential, Mapping):
            raise MalformedCredential("each verifiableCredential must be an object")
    return presentation


def holder_id(presentation: Mapping[str, Any]) -> str | None:
    holder = presentation.get("holder")
    if isinstance(holder, Mapping):
        holder = holder.get("id")
    return holder if isinstance(holder, str) else None


def credentials_of(presentation: Mapping[str, Any]) -> Sequence[Any]:
    value = presentation.get("verifiableCredential", [])
    return [value] if isinstance(value, Mapping) else value if isinstance(value, list) else [value]


def status_entries(credential: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    value = credential.get("credentialStatus", [])
    return [value] if isinstance(value, Mapping) else [v for v in value if isinstance(v, Mapping)]
