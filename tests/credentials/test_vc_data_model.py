"""VC Data Model 2.0 structure and validity-period rules."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from credentials.errors import MalformedCredential, ValidityError
from credentials.vc_data_model import (
    check_credential,
    check_presentation,
    check_validity_period,
    format_date_time,
    issuer_id,
    parse_date_time,
)

CREDENTIAL: dict[str, Any] = {
    "@context": ["https://www.w3.org/ns/credentials/v2"],
    "id": "urn:uuid:3978344f-8596-4c3a-a978-8fcaba3903c5",
    "type": ["VerifiableCredential"],
    "issuer": {"id": "did:example:issuer", "name": "Notary"},
    "validFrom": "2026-01-01T00:00:00Z",
    "validUntil": "2027-01-01T00:00:00+08:00",
    "credentialSubject": {"id": "did:example:subject", "name": "x"},
}


def test_a_valid_credential_passes() -> None:
    assert check_credential(CREDENTIAL) is CREDENTIAL
    assert issuer_id(CREDENTIAL) == "did:example:issuer"


@pytest.mark.parametrize(
    ("member", "value", "reason"),
    [
        ("@context", ["https://www.w3.org/2018/credentials/v1"], "first @context"),
        ("@context", "https://www.w3.org/ns/credentials/v2", "must be an array"),
        ("type", ["Credential"], "must include VerifiableCredential"),
        ("type", [], "non-empty array"),
        ("id", "not a url", "id must be a URL"),
        ("issuer", {"name": "no id"}, "issuer must be a URL"),
        ("issuer", 7, "issuer must be a URL"),
        ("credentialSubject", [], "credentialSubject"),
        ("credentialSubject", {"id": "nope"}, "credentialSubject.id"),
        ("validFrom", "2026-01-01", "dateTimeStamp"),
        ("validFrom", "2026-01-01T00:00:00", "dateTimeStamp"),
        ("validUntil", "2025-01-01T00:00:00Z", "before validFrom"),
        ("issuanceDate", "2025-01-01T00:00:00Z", "VC 1.1"),
        ("credentialStatus", [{"id": "x"}], "credentialStatus"),
    ],
)
def test_structural_errors_name_the_member(member: str, value: object, reason: str) -> None:
    credential = copy.deepcopy(CREDENTIAL)
    credential[member] = value
    with pytest.raises(MalformedCredential, match=reason):
        check_credential(credential)


def test_missing_subject_and_non_objects() -> None:
    credential = copy.deepcopy(CREDENTIAL)
    del credential["credentialSubject"]
    with pytest.raises(MalformedCredential):
        check_credential(credential)
    with pytest.raises(MalformedCredential, match="JSON object"):
        check_credential([CREDENTIAL])


def test_validity_period() -> None:
    check_validity_period(CREDENTIAL, datetime(2026, 6, 1, tzinfo=UTC))
    with pytest.raises(ValidityError, match="not valid before"):
        check_validity_period(CREDENTIAL, datetime(2025, 12, 31, 23, 59, tzinfo=UTC))
    # validUntil is 2026-12-31T16:00Z once its +08:00 offset is applied.
    with pytest.raises(ValidityError, match="expired"):
        check_validity_period(CREDENTIAL, datetime(2026, 12, 31, 16, 0, 1, tzinfo=UTC))


def test_date_times_round_trip_in_utc() -> None:
    moment = parse_date_time("2026-03-01T08:00:00.5+08:00", "validFrom")
    assert format_date_time(moment) == "2026-03-01T00:00:00Z"


def test_presentations() -> None:
    presentation = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "holder": "did:example:holder",
        "verifiableCredential": [CREDENTIAL],
    }
    assert check_presentation(presentation) is presentation
    with pytest.raises(MalformedCredential, match="VerifiablePresentation"):
        check_presentation({**presentation, "type": ["VerifiableCredential"]})
    with pytest.raises(MalformedCredential, match="holder"):
        check_presentation({**presentation, "holder": "nobody"})
    with pytest.raises(MalformedCredential, match="verifiableCredential"):
        check_presentation({**presentation, "verifiableCredential": ["a string"]})
