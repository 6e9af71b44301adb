"""A served hub's custody letter as a PDF, judged by independent validators.

The depositor downloads ``letter.pdf``; then pyHanko's validator (the notary's certificate,
found on chain, as trust root; the TSA's root from ``/tsa/certs``), poppler's ``pdfsig``
(NSS: a second implementation), ``qpdf --check``, ``pdftotext`` and ``pdftoppm`` (the page
as a person sees it) and ``zbarimg`` (the QR code, whose link is then followed) each
judge it.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from evidence.letter_pdf.attach import CREDENTIAL_FILE, attachments
from evidence.letter_pdf.publication import SERVICE_TYPE, published_fingerprints
from tests.evidence.letter_pdf.pdf_support import deposit_id, fetch_letter_pdf, letter_pdf, tool
from tests.security import conftest as security
from tests.security.conftest import CONTRACT, ServedHub

served_hub = security.served_hub  # one served hub and its certified letter


@pytest.fixture(scope="module")
def pdf_file(served_hub: ServedHub, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return letter_pdf(served_hub, tmp_path_factory.mktemp("pdf") / "letter.pdf")


def _did_document(hub: ServedHub, did: str) -> dict[str, Any]:
    with hub.client() as client:
        response = client.get(f"/1.0/identifiers/{did}")
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()["didDocument"]
    return document


def test_the_route_answers_a_signed_pdf_attachment(served_hub: ServedHub) -> None:
    with served_hub.client() as client:
        response = fetch_letter_pdf(client, served_hub.letter)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.content.startswith(b"%PDF-")


def test_pyhanko_validates_it_with_the_notary_certificate_on_chain(
    served_hub: ServedHub, pdf_file: Path
) -> None:
    reader = PdfFileReader(io.BytesIO(pdf_file.read_bytes()))
    (signature,) = reader.embedded_signatures
    cert = signature.signer_cert
    document = _did_document(served_hub, served_hub.letter["issuer"])
    listed = published_fingerprints(document)
    assert hashlib.sha256(cert.dump()).hexdigest() in listed
    assert any(s["type"] == SERVICE_TYPE for s in document["service"])
    with served_hub.client() as client:
        pem = client.get("/tsa/certs").content
    tsa_roots = [
        asn1_x509.Certificate.load(c.public_bytes(Encoding.DER))
        for c in x509.load_pem_x509_certificates(pem)
        if c.subject == c.issuer
    ]
    status = validate_pdf_signature(
        signature,
        signer_validation_context=ValidationContext(trust_roots=[cert]),
        ts_validation_context=ValidationContext(trust_roots=tsa_roots),
    )
    details = status.pretty_print_details()  # type: ignore[no-untyped-call]
    assert status.intact and status.valid and status.trusted, details
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert status.bottom_line
    stamp = status.timestamp_validity
    assert stamp is not None and stamp.intact and stamp.valid and stamp.trusted


def test_pdfsig_says_the_whole_document_is_signed_and_valid(pdf_file: Path, tmp_path: Path) -> None:
    result = tool("pdfsig", str(pdf_file))
    assert "Signature is Valid." in result.stdout, result.stdout + result.stderr
    assert "Total document signed" in result.stdout
    assert "ETSI.CAdES.detached" in result.stdout
    # With the notary's certificate a trusted peer in an NSS database (its fingerprint is
    # what the chain lists), NSS trusts the signer too.
    reader = PdfFileReader(io.BytesIO(pdf_file.read_bytes()))
    cert = tmp_path / "notary.der"
    cert.write_bytes(reader.embedded_signatures[0].signer_cert.dump())
    nss = tmp_path / "nss"
    nss.mkdir()
    assert tool("certutil", "-N", "-d", f"sql:{nss}", "--empty-password").returncode == 0
    added = tool(
        "certutil", "-A", "-d", f"sql:{nss}", "-n", "notary", "-t", "P,P,P", "-i", str(cert)
    )
    assert added.returncode == 0, added.stderr
    trusted = tool("pdfsig", "-nssdir", f"sql:{nss}", str(pdf_file))
    assert "Signature is Valid." in trusted.stdout, trusted.stdout
    assert "Certificate is Trusted." in trusted.stdout, trusted.stdout


def test_qpdf_finds_no_structural_error(pdf_file: Path) -> None:
    result = tool("qpdf", "--check", str(pdf_file))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No syntax or stream encoding errors found" in result.stdout


def test_the_page_shows_the_letter_in_chinese_and_english(
    served_hub: ServedHub, pdf_file: Path, tmp_path: Path
) -> None:
    text = tool("pdftotext", "-layout", str(pdf_file), "-").stdout
    subject = served_hub.letter["credentialSubject"]
    assert hashlib.sha256(CONTRACT).hexdigest() in text
    assert subject["id"] in text
    assert subject["fileName"] in text
    for label in (
        "存证人 Depositor",
        "保管函",
        "SHA-256",
        "SM3",
        "区块高度 Block",
        "公证方 Notary",
    ):
        assert label in text, label
    assert served_hub.letter["id"] in text
    receipt = served_hub.letter["evidence"][1]["anchorReceipt"]
    assert receipt["transactionHash"] in text.replace("\n", "").replace(" ", "") or (
        receipt["transactionHash"][:40] in text
    )
    rendered = tmp_path / "page"
    assert (
        tool(
            "pdftoppm", "-r", "100", "-f", "1", "-l", "1", "-png", str(pdf_file), str(rendered)
        ).returncode
        == 0
    )
    (png,) = tmp_path.glob("page*.png")
    assert png.stat().st_size > 20_000  # a page with text and a QR code, not a blank one


def test_the_qr_code_links_to_the_public_status_which_reveals_no_deposit_data(
    served_hub: ServedHub, pdf_file: Path, tmp_path: Path
) -> None:
    rendered = tmp_path / "page"
    tool("pdftoppm", "-r", "150", "-f", "1", "-l", "1", "-png", str(pdf_file), str(rendered))
    (png,) = tmp_path.glob("page*.png")
    decoded = tool("zbarimg", "--quiet", "--raw", str(png))
    assert decoded.returncode == 0, decoded.stderr
    link = decoded.stdout.strip()
    assert link.endswith(f"/evidence/letters/deposits/{deposit_id(served_hub.letter)}")
    path = link.split("/evidence/", 1)[1]
    with served_hub.client() as client:
        client.headers.pop("authorization")  # the public reads it without a token
        response = client.get(f"/evidence/{path}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["verified"] is True and body["id"] == served_hub.letter["id"]
    shown = json.dumps(body)
    subject = served_hub.letter["credentialSubject"]
    for private in (subject["id"], subject["fileName"], subject["digestMultibase"], "title"):
        assert private not in shown
    with served_hub.client() as client:
        client.headers.pop("authorization")
        assert client.get("/evidence/letters/deposits/no-such-deposit").status_code == 404


def test_the_embedded_credential_is_the_letter(served_hub: ServedHub, pdf_file: Path) -> None:
    reader = PdfFileReader(io.BytesIO(pdf_file.read_bytes()))
    files = attachments(reader)
    assert json.loads(files[CREDENTIAL_FILE]) == served_hub.letter
    spec = reader.root["/Names"]["/EmbeddedFiles"]["/Names"][1].get_object()
    assert spec["/AFRelationship"] == "/Source"
    assert spec["/EF"]["/F"].get_object()["/Subtype"] == "/application/vc"


def test_only_the_depositor_gets_the_pdf(served_hub: ServedHub) -> None:
    with served_hub.client() as client:
        other = fetch_letter_pdf(
            client,
            served_hub.letter,
            depositor="did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
        )
        assert other.status_code == 403, other.text
        missing = client.get(
            "/evidence/deposits/AAAAAAAAAAAAAAAAAAAAAA/letter.pdf",
            headers={"Depositor": security.DEPOSITOR},
        )
        assert missing.status_code == 404
        client.headers.pop("authorization")
        anonymous = fetch_letter_pdf(client, served_hub.letter)
        assert anonymous.status_code == 401
