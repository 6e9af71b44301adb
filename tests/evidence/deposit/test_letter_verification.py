"""Custody letters from a real hub, checked by ``POST /evidence/verify`` and the LetterVerifier.

Each of the three parties is checked on its own: the notary's proof, the RFC 3161
token over the content's SHA-256, the anchor receipt on chain, and, given the
file, its SHA-256 and SM3. Every tampering fails with the check that caught it.
"""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from credentials.jsonld.context_integrity import context_bytes
from credentials.jsonld.contexts import NOTARY_HUB_V1
from evidence.deposit.letter_verification import LetterVerifier
from evidence.letter_issuer import LetterIssuer
from notary_hub.hub import Hub
from notary_hub.hub_urls import context_url
from testkit.waiting import wait_until
from tests.fixtures.hub_app import AUTH

DEPOSITOR = "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
HEADERS = {**AUTH, "Depositor": DEPOSITOR}
CONTENT = b"%PDF-1.7 supply contract between A and B\n" * 500


def deposit(client: TestClient, content: bytes = CONTENT) -> dict[str, Any]:
    response = client.post(
        "/evidence/deposits",
        files={"file": ("contract.pdf", content, "application/pdf")},
        data={"title": "Supply contract"},
        headers=HEADERS,
    )
    assert response.status_code == 201, response.text
    deposit_id = response.json()["id"]

    def state() -> str:
        found: str = client.get(f"/evidence/deposits/{deposit_id}", headers=HEADERS).json()["state"]
        return found

    wait_until(
        lambda: state() == "certified",
        timeout=30,
        message=lambda: f"deposit {deposit_id} stayed {state()}",
    )
    letter = client.get(f"/evidence/deposits/{deposit_id}/credential", headers=HEADERS)
    assert letter.status_code == 200
    result: dict[str, Any] = letter.json()
    return result


def verify(client: TestClient, letter: Any, content: bytes | None = None) -> Any:
    if content is None:
        return client.post("/evidence/verify", json={"letter": letter})
    return client.post(
        "/evidence/verify",
        files={"file": ("contract.pdf", content, "application/pdf")},
        data={"letter": json.dumps(letter)},
    )


def failed_checks(response: Any) -> set[str]:
    return {problem["check"] for problem in response.json()["errors"]}


def test_a_letter_verifies_with_its_file(hub_client: TestClient, hub_app: Hub) -> None:
    letter = deposit(hub_client)
    assert letter["issuer"] == hub_app.notary.did
    response = verify(hub_client, letter, CONTENT)
    assert response.status_code == 200, response.json()
    body = response.json()
    checks = {"proof", "status", "contextDigest", "timestamp", "anchor", "file"}
    assert checks <= set(body["checks"])
    served = context_url(hub_app.settings)
    assert served.endswith("/contexts/notary-hub/v1")
    assert [r["id"] for r in letter["relatedResource"]] == [NOTARY_HUB_V1, served]
    document = hub_client.get("/contexts/notary-hub/v1")
    assert document.status_code == 200
    assert document.headers["content-type"] == "application/ld+json"
    assert document.content == context_bytes(NOTARY_HUB_V1)
    assert body["warnings"] == []  # the embedded TSA's root is the hub's own: trusted
    assert "bytes match" in body["details"]["evidence"]["file"]
    assert verify(hub_client, letter).status_code == 200


def test_another_file_fails_the_file_check(hub_client: TestClient) -> None:
    letter = deposit(hub_client)
    response = verify(hub_client, letter, CONTENT + b" ")
    assert response.status_code == 422
    assert failed_checks(response) == {"file"}


def swap_timestamp(letter: dict[str, Any], other: dict[str, Any]) -> None:
    letter["evidence"][0]["timeStampToken"] = other["evidence"][0]["timeStampToken"]


def alter_receipt(letter: dict[str, Any], _other: dict[str, Any]) -> None:
    receipt = letter["evidence"][1]["anchorReceipt"]
    receipt["blockNumber"] = receipt["blockNumber"] + 1


def alter_subject(letter: dict[str, Any], _other: dict[str, Any]) -> None:
    letter["credentialSubject"]["title"] = "Another contract"


def corrupt_token(letter: dict[str, Any], _other: dict[str, Any]) -> None:
    token = letter["evidence"][0]["timeStampToken"]
    raw = bytearray(base64.urlsafe_b64decode(token[1:] + "=" * (-len(token[1:]) % 4)))
    raw[-40] ^= 0x01
    letter["evidence"][0]["timeStampToken"] = (
        "u" + base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    )


@pytest.mark.parametrize(
    ("tamper", "caught_by"),
    [
        (swap_timestamp, {"proof", "timestamp"}),
        (alter_receipt, {"proof", "anchor"}),
        (alter_subject, {"proof"}),
        (corrupt_token, {"proof", "timestamp"}),
    ],
    ids=["swapped-token", "altered-receipt", "altered-subject", "corrupted-token"],
)
def test_tampered_letters_fail_with_the_check_that_caught_them(
    hub_client: TestClient, tamper: Any, caught_by: set[str]
) -> None:
    letter = deposit(hub_client)
    other = deposit(hub_client, b"another file")
    tampered = copy.deepcopy(letter)
    tamper(tampered, other)
    response = verify(hub_client, tampered, CONTENT)
    assert response.status_code == 422
    assert failed_checks(response) == caught_by, response.json()["errors"]


def test_bad_requests_are_4xx(hub_client: TestClient) -> None:
    assert (
        hub_client.post(
            "/evidence/verify", content=b"x", headers={"content-type": "text/plain"}
        ).status_code
        == 400
    )
    assert hub_client.post("/evidence/verify", json={"no": "letter"}).status_code == 400
    response = verify(hub_client, {"type": ["VerifiableCredential"]})
    assert response.status_code == 400
    form = hub_client.post("/evidence/verify", files={"file": ("a", b"x")}, data={"other": "field"})
    assert form.status_code == 400
    assert form.json()["error"] == "invalid_deposit"


def test_the_recorded_context_digest_is_checked_and_older_letters_pass_without_one(
    hub_client: TestClient, hub_app: Hub
) -> None:
    letter = deposit(hub_client)
    issuer = hub_app.credentials.issuer
    unsigned = {k: v for k, v in letter.items() if k not in ("proof", "credentialStatus")}

    other = copy.deepcopy(unsigned)
    other["relatedResource"][0]["digestSRI"] = "sha384-" + base64.b64encode(bytes(48)).decode()
    (signed,) = LetterIssuer(issuer, service="deposits").issue([other])
    response = verify(hub_client, signed, CONTENT)
    assert response.status_code == 422
    assert failed_checks(response) == {"contextDigest"}
    (problem,) = response.json()["errors"]
    assert problem["code"] == "CONTEXT_DIGEST_MISMATCH" and NOTARY_HUB_V1 in problem["message"]

    # Letters issued before the hub recorded the digest carry no relatedResource.
    older = {k: v for k, v in unsigned.items() if k != "relatedResource"}
    (signed,) = LetterIssuer(issuer, service="deposits").issue([older])
    response = verify(hub_client, signed, CONTENT)
    assert response.status_code == 200, response.json()
    assert "contextDigest" not in response.json()["checks"]


def test_a_receipt_is_checked_on_its_own_chains_node_or_reported_unchecked(
    hub_client: TestClient, hub_app: Hub
) -> None:
    """Issue 16: a second receipt claiming chain 31338. With no node of that chain it is
    reported unchecked (the primary receipt proves the anchoring); handed a node that
    answers another chain id for 31338, it is refused, whatever the caller's mapping says;
    a letter whose only receipt no node serves fails."""
    letter = deposit(hub_client)
    unsigned = {k: v for k, v in letter.items() if k not in ("proof", "credentialStatus")}
    claimed = copy.deepcopy(unsigned["evidence"][1])
    claimed["chainId"] = claimed["anchorReceipt"]["chainId"] = 31338
    unsigned["evidence"].append(claimed)
    (signed,) = LetterIssuer(hub_app.credentials.issuer, service="deposits").issue([unsigned])

    response = verify(hub_client, signed, CONTENT)
    assert response.status_code == 200, response.json()
    body = response.json()
    assert [w["code"] for w in body["warnings"]] == ["UNCHECKED_ANCHOR"]
    assert body["details"]["uncheckedAnchors"] == [31338]

    parts = hub_app.credentials
    lying = LetterVerifier(
        parts.verifier, hub_app.chain, trust=parts.trust, extra_chains={31338: hub_app.chain}
    )
    result = lying.verify(signed)
    assert not result.verified
    assert [p.message for p in result.errors if p.check == "anchor"] == [
        "chain 31338: the receipt is for chain 31338, the node serves 1337"
    ]

    alone = copy.deepcopy(unsigned)
    alone["evidence"] = [alone["evidence"][0], claimed]
    (signed,) = LetterIssuer(hub_app.credentials.issuer, service="deposits").issue([alone])
    response = verify(hub_client, signed, CONTENT)
    assert response.status_code == 422
    assert failed_checks(response) == {"anchor"}
    assert "no anchor receipt could be checked" in response.json()["errors"][0]["message"]
