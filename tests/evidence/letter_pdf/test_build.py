"""Making a PDF letter without a hub: the function the wallet and the services call, and
the wait for a chain whose clock runs ahead of the signer's."""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.pdf_utils.reader import PdfFileReader

from chain_adapter.anchoring.receipt import AnchorReceipt
from evidence.deposit.letter import anchor_evidence, timestamp_evidence
from evidence.letter_pdf.attach import CREDENTIAL_FILE, FACTS_FILE, attachments
from evidence.letter_pdf.build import LetterPdfs, verification_link
from evidence.letter_pdf.errors import ChainClockAhead
from evidence.letter_pdf.signing_keys import DocumentSigningKey, issue_certificate
from evidence.timestamping import EmbeddedTimestampAuthority, TsaKeyMaterial
from hub_kernel.keystore import FileKeyStore
from testkit.custody_sample import NOTARY_DID, anchor_receipt
from tests.security.conftest import CONTRACT


@pytest.fixture(scope="module")
def maker(tmp_path_factory: pytest.TempPathFactory) -> LetterPdfs:
    directory = tmp_path_factory.mktemp("maker")
    keystore = FileKeyStore(directory / "keys", os.urandom(32))
    tsa = EmbeddedTimestampAuthority(TsaKeyMaterial.load_or_create(keystore, directory / "tsa"))
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = issue_certificate(key, NOTARY_DID, "Notary Office", datetime.now(UTC))
    return LetterPdfs(
        DocumentSigningKey(certificate, key), tsa, "Notary Office", "https://n.example"
    )


def _letter(tsa: EmbeddedTimestampAuthority) -> dict[str, object]:
    """A letter whose timestamp token is real (the page reads its time and TSA from it)."""
    token = tsa.timestamp(hashlib.sha256(CONTRACT).digest())
    receipt = AnchorReceipt.from_json(anchor_receipt())
    return {
        "id": "urn:uuid:00000000-0000-4000-8000-000000000000",
        "issuer": NOTARY_DID,
        "credentialSubject": {"id": "did:example:depositor", "depositId": "d1"},
        "evidence": [timestamp_evidence(token), anchor_evidence(receipt)],
    }


def test_make_signs_the_page_and_attaches_the_letter(maker: LetterPdfs) -> None:
    assert isinstance(maker.authority, EmbeddedTimestampAuthority)
    letter = _letter(maker.authority)
    pdf = maker.make(letter, service="deposits", record_id="d1", status="valid at issue")
    reader = PdfFileReader(io.BytesIO(pdf))
    (signature,) = reader.embedded_signatures
    assert signature.signer_cert.dump() == maker.key.certificate.public_bytes(Encoding.DER)
    files = attachments(reader)
    assert json.loads(files[CREDENTIAL_FILE]) == letter
    notes = json.loads(files[FACTS_FILE])["notes"]
    assert notes["verify_url"] == verification_link("https://n.example/", "deposits", "d1")
    assert notes["verify_url"] == "https://n.example/evidence/letters/deposits/d1"


def test_a_chain_ahead_of_the_clock_is_waited_for_or_refused(maker: LetterPdfs) -> None:
    assert isinstance(maker.authority, EmbeddedTimestampAuthority)
    letter = _letter(maker.authority)
    soon = LetterPdfs(
        maker.key, maker.authority, "", "https://n.example", published_at=int(time.time()) + 1
    )
    started = time.time()
    soon.make(letter, service="deposits", record_id="d1", status="valid at issue")
    assert time.time() >= soon.published_at + 1 > started
    far = LetterPdfs(
        maker.key, maker.authority, "", "https://n.example", published_at=int(time.time()) + 3600
    )
    with pytest.raises(ChainClockAhead) as caught:
        far.make(letter, service="deposits", record_id="d1", status="valid at issue")
    assert caught.value.status_code == 503
