"""Issue 11, items 4 and 5: ``notary-hub verify``'s report for a person, its JSON
failures, TSA roots by URL, and presentations of custody letters, run as a subprocess
against a served hub (:mod:`tests.security.conftest`), the HTTP route agreeing.

A presentation is signed by its holder (a did:key of :data:`HOLDER`), who must be the
subject (the depositor) of each letter it presents (VC DM 2.0 §4.13,
https://www.w3.org/TR/vc-data-model-2.0/#verifiable-presentations).
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509

from credentials.data_integrity.proofs import ProofOptions, SigningKey, add_proof
from tests.fixtures.hub_process import run_cli
from tests.security import conftest as security
from tests.security.conftest import (
    CONTRACT,
    DEPOSITOR,
    ServedHub,
    certified_letter,
    error_codes,
)
from tests.security.test_credential_attacks import HOLDER, V2, Holder, presentation

CHALLENGE, DOMAIN = "c-issue-11", "court.example"
served_hub = security.served_hub  # the attack suite's fixture: one served hub and its letter


@pytest.fixture(scope="module")
def own_letter(served_hub: ServedHub) -> dict[str, Any]:
    """A letter whose depositor is :data:`HOLDER`, who can sign presentations of it."""
    with served_hub.client() as client:
        letter: dict[str, Any] = certified_letter(client, CONTRACT, depositor=HOLDER.did)
    return letter


def signed_by(holder: Holder, *credentials: Any) -> dict[str, Any]:
    return add_proof(
        {**presentation(*credentials), "holder": holder.did},
        suite="eddsa-rdfc-2022",
        key=SigningKey(holder.kid, holder.key),
        options=ProofOptions(proof_purpose="authentication", challenge=CHALLENGE, domain=DOMAIN),
    )


def certs_url(hub: ServedHub) -> str:
    return f"{hub.process.url}/tsa/certs"


def test_the_report_says_what_the_letter_attests(served_hub: ServedHub) -> None:
    letter = served_hub.letter
    result = served_hub.cli_verify(letter, "--file", str(served_hub.contract))
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout
    assert "VALID" in lines
    assert "type          VerifiableCredential, DataDepositCredential" in lines
    assert "'VerifiableCredential'" not in lines  # words, not a Python list
    for label, value in [
        ("title", "Sales contract"),
        ("file name", "contract.pdf"),
        ("size", f"{len(CONTRACT)} bytes"),
        ("depositor", DEPOSITOR),
        ("deposited at", letter["credentialSubject"]["receivedAt"]),
    ]:
        assert any(
            line.split() == [*label.split(), *value.split()] for line in lines.splitlines()
        ), (
            label,
            lines,
        )
    assert letter["proof"]["verificationMethod"] in lines  # the full key id
    assert "not checked" not in lines


def test_a_broken_proof_says_which_checks_did_not_run(served_hub: ServedHub) -> None:
    forged = copy.deepcopy(served_hub.letter)
    forged["credentialSubject"]["title"] = "Another contract"
    result = served_hub.cli_verify(forged)
    assert result.returncode == 1
    (line,) = [x for x in result.stdout.splitlines() if x.startswith("not checked: ")]
    skipped = line.removeprefix("not checked: ").split(", ")
    assert "validity" in skipped and "issuer trust" in skipped
    assert "proof" not in skipped and "timestamp" not in skipped  # the evidence still ran
    assert "Another contract" not in result.stdout  # an unsigned claim is not "attested"


def test_json_failures_answer_on_stdout_too(served_hub: ServedHub) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTARY_HUB_")}
    missing = served_hub.workdir / "missing.json"
    result = run_cli(
        "verify", str(missing), "--rpc", served_hub.rpc, "--json", env=env, cwd=served_hub.workdir
    )
    assert result.returncode == 2
    body = json.loads(result.stdout)
    assert body["verified"] is False
    assert [e["code"] for e in body["errors"]] == ["file_not_found"]
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: file_not_found")


def test_the_tsa_chain_is_served_and_named_and_trusted_by_url(served_hub: ServedHub) -> None:
    url = certs_url(served_hub)
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pem-certificate-chain"
    chain = x509.load_pem_x509_certificates(response.content)
    assert chain[-1].subject == chain[-1].issuer  # leaf first, the root last
    (stamp,) = [e for e in served_hub.letter["evidence"] if "tsaCertificates" in e]
    assert stamp["tsaCertificates"] == url
    code, body = served_hub.cli_json(served_hub.letter)
    assert code == 0, body
    (warning,) = [w for w in body["warnings"] if w["code"] == "UNTRUSTED_TSA"]
    assert "--tsa-root <url or file>" in warning["message"] and url in warning["message"]
    code, body = served_hub.cli_json(served_hub.letter, "--tsa-root", url)
    assert code == 0 and "UNTRUSTED_TSA" not in error_codes({"errors": body["warnings"]}), body
    pem = served_hub.workdir / "tsa-chain.pem"
    pem.write_bytes(response.content)
    code, body = served_hub.cli_json(served_hub.letter, "--tsa-root", str(pem))
    assert code == 0 and not body["warnings"], body


def test_a_holder_presents_its_letter_with_the_file(
    served_hub: ServedHub, own_letter: dict[str, Any], tmp_path: Path
) -> None:
    signed = signed_by(HOLDER, own_letter)
    options = ("--challenge", CHALLENGE, "--domain", DOMAIN)
    result = served_hub.cli_verify(signed, "--file", str(served_hub.contract), *options)
    assert result.returncode == 0, result.stdout + result.stderr
    for line in (f"holder     {HOLDER.did}", f"challenge  {CHALLENGE}", f"domain     {DOMAIN}"):
        assert line.split() in [x.split() for x in result.stdout.splitlines()], result.stdout
    assert "credential [0]: valid" in result.stdout
    assert "Sales contract" in result.stdout and "timestamp[0]" in result.stdout
    code, body = served_hub.cli_json(signed, "--file", str(served_hub.contract), *options)
    assert code == 0, body
    for check in ("holder", "issuer", "timestamp", "anchor", "file"):
        assert f"verifiableCredential[0].{check}" in body["checks"]
    other = tmp_path / "other.pdf"
    other.write_bytes(CONTRACT + b"!")
    code, body = served_hub.cli_json(signed, "--file", str(other), *options)
    assert code == 1
    assert [(e["check"], e["code"]) for e in body["errors"]] == [
        ("verifiableCredential[0].file", "EVIDENCE_ERROR")
    ]
    with served_hub.client() as client:
        response = client.post(
            "/presentations/verify",
            json={
                "verifiablePresentation": signed,
                "options": {"challenge": CHALLENGE, "domain": DOMAIN},
            },
        )
    assert response.status_code == 200, response.text


def test_a_holder_cannot_present_anothers_letter(served_hub: ServedHub) -> None:
    stolen = signed_by(HOLDER, served_hub.letter)  # the letter's depositor is DEPOSITOR
    code, cli = served_hub.cli_json(stolen, "--challenge", CHALLENGE, "--domain", DOMAIN)
    assert code == 1
    assert ("verifiableCredential[0].holder", "HOLDER_BINDING_ERROR") in [
        (e["check"], e["code"]) for e in cli["errors"]
    ]
    with served_hub.client() as client:
        response = client.post("/presentations/verify", json={"verifiablePresentation": stolen})
    assert response.status_code == 422, response.text
    assert "HOLDER_BINDING_ERROR" in error_codes(response.json())
    assert error_codes(cli) == error_codes(response.json())
    assert V2 in stolen["@context"]
