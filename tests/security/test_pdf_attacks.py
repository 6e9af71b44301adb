"""Attacks on the PDF custody letter: each refused by ``notary-hub verify``, with its reason.

The genuine PDF comes from the served hub (``GET …/letter.pdf``). Tampering with the page,
appending an update, swapping the attached credential, re-signing with a certificate of
one's own that names the notary's DID, signing a letter of an issuer the chain does not
trust, a page whose facts are not its credential's, and a huge or garbage file: every one
exits 1 with the check that caught it, and never a traceback.
"""

from __future__ import annotations

import base64
import copy
import io
import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from credentials.data_integrity.proofs import SigningKey, add_proof
from evidence.letter_pdf.attach import CREDENTIAL_FILE
from evidence.letter_pdf.build import build_letter_pdf
from evidence.letter_pdf.facts import PageNotes, letter_facts
from evidence.letter_pdf.render import render_page
from evidence.letter_pdf.sign import sign_letter_pdf
from evidence.letter_pdf.signing_keys import DocumentSigningKey, issue_certificate
from evidence.letter_pdf.verify import MAX_PDF_BYTES
from evidence.timestamping import EmbeddedTimestampAuthority, HttpTimestampAuthority, TsaKeyMaterial
from hub_kernel.keystore import FileKeyStore
from notary_hub.hub import open_keystore
from notary_hub.settings import Settings
from tests.evidence.letter_pdf.pdf_support import letter_pdf
from tests.fixtures.hub_process import run_cli
from tests.security.conftest import ServedHub, certified_letter
from tests.security.test_credential_attacks import HOLDER


@pytest.fixture(scope="module")
def genuine(served_hub: ServedHub, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return letter_pdf(served_hub, tmp_path_factory.mktemp("genuine") / "letter.pdf").read_bytes()


@pytest.fixture(scope="module")
def second_letter(served_hub: ServedHub) -> dict[str, Any]:
    """Another genuine letter of the same notary, for another file."""
    with served_hub.client() as client:
        letter: dict[str, Any] = certified_letter(client, b"%PDF-1.7 another contract\n" * 40)
    return letter


@pytest.fixture(scope="module")
def own_tsa(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedTimestampAuthority:
    """A timestamp authority of the attacker's own: genuine tokens, an unknown root."""
    directory = tmp_path_factory.mktemp("attacker-tsa")
    keystore = FileKeyStore(directory / "keys", os.urandom(32))
    return EmbeddedTimestampAuthority(TsaKeyMaterial.load_or_create(keystore, directory / "tsa"))


def refused(hub: ServedHub, data: bytes, tmp: Path) -> tuple[set[str], dict[str, Any]]:
    """``notary-hub verify --json`` of ``data`` as a PDF file: the codes it fails with."""
    path = tmp / f"attack-{time.monotonic_ns()}.pdf"
    path.write_bytes(data)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTARY_HUB_")}
    result = run_cli("verify", str(path), "--rpc", hub.rpc, "--json", env=env, cwd=tmp)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 1, result.stdout + result.stderr
    body: dict[str, Any] = json.loads(result.stdout)
    assert body["verified"] is False
    return {problem["code"] for problem in body["errors"]}, body


def forged_key(did: str) -> DocumentSigningKey:
    key = ec.generate_private_key(ec.SECP256R1())
    return DocumentSigningKey(issue_certificate(key, did, "Forger", datetime.now(UTC)), key)


def test_the_genuine_pdf_verifies(served_hub: ServedHub, genuine: bytes, tmp_path: Path) -> None:
    path = tmp_path / "letter.pdf"
    path.write_bytes(genuine)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTARY_HUB_")}
    result = run_cli("verify", str(path), "--rpc", served_hub.rpc, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_edited_page_is_refused(served_hub: ServedHub, genuine: bytes, tmp_path: Path) -> None:
    start = genuine.index(b"stream\n") + len(b"stream\n")
    edited = bytearray(genuine)
    edited[start + 40] ^= 0x01
    codes, _ = refused(served_hub, bytes(edited), tmp_path)
    assert "PDF_SIGNATURE_INVALID" in codes


def _append_update(pdf: bytes, change: Any) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    change(writer)
    out = io.BytesIO()
    writer.write(out)  # type: ignore[no-untyped-call]
    return out.getvalue()


def test_an_annotation_appended_after_signing_is_refused(
    served_hub: ServedHub, genuine: bytes, tmp_path: Path
) -> None:
    def annotate(writer: IncrementalPdfFileWriter) -> None:
        page = writer.root["/Pages"]["/Kids"][0].get_object()
        note = generic.DictionaryObject(  # type: ignore[no-untyped-call]
            {
                generic.pdf_name("/Type"): generic.pdf_name("/Annot"),
                generic.pdf_name("/Subtype"): generic.pdf_name("/FreeText"),
                generic.pdf_name("/Rect"): generic.ArrayObject(
                    [generic.NumberObject(n) for n in (50, 50, 300, 90)]  # type: ignore[no-untyped-call]
                ),
                generic.pdf_name("/Contents"): generic.TextStringObject("VOID 作废"),
            }
        )
        page["/Annots"] = generic.ArrayObject([writer.add_object(note)])
        writer.update_container(page)

    codes, _ = refused(served_hub, _append_update(genuine, annotate), tmp_path)
    assert codes == {"PDF_MODIFIED_AFTER_SIGNING"}


def test_another_genuine_letter_swapped_in_is_refused(
    served_hub: ServedHub, genuine: bytes, second_letter: dict[str, Any], tmp_path: Path
) -> None:
    def swap(writer: IncrementalPdfFileWriter) -> None:
        names = writer.root["/Names"]["/EmbeddedFiles"]["/Names"]
        index = [str(names[i]) for i in range(0, len(names), 2)].index(CREDENTIAL_FILE)
        spec = names[2 * index + 1].get_object()
        stream = generic.StreamObject(stream_data=json.dumps(second_letter).encode())
        target = {generic.pdf_name("/F"): writer.add_object(stream)}
        spec["/EF"] = generic.DictionaryObject(target)  # type: ignore[no-untyped-call]
        writer.update_container(spec)

    codes, body = refused(served_hub, _append_update(genuine, swap), tmp_path)
    assert "PDF_MODIFIED_AFTER_SIGNING" in codes
    assert body["details"]["id"] == second_letter["id"]  # the swapped letter, judged as found


def test_a_page_that_does_not_show_its_credential_is_refused(
    served_hub: ServedHub, genuine: bytes, second_letter: dict[str, Any], tmp_path: Path
) -> None:
    """Even under the notary's own document key and TSA: the page shows one letter, the
    attachment is another (a signer's mistake, or a confused deputy)."""
    settings = Settings(data_dir=served_hub.workdir / ".notary-hub")
    key = DocumentSigningKey.load_or_create(
        open_keystore(settings),
        settings.data_dir / "documents",
        served_hub.letter["issuer"],
        organisation=settings.chain.organisation_name,
    )
    tsa = HttpTimestampAuthority(f"{served_hub.process.url}/tsa")
    facts = letter_facts(served_hub.letter)
    notes = PageNotes("Notary Office", "有效 Valid", "http://127.0.0.1/evidence/letters/x")
    page = render_page(facts, notes)
    stored = {"facts": facts.to_json(), "notes": notes.to_json()}
    mixed = sign_letter_pdf(page, second_letter, stored, key, tsa)
    codes, body = refused(served_hub, mixed, tmp_path)
    assert codes == {"PDF_FACTS_MISMATCH"}, body
    assert "pdfSigner" in body["checks"] and "pdfSignature" in body["checks"]


def test_a_certificate_of_ones_own_naming_the_notary_is_refused(
    served_hub: ServedHub, own_tsa: EmbeddedTimestampAuthority, tmp_path: Path
) -> None:
    forged = build_letter_pdf(
        served_hub.letter,
        key=forged_key(served_hub.letter["issuer"]),
        authority=own_tsa,
        verify_url="https://notary.example/evidence/letters/deposits/x",
        notary_name="Notary Office",
    )
    codes, body = refused(served_hub, forged, tmp_path)
    assert codes == {"PDF_SIGNER_NOT_PUBLISHED"}, body
    assert "pdfSignature" in body["checks"]  # a sound signature, by the wrong certificate


def test_a_letter_from_a_notary_the_chain_does_not_trust_is_refused(
    served_hub: ServedHub, own_tsa: EmbeddedTimestampAuthority, tmp_path: Path
) -> None:
    letter = copy.deepcopy(served_hub.letter)
    del letter["proof"]
    letter["issuer"] = HOLDER.did
    signed = add_proof(letter, suite="eddsa-rdfc-2022", key=SigningKey(HOLDER.kid, HOLDER.key))
    pdf = build_letter_pdf(
        signed,
        key=forged_key(HOLDER.did),
        authority=own_tsa,
        verify_url="https://notary.example/evidence/letters/deposits/x",
    )
    codes, _ = refused(served_hub, pdf, tmp_path)
    assert {"UNTRUSTED_ISSUER", "PDF_SIGNER_NOT_PUBLISHED"} <= codes


def test_a_pdf_without_signature_or_credential_is_refused(
    served_hub: ServedHub, tmp_path: Path
) -> None:
    facts = letter_facts(served_hub.letter)
    unsigned = render_page(facts, PageNotes("Notary Office", "有效 Valid", "https://x.example/"))
    codes, _ = refused(served_hub, unsigned, tmp_path)
    assert codes == {"PDF_CREDENTIAL_MISSING", "PDF_SIGNATURE_INVALID"}


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"%PDF-1.7\n" + os.urandom(4096), "invalid_pdf"),
        (b"%PDF-1.7\n" + b"0" * (MAX_PDF_BYTES + 1), "document_too_large"),
        (
            b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 1 0 R >> endobj\ntrailer<</Root 1 0 R>>",
            None,
        ),
    ],
    ids=["garbage", "huge", "cyclic"],
)
def test_garbage_and_huge_files_are_clean_errors(
    served_hub: ServedHub, tmp_path: Path, data: bytes, code: str | None
) -> None:
    path = tmp_path / "garbage.pdf"
    path.write_bytes(data)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTARY_HUB_")}
    started = time.monotonic()
    result = run_cli("verify", str(path), "--rpc", served_hub.rpc, env=env, cwd=tmp_path)
    assert time.monotonic() - started < 60
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    if code is not None:
        (line,) = result.stderr.strip().splitlines()
        assert line.startswith(f"error: {code}: "), line


def test_the_hub_will_not_sign_a_forged_letter(served_hub: ServedHub) -> None:
    forged = copy.deepcopy(served_hub.letter)
    forged["credentialSubject"]["digestMultibase"] = "u" + base64.urlsafe_b64encode(
        b"\x12\x20" + bytes(32)
    ).decode().rstrip("=")
    with served_hub.client() as client:
        response = client.post("/evidence/letters/pdf", json={"letter": forged})
        assert response.status_code == 422, response.text
        assert response.json()["error"] == "letter_not_signable"
        padded = {"letter": {**served_hub.letter, "padding": "x" * (2 << 20)}}
        oversized = client.post("/evidence/letters/pdf", json=padded)
        assert oversized.status_code in (400, 413), oversized.text  # refused, not read whole
        client.headers.pop("authorization")
        anonymous = client.post("/evidence/letters/pdf", json={"letter": served_hub.letter})
        assert anonymous.status_code == 401
