"""The VC API over a real hub (embedded chain; SQLite and PostgreSQL).

Issue, verify, present, revoke, suspend: status changes show up in verification,
and each list version is checked against its anchor on chain.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from credentials.data_integrity.proofs import ProofOptions, SigningKey, add_proof
from credentials.verification import VerificationResult
from did_registry.did_key import did_key
from notary_hub.hub import Hub
from tests.fixtures.hub_app import AUTH


@pytest.fixture
def hub(hub_app: Hub) -> Hub:
    return hub_app


@pytest.fixture
def client(hub_client: TestClient) -> TestClient:
    return hub_client


# The member, who presents its credential: a presentation's holder must be the subject.
HOLDER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(40, 72)))
HOLDER = did_key(0xED, HOLDER_KEY.public_key().public_bytes_raw())


def credential(**extra: Any) -> dict[str, Any]:
    return {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://www.w3.org/ns/credentials/examples/v2",
        ],
        "type": ["VerifiableCredential", "MembershipCredential"],
        "credentialSubject": {"id": HOLDER, "memberOf": "Example Guild"},
        **extra,
    }


def issue(client: TestClient, **options: Any) -> dict[str, Any]:
    response = client.post(
        "/credentials/issue", json={"credential": credential(), "options": options}, headers=AUTH
    )
    assert response.status_code == 201, response.json()
    issued: dict[str, Any] = response.json()["verifiableCredential"]
    return issued


def verify(client: TestClient, document: Any) -> tuple[int, dict[str, Any]]:
    response = client.post("/credentials/verify", json={"verifiableCredential": document})
    return response.status_code, response.json()


def test_issue_needs_an_authorised_caller(client: TestClient) -> None:
    assert client.post("/credentials/issue", json={"credential": credential()}).status_code == 401


def test_issue_and_verify_both_mechanisms(client: TestClient, hub: Hub) -> None:
    assert hub.notary is not None
    for options in (
        {},
        {"securingMechanism": "vc+jwt"},
        {"securingMechanism": "vc+jwt", "alg": "ES256K"},
    ):
        issued = issue(client, **options)
        status, body = verify(client, issued)
        assert status == 200, body
        assert body["verified"] is True
        assert body["details"]["issuer"] == hub.notary.did
        assert "status" in body["checks"]
        assert len(body["checks"]) == len(set(body["checks"])), body["checks"]


def test_bad_input_is_400_and_failed_verification_is_422(client: TestClient) -> None:
    status, body = verify(client, {"not": "a credential"})
    assert status == 400
    assert body["problemDetails"][0]["type"].endswith("#PARSING_ERROR")
    issued = issue(client)
    tampered = copy.deepcopy(issued)
    tampered["credentialSubject"]["title"] = "Changed"
    status, body = verify(client, tampered)
    assert status == 422
    assert body["verified"] is False
    assert body["errors"][0]["check"] == "proof"
    response = client.post(
        "/credentials/issue",
        json={"credential": credential(issuer="did:example:someone-else")},
        headers=AUTH,
    )
    assert response.status_code == 422
    assert response.json()["error"] == "ISSUANCE_ERROR"
    response = client.post("/credentials/issue", json={"credential": "x"}, headers=AUTH)
    assert response.status_code == 422


def update_status(client: TestClient, credential_id: str, purpose: str, value: bool) -> Any:
    return client.post(
        "/credentials/status",
        json={
            "credentialId": credential_id,
            "credentialStatus": {"type": "BitstringStatusListEntry", "statusPurpose": purpose},
            "status": value,
        },
        headers=AUTH,
    )


def test_revocation_and_suspension_show_up_in_verification(client: TestClient) -> None:
    issued = issue(client, statusPurposes=["revocation", "suspension"])
    assert verify(client, issued)[0] == 200

    assert update_status(client, issued["id"], "suspension", True).status_code == 200
    status, body = verify(client, issued)
    assert status == 422
    assert any("suspended" in e["message"] for e in body["errors"])
    assert update_status(client, issued["id"], "suspension", False).status_code == 200
    assert verify(client, issued)[0] == 200

    assert update_status(client, issued["id"], "revocation", True).status_code == 200
    status, body = verify(client, issued)
    assert status == 422
    assert any("revoked" in e["message"] for e in body["errors"])
    refused = update_status(client, issued["id"], "revocation", False)
    assert refused.status_code == 422
    assert update_status(client, "urn:uuid:unknown", "revocation", True).status_code == 404


def test_status_lists_are_served_as_credentials(client: TestClient, hub: Hub) -> None:
    issued = issue(client)
    url = issued["credentialStatus"]["statusListCredential"]
    served = client.get("/credentials/status/" + url.rsplit("/", 1)[1])
    assert served.status_code == 200
    assert served.headers["content-type"].startswith("application/vc")
    listed = served.json()
    assert listed["id"] == url
    assert "BitstringStatusListCredential" in listed["type"]
    status, body = verify(client, listed)
    assert status == 200, body
    assert client.get("/credentials/status/00000000").status_code == 404


def test_presentations_with_challenge_and_domain(client: TestClient, hub: Hub) -> None:
    holder_key, holder = HOLDER_KEY, HOLDER
    method = f"{holder}#{holder.split(':')[2]}"
    presentation = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "holder": holder,
        "verifiableCredential": [issue(client)],
    }
    signed = add_proof(
        presentation,
        suite="eddsa-rdfc-2022",
        key=SigningKey(method, holder_key),
        options=ProofOptions(
            proof_purpose="authentication", challenge="c-123", domain="court.example"
        ),
    )

    def present(document: Any, **options: str) -> tuple[int, dict[str, Any]]:
        response = client.post(
            "/presentations/verify",
            json={"verifiablePresentation": document, "options": options},
        )
        return response.status_code, response.json()

    status, body = present(signed, challenge="c-123", domain="court.example")
    assert status == 200, body
    assert any(check.startswith("verifiableCredential[0].") for check in body["checks"])
    assert present(signed, challenge="other", domain="court.example")[0] == 422
    assert present(signed, challenge="c-123", domain="elsewhere.example")[0] == 422
    altered = copy.deepcopy(signed)
    altered["verifiableCredential"][0]["credentialSubject"]["title"] = "Changed"
    status, body = present(altered, challenge="c-123", domain="court.example")
    assert status == 422
    assert present({"type": "VerifiablePresentation"})[0] == 400


def test_each_check_is_named_once_in_order() -> None:
    """A check passed twice (two proofs, a merged inner result) is listed once, where it
    first passed."""
    inner = VerificationResult()
    for check in ("structure", "proof", "proof", "validity"):
        inner.passed(check)
    result = VerificationResult()
    result.passed("structure")
    result.merge(inner)
    result.merge(inner, prefix="verifiableCredential[0].")
    assert result.checks == [
        "structure",
        "proof",
        "validity",
        "verifiableCredential[0].structure",
        "verifiableCredential[0].proof",
        "verifiableCredential[0].validity",
    ]


def test_a_body_that_is_not_json_is_400_invalid_json(client: TestClient) -> None:
    for path in ("/credentials/verify", "/presentations/verify", "/credentials/issue"):
        for content in (b"{not json", b"", b'{"verifiableCredential": '):
            response = client.post(
                path, content=content, headers={**AUTH, "Content-Type": "application/json"}
            )
            assert response.status_code == 400, (path, content, response.text)
            assert response.json()["error"] == "invalid_json"
    # JSON that does not match the schema stays 422.
    response = client.post("/credentials/verify", json={"unexpected": 1})
    assert response.status_code == 422 and response.json()["error"] == "invalid_request"
