"""Forged custody letters and untrusted issuers (issue 9, items 1, 2 and 8).

Who may make the notary sign: its own services, for what they witnessed. A VC API
caller cannot have it sign a letter, backdate a credential or claim evidence. Whom
a verifier trusts: a notary the consortium admitted, or a DID it pinned; a letter
signed by anyone else, even around genuine evidence, is refused by both verifiers.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from credentials.data_integrity.proofs import SigningKey, add_proof
from did_registry.did_key import did_key
from hub_kernel.multiformats import ED25519
from tests.security.conftest import CONTRACT, ServedHub, error_codes

V2 = "https://www.w3.org/ns/credentials/v2"
EXAMPLES = "https://www.w3.org/ns/credentials/examples/v2"
HUB = "https://w3id.org/notary-hub/v1"
ATTACKER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(100, 132)))
ATTACKER = did_key(ED25519, ATTACKER_KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))


def sign_as_attacker(document: dict[str, Any]) -> dict[str, Any]:
    unsigned = {k: v for k, v in document.items() if k not in ("proof", "credentialStatus")}
    unsigned["issuer"] = ATTACKER
    method = f"{ATTACKER}#{ATTACKER.split(':')[-1]}"
    return add_proof(unsigned, suite="eddsa-rdfc-2022", key=SigningKey(method, ATTACKER_KEY))


def generic(**extra: Any) -> dict[str, Any]:
    return {
        "@context": [V2, EXAMPLES],
        "type": ["VerifiableCredential", "MembershipCredential"],
        "credentialSubject": {"id": "did:example:holder", "memberOf": "Example Guild"},
        **extra,
    }


def test_the_reproduction_a_real_letter_resubmitted_for_another_depositor(
    served_hub: ServedHub,
) -> None:
    forged = copy.deepcopy(served_hub.letter)
    for member in ("proof", "credentialStatus", "issuer", "id"):
        forged.pop(member)
    forged["credentialSubject"]["depositor"] = "did:example:someone-else"
    forged["validFrom"] = "2020-01-01T00:00:00Z"
    response = served_hub.issue(forged)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "reserved_credential"
    assert "DataDepositCredential" in response.json()["message"]


@pytest.mark.parametrize(
    ("name", "credential"),
    [
        (
            "letter type under another context's @vocab",
            generic(type=["VerifiableCredential", "DataDepositCredential"]),
        ),
        ("compact IRI of the hub's vocabulary", generic(type=["VerifiableCredential", "nh:X"])),
        (
            "full IRI of the hub's vocabulary",
            generic(
                type=["VerifiableCredential", "https://w3id.org/notary-hub#DrawResultCredential"]
            ),
        ),
        (
            "capture letter",
            {
                "@context": [V2, HUB],
                "type": ["VerifiableCredential", "EvidenceCaptureCredential"],
                "credentialSubject": {"type": "EvidenceCapture", "captureId": "c1"},
            },
        ),
        (
            "a hub subject type inside a generic credential",
            {
                "@context": [V2, HUB],
                "type": ["VerifiableCredential"],
                "credentialSubject": {"type": "DataDeposit", "depositId": "d1"},
            },
        ),
    ],
)
def test_the_vc_api_refuses_the_hubs_reserved_vocabulary(
    served_hub: ServedHub, name: str, credential: dict[str, Any]
) -> None:
    response = served_hub.issue(credential)
    assert response.status_code == 400, (name, response.text)
    assert response.json()["error"] == "reserved_credential", name


def test_the_vc_api_refuses_claimed_timestamps_and_anchors(served_hub: ServedHub) -> None:
    genuine = served_hub.letter["evidence"]
    for index, item in enumerate(genuine):
        claimed = {k: v for k, v in item.items() if k != "type"}
        claimed["type"] = ["Evidence"]
        response = served_hub.issue(generic(evidence=[claimed]))
        assert response.status_code == 400, (index, response.text)
        assert response.json()["error"] == "reserved_evidence"


def test_the_vc_api_dates_what_it_signs(served_hub: ServedHub) -> None:
    now = datetime.now(UTC)

    def at(moment: datetime) -> str:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    for backdated in ("2020-01-01T00:00:00Z", at(now - timedelta(minutes=10))):
        response = served_hub.issue(generic(validFrom=backdated))
        assert response.status_code == 400, response.text
        assert response.json()["error"] == "invalid_valid_from"
    response = served_hub.issue(generic(validFrom=at(now + timedelta(days=1))))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_valid_from"
    accepted = served_hub.issue(generic(validFrom=at(now + timedelta(minutes=1))))
    assert accepted.status_code == 201, accepted.text
    assert served_hub.issue(generic()).status_code == 201


def test_a_letter_around_genuine_evidence_by_another_key_is_refused_by_both(
    served_hub: ServedHub,
) -> None:
    forged = sign_as_attacker(served_hub.letter)
    http = served_hub.http_verify_letter(forged, CONTRACT)
    assert http.status_code == 422, http.text
    assert "UNTRUSTED_ISSUER" in error_codes(http.json())
    assert ATTACKER in http.json()["details"]["issuerTrust"]["reason"] or any(
        ATTACKER in p["message"] for p in http.json()["errors"]
    )
    code, cli = served_hub.cli_json(forged, "--file", str(served_hub.contract))
    assert code == 1
    assert "UNTRUSTED_ISSUER" in error_codes(cli)
    assert error_codes(cli) == error_codes(http.json())
    text = served_hub.cli_verify(forged, "--file", str(served_hub.contract))
    assert text.returncode == 1
    assert f"issuer not trusted: {ATTACKER}" in text.stderr


def test_a_pinned_issuer_is_trusted_and_the_consortium_notary_by_default(
    served_hub: ServedHub,
) -> None:
    code, body = served_hub.cli_json(served_hub.letter, "--file", str(served_hub.contract))
    assert code == 0, body
    assert "issuer" in body["checks"]
    assert "consortium service node" in body["details"]["issuerTrust"]["reason"]
    forged = sign_as_attacker(served_hub.letter)
    trust_file = served_hub.workdir / "trusted.txt"
    trust_file.write_text(f"# the court's own list\n{ATTACKER}\n")
    for pin in (["--issuer", ATTACKER], ["--trust-file", str(trust_file)]):
        _code, pinned = served_hub.cli_json(forged, "--file", str(served_hub.contract), *pin)
        assert "UNTRUSTED_ISSUER" not in error_codes(pinned), pin
        assert pinned["details"]["issuerTrust"] == {
            "trusted": True,
            "reason": "pinned by the verifier",
        }


def test_generic_credentials_report_the_issuers_trust_on_its_own(served_hub: ServedHub) -> None:
    issued = served_hub.issue(generic()).json()["verifiableCredential"]
    http = served_hub.http_verify_credential(issued)
    assert http.status_code == 200
    assert "issuer" in http.json()["checks"]
    code, cli = served_hub.cli_json(issued)
    assert code == 0
    assert "issuer" in cli["checks"]
    foreign = sign_as_attacker(generic())
    http = served_hub.http_verify_credential(foreign)
    assert http.status_code == 200  # valid, but not from the notary: said as a warning
    assert "issuer" not in http.json()["checks"]
    assert "UNTRUSTED_ISSUER" in [w["code"] for w in http.json()["warnings"]]
    text = served_hub.cli_verify(foreign)
    assert text.returncode == 0
    assert "NOT trusted" in text.stdout
    assert "warning: issuer: issuer not trusted" in text.stdout


def test_untrusted_strings_are_printed_verbatim(served_hub: ServedHub) -> None:
    marked = "urn:example:[/bold]x[red]"
    response = served_hub.issue(generic(id=marked))
    assert response.status_code == 201, response.text
    text = served_hub.cli_verify(response.json()["verifiableCredential"])
    assert text.returncode == 0, text.stdout + text.stderr
    assert "Traceback" not in text.stderr
    assert marked in text.stdout
    foreign = served_hub.cli_verify(sign_as_attacker(generic(id="urn:example:[bold]:key:")))
    assert foreign.returncode == 0, foreign.stderr
    assert ATTACKER in foreign.stdout
    assert "urn:example:[bold]:key:" in foreign.stdout
    assert "\N{KEY}" not in foreign.stdout
