"""The embedded TSA: its PKI (created once, persisted, renewed) and its tokens, checked
field by field and by ``openssl ts -verify`` and rfc3161-client as outside verifiers."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import rfc3161_client
from asn1crypto import cms, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID

from evidence.errors import (
    InvalidDeposit,
    TimestampError,
    TimestampUnavailable,
    UnsupportedHashAlgorithm,
)
from evidence.timestamping import (
    DEFAULT_POLICY,
    EmbeddedTimestampAuthority,
    TsaKeyMaterial,
    handle_request,
)
from evidence.timestamping.tsa_keys import ROOT_KEY_NAME, SIGNING_KEY_NAME
from evidence.timestamping.tsp_asn1 import TimeStampResp, granted_response
from hub_kernel.keystore import FileKeyStore, MemoryKeyStore
from tests.evidence.timestamping_support import DIGEST, hub_tsa, openssl, run

# A clock reading with microseconds, inside the validity of a certificate issued now.


@pytest.fixture
def tsa(tmp_path: Path) -> tuple[EmbeddedTimestampAuthority, TsaKeyMaterial]:
    return hub_tsa(tmp_path)


# -- key material ------------------------------------------------------------------------


def test_pki_is_created_once_and_persisted(tmp_path: Path) -> None:
    keystore = FileKeyStore(tmp_path / "keys", bytes(range(32)))
    first = TsaKeyMaterial.load_or_create(keystore, tmp_path / "tsa")
    assert sorted(keystore.names()) == [ROOT_KEY_NAME, SIGNING_KEY_NAME]
    assert {p.name for p in (tmp_path / "tsa").iterdir()} == {"tsa-root-ca.pem", "tsa.pem"}

    again = TsaKeyMaterial.load_or_create(
        FileKeyStore(tmp_path / "keys", bytes(range(32))), tmp_path / "tsa"
    )
    assert again.chain == first.chain
    assert again.private_key.private_numbers() == first.private_key.private_numbers()


def test_certificates_have_the_rfc_3161_profile(tmp_path: Path) -> None:
    material = TsaKeyMaterial.load_or_create(MemoryKeyStore(), tmp_path)
    root, cert = material.root_certificate, material.certificate

    assert root.subject == root.issuer
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    cert.verify_directly_issued_by(root)

    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical and list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and usage.value.content_commitment
    assert not usage.value.key_cert_sign
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca

    # openssl agrees that the certificate may sign time stamps.
    (tmp_path / "both.pem").write_bytes(cert.public_bytes(Encoding.PEM))
    out = openssl(
        "verify",
        "-purpose",
        "timestampsign",
        "-CAfile",
        tmp_path / "tsa-root-ca.pem",
        tmp_path / "both.pem",
    )
    assert b"OK" in out


def test_signing_certificate_is_renewed_near_expiry_under_the_same_root(tmp_path: Path) -> None:
    keystore = MemoryKeyStore()
    first = TsaKeyMaterial.load_or_create(keystore, tmp_path)
    later = first.certificate.not_valid_after_utc - timedelta(days=10)
    renewed = TsaKeyMaterial.load_or_create(keystore, tmp_path, now=later)
    assert renewed.root_certificate == first.root_certificate
    assert renewed.certificate != first.certificate
    assert renewed.certificate.not_valid_after_utc > later + timedelta(days=30)
    renewed.certificate.verify_directly_issued_by(first.root_certificate)


def test_a_signing_certificate_that_does_not_match_its_key_is_reissued(tmp_path: Path) -> None:
    keystore = MemoryKeyStore()
    first = TsaKeyMaterial.load_or_create(keystore, tmp_path)
    keystore.delete(SIGNING_KEY_NAME)
    again = TsaKeyMaterial.load_or_create(keystore, tmp_path)
    assert again.certificate != first.certificate
    assert again.root_certificate == first.root_certificate


def test_an_incomplete_root_is_refused_not_replaced(tmp_path: Path) -> None:
    keystore = MemoryKeyStore()
    TsaKeyMaterial.load_or_create(keystore, tmp_path)
    (tmp_path / "tsa-root-ca.pem").unlink()
    with pytest.raises(TimestampError, match="root CA incomplete"):
        TsaKeyMaterial.load_or_create(keystore, tmp_path)

    keystore2 = MemoryKeyStore()
    TsaKeyMaterial.load_or_create(keystore2, tmp_path / "b")
    keystore2.delete(ROOT_KEY_NAME)
    with pytest.raises(TimestampError, match="root CA incomplete"):
        TsaKeyMaterial.load_or_create(keystore2, tmp_path / "b")

    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "tsa-root-ca.pem").write_text("not a certificate")
    with pytest.raises(TimestampError, match="not a PEM certificate"):
        TsaKeyMaterial.load_or_create(MemoryKeyStore(), tmp_path / "c")


# -- tokens: the fields ------------------------------------------------------------------


def test_token_fields(tmp_path: Path) -> None:
    # A minute after the certificate's start, read when the test runs (never at import:
    # under a loaded CI a collected module may wait longer than that to run).
    fixed_now = datetime.now(UTC).replace(microsecond=535897) + timedelta(minutes=1)
    tsa, material = hub_tsa(tmp_path, name="hub", clock=lambda: fixed_now)
    token = tsa.timestamp(DIGEST, nonce=2**70 + 5)

    assert token.gen_time == fixed_now.replace(microsecond=0)
    assert token.tsa == "hub" and token.hash_algorithm == "sha256"
    assert token.message_imprint == DIGEST
    assert token.certificates == material.chain

    content = cms.ContentInfo.load(token.token)
    assert content["content_type"].native == "signed_data"
    signed = content["content"]
    assert signed["version"].native == "v3"
    assert signed["encap_content_info"]["content_type"].dotted == "1.2.840.113549.1.9.16.1.4"
    info = signed["encap_content_info"]["content"].parsed
    assert info["version"].native == "v1"
    assert info["policy"].dotted == DEFAULT_POLICY
    assert info["message_imprint"]["hash_algorithm"]["algorithm"].native == "sha256"
    assert info["message_imprint"]["hashed_message"].native == DIGEST
    assert info["serial_number"].native == token.serial_number > 0
    assert info["accuracy"].native == {"seconds": 1, "millis": None, "micros": None}
    assert info["ordering"].native is False
    assert info["nonce"].native == 2**70 + 5
    assert info["tsa"].chosen.native == {
        "organization_name": "Notary Hub",
        "common_name": "Notary Hub TSA",
    }
    # CertificateSet is a SET OF: DER orders it by encoding, not leaf first.
    assert sorted(c.chosen.dump() for c in signed["certificates"]) == sorted(material.chain)

    signer = signed["signer_infos"][0]
    attributes = {a["type"].native: a["values"][0] for a in signer["signed_attrs"]}
    assert attributes["content_type"].native == "tst_info"
    tst_der = signed["encap_content_info"]["content"].parsed.dump()
    assert attributes["message_digest"].native == hashlib.sha256(tst_der).digest()
    (cert_id,) = attributes["signing_certificate_v2"]["certs"]
    assert cert_id["cert_hash"].native == hashlib.sha256(material.chain[0]).digest()
    assert cert_id["issuer_serial"]["serial_number"].native == material.certificate.serial_number
    # RFC 5816: SHA-256 is the DEFAULT, so DER leaves the hashAlgorithm out.
    assert cert_id.dump()[2:4] == b"\x04\x20"
    assert signer["signature_algorithm"]["algorithm"].native == "sha256_ecdsa"


def test_serial_numbers_are_unique(tsa: tuple[EmbeddedTimestampAuthority, TsaKeyMaterial]) -> None:
    authority, _ = tsa
    serials = {authority.timestamp(DIGEST).serial_number for _ in range(200)}
    assert len(serials) == 200
    assert all(0 < s < 2**128 for s in serials)


def test_without_cert_req_the_token_carries_no_certificates(
    tsa: tuple[EmbeddedTimestampAuthority, TsaKeyMaterial],
) -> None:
    authority, material = tsa
    token = authority.timestamp(DIGEST, cert_req=False)
    assert cms.ContentInfo.load(token.token)["content"]["certificates"].native is None
    assert token.certificates == material.chain  # still known to the caller


@pytest.mark.parametrize("algorithm", ["sha384", "sha512"])
def test_other_sha2_imprints(
    tsa: tuple[EmbeddedTimestampAuthority, TsaKeyMaterial], algorithm: str
) -> None:
    authority, material = tsa
    digest = hashlib.new(algorithm, b"data").digest()
    token = authority.timestamp(digest, hash_algorithm=algorithm)
    response = rfc3161_client.decode_timestamp_response(granted_response(token.token))
    verifier = rfc3161_client.VerifierBuilder(roots=[material.root_certificate]).build()
    assert verifier.verify_message(response, b"data")


def test_bad_digests_are_refused(tsa: tuple[EmbeddedTimestampAuthority, TsaKeyMaterial]) -> None:
    authority, _ = tsa
    with pytest.raises(UnsupportedHashAlgorithm):
        authority.timestamp(hashlib.md5(b"x").digest(), hash_algorithm="md5")
    with pytest.raises(InvalidDeposit, match="32 bytes"):
        authority.timestamp(DIGEST[:20])
    with pytest.raises(ValueError, match="nonce"):
        authority.timestamp(DIGEST, nonce=-1)


def test_no_token_outside_the_certificate_validity(tmp_path: Path) -> None:
    material = TsaKeyMaterial.load_or_create(MemoryKeyStore(), tmp_path)
    late = material.certificate.not_valid_after_utc + timedelta(seconds=1)
    authority = EmbeddedTimestampAuthority(material, clock=lambda: late)
    with pytest.raises(TimestampUnavailable, match="not valid at"):
        authority.timestamp(DIGEST)
    # Over HTTP that is a systemFailure answer, not a token that will never verify.
    query = openssl("ts", "-query", "-digest", DIGEST.hex(), "-sha256")
    status = TimeStampResp.load(handle_request(query, authority))["status"]
    assert status["fail_info"].native == {"system_failure"}


# -- tokens: outside verifiers -----------------------------------------------------------


def test_openssl_ts_verify_accepts_tokens_with_digest(
    tmp_path: Path, tsa: tuple[EmbeddedTimestampAuthority, TsaKeyMaterial]
) -> None:
    authority, _ = tsa
    for cert_req in (True, False):
        (tmp_path / "resp.tsr").write_bytes(
            granted_response(authority.timestamp(DIGEST, cert_req=cert_req).token)
        )
        out = openssl(
            "ts",
            "-verify",
            "-digest",
            DIGEST.hex(),
            "-in",
            tmp_path / "resp.tsr",
            "-CAfile",
            tmp_path / "tsa-root-ca.pem",
            "-untrusted",
            tmp_path / "tsa.pem",
        )
        assert b"Verification: OK" in out

    # ... and refuses a digest the token is not over.
    done = run(
        "openssl",
        "ts",
        "-verify",
        "-digest",
        hashlib.sha256(b"other").hexdigest(),
        "-in",
        tmp_path / "resp.tsr",
        "-CAfile",
        tmp_path / "tsa-root-ca.pem",
        "-untrusted",
        tmp_path / "tsa.pem",
    )
    assert done.returncode != 0 and b"message imprint mismatch" in done.stderr


def test_openssl_ts_verify_accepts_tokens_with_queryfile_and_data(
    tmp_path: Path, tsa: tuple[EmbeddedTimestampAuthority, TsaKeyMaterial]
) -> None:
    authority, _ = tsa
    data = tmp_path / "deposit.bin"
    data.write_bytes(b"the deposited file\n" * 100)
    query = openssl("ts", "-query", "-data", data, "-sha256", "-cert")
    (tmp_path / "q.tsq").write_bytes(query)
    (tmp_path / "resp.tsr").write_bytes(handle_request(query, authority))

    out = openssl(
        "ts",
        "-verify",
        "-queryfile",
        tmp_path / "q.tsq",
        "-in",
        tmp_path / "resp.tsr",
        "-CAfile",
        tmp_path / "tsa-root-ca.pem",
    )
    assert b"Verification: OK" in out
    out = openssl(
        "ts",
        "-verify",
        "-data",
        data,
        "-in",
        tmp_path / "resp.tsr",
        "-CAfile",
        tmp_path / "tsa-root-ca.pem",
    )
    assert b"Verification: OK" in out
    text = openssl("ts", "-reply", "-in", tmp_path / "resp.tsr", "-text").decode()
    assert "Status: Granted." in text and f"Policy OID: {DEFAULT_POLICY}" in text


def test_openssl_rejects_a_token_under_another_root(
    tmp_path: Path, tsa: tuple[EmbeddedTimestampAuthority, TsaKeyMaterial]
) -> None:
    authority, _ = tsa
    hub_tsa(tmp_path / "other")
    (tmp_path / "resp.tsr").write_bytes(granted_response(authority.timestamp(DIGEST).token))
    done = run(
        "openssl",
        "ts",
        "-verify",
        "-digest",
        DIGEST.hex(),
        "-in",
        tmp_path / "resp.tsr",
        "-CAfile",
        tmp_path / "other" / "tsa-root-ca.pem",
    )
    assert done.returncode != 0


def test_rfc3161_client_verifies_nonce_and_certificate(
    tsa: tuple[EmbeddedTimestampAuthority, TsaKeyMaterial],
) -> None:
    authority, material = tsa
    token = authority.timestamp(DIGEST, nonce=99)
    response = rfc3161_client.decode_timestamp_response(granted_response(token.token))
    assert response.tst_info.gen_time == token.gen_time
    assert response.tst_info.serial_number == token.serial_number
    verifier = rfc3161_client.VerifierBuilder(
        roots=[material.root_certificate],
        tsa_certificate=material.certificate,
        nonce=99,
        policy_id=x509.ObjectIdentifier(DEFAULT_POLICY),
    ).build()
    assert verifier.verify(response, DIGEST)
    wrong_nonce = rfc3161_client.VerifierBuilder(roots=[material.root_certificate], nonce=98)
    with pytest.raises(rfc3161_client.VerificationError, match="Nonce"):
        wrong_nonce.build().verify(response, DIGEST)


def test_tsp_response_wrapper_round_trips(
    tsa: tuple[EmbeddedTimestampAuthority, TsaKeyMaterial],
) -> None:
    authority, _ = tsa
    token = authority.timestamp(DIGEST)
    response = tsp.TimeStampResp.load(granted_response(token.token))
    assert response["status"]["status"].native == "granted"
    assert response["time_stamp_token"].dump() == token.token


@pytest.mark.parametrize("nonce", [None, 0, 127, 128, 2**64 - 1, 2**70 + 5])
@pytest.mark.parametrize("cert_req", [True, False])
def test_tokens_are_the_der_asn1crypto_would_encode(
    tsa: tuple[EmbeddedTimestampAuthority, TsaKeyMaterial], nonce: int | None, cert_req: bool
) -> None:
    """The token is spliced together from DER parts (evidence.timestamping.der): every
    layer must be exactly what asn1crypto encodes from the parsed values."""
    authority, material = tsa
    subject = asn1_x509.Certificate.load(material.chain[0])["tbs_certificate"]["subject"]
    for _ in range(20):  # serials of several lengths
        token = authority.timestamp(DIGEST, nonce=nonce, cert_req=cert_req).token
        content = cms.ContentInfo.load(token)
        assert content.dump(force=True) == token
        signed = content["content"]
        tst_der = signed["encap_content_info"]["content"].contents
        info = tsp.TSTInfo.load(tst_der)
        rebuilt = tsp.TSTInfo(
            {
                "version": "v1",
                "policy": info["policy"].dotted,
                "message_imprint": {
                    "hash_algorithm": {"algorithm": "sha256"},
                    "hashed_message": DIGEST,
                },
                "serial_number": info["serial_number"].native,
                "gen_time": info["gen_time"].native,
                "accuracy": {"seconds": 1},
                "nonce": nonce,
                "tsa": asn1_x509.GeneralName(name="directory_name", value=subject),
            }
        )
        assert rebuilt.dump() == tst_der
        attributes = signed["signer_infos"][0]["signed_attrs"]
        assert cms.CMSAttributes.load(attributes.untag().dump()).dump(force=True) == (
            attributes.untag().dump()
        )
