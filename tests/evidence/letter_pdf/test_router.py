"""The PDF letter routes on an in-process hub (SQLite and PostgreSQL): the owner's PDF
verifies, the public status follows the letter, and a revoked letter is signed no more."""

from __future__ import annotations

from fastapi.testclient import TestClient

from evidence.letter_pdf.verify import PdfLetterVerifier
from notary_hub.hub import Hub
from tests.evidence.deposit.test_letter_verification import CONTENT, HEADERS, deposit


def _revoke(client: TestClient, letter_id: str) -> None:
    response = client.post(
        "/credentials/status",
        json={
            "credentialId": letter_id,
            "credentialStatus": {"type": "BitstringStatusListEntry", "statusPurpose": "revocation"},
            "status": True,
        },
        headers=HEADERS,
    )
    assert response.status_code == 200, response.text


def test_the_pdf_verifies_until_the_letter_is_revoked(hub_client: TestClient, hub_app: Hub) -> None:
    letter = deposit(hub_client)
    deposit_id = letter["credentialSubject"]["depositId"]
    response = hub_client.get(f"/evidence/deposits/{deposit_id}/letter.pdf", headers=HEADERS)
    assert response.status_code == 200, response.text
    pdf = response.content
    parts = hub_app.evidence
    verifier = PdfLetterVerifier(parts.letters, hub_app.resolver, tsa_roots=parts.tsa_roots)
    result = verifier.verify(pdf, content=[CONTENT])
    assert result.verified, result.to_json()
    assert not result.warnings  # the hub's TSA root is trusted
    assert {"pdfSignature", "pdfTimestamp", "pdfSigner", "pdfFacts", "file"} <= set(result.checks)

    public = hub_client.get(f"/evidence/letters/deposits/{deposit_id}")
    assert public.status_code == 200 and public.json()["verified"] is True

    _revoke(hub_client, letter["id"])
    # The public status, the PDF already handed out, and a new PDF all say so.
    revoked = hub_client.get(f"/evidence/letters/deposits/{deposit_id}").json()
    assert revoked["verified"] is False
    assert {e["check"] for e in revoked["errors"]} == {"status"}
    again = verifier.verify(pdf)
    assert {p.check for p in again.errors} == {"status"}
    refused = hub_client.get(f"/evidence/deposits/{deposit_id}/letter.pdf", headers=HEADERS)
    assert refused.status_code == 422
    assert refused.json()["error"] == "letter_not_signable"
