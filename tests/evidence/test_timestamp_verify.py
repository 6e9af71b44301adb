"""Offline verification of tokens: good ones with and without trust roots, and one
failure per reason (tampering, another digest, another root, a certificate that may
not time-stamp, a certificate out of its validity, a signingCertificate naming
another certificate, malformed input)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asn1crypto import cms
from cryptography.x509.oid import ExtendedKeyUsageOID

from evidence.errors import InvalidTimestampToken
from evidence.timestamping import (
    DEFAULT_POLICY,
    EmbeddedTimestampAuthority,
    TsaKeyMaterial,
    verify_token,
)
from tests.evidence.timestamping_support import (
    DIGEST,
    OTHER_DIGEST,
    CustomPki,
    UncheckedAuthority,
    hub_tsa,
)


@pytest.fixture(scope="module")
def hub(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[EmbeddedTimestampAuthority, TsaKeyMaterial]:
    return hub_tsa(tmp_path_factory.mktemp("tsa"))


@pytest.fixture(scope="module")
def pki() -> CustomPki:
    return CustomPki.create()


def test_a_good_token_against_its_trust_root(
    hub: tuple[EmbeddedTimestampAuthority, TsaKeyMaterial],
) -> None:
    authority, material = hub
    token = authority.timestamp(DIGEST, nonce=7)
    verified = verify_token(token.token, DIGEST, trust_roots=[material.root_certificate])
    assert verified.gen_time == token.gen_time
    assert verified.serial_number == token.serial_number
    assert verified.tsa_subject == "CN=Notary Hub TSA,O=Notary Hub"
    assert verified.policy == DEFAULT_POLICY
    assert verified.chain_trusted is True
    assert verified.hash_algorithm == "sha256"
    assert verified.nonce == 7
    assert verified.certificates == material.chain


def test_without_trust_roots_the_chain_is_only_self_consistent(
    hub: tuple[EmbeddedTimestampAuthority, TsaKeyMaterial],
) -> None:
    authority, _ = hub
    verified = verify_token(authority.timestamp(DIGEST).token, DIGEST)
    assert verified.chain_trusted is False


def test_a_token_without_certificates_needs_them_given(
    hub: tuple[EmbeddedTimestampAuthority, TsaKeyMaterial],
) -> None:
    authority, material = hub
    token = authority.timestamp(DIGEST, cert_req=False)
    roots = [material.root_certificate]
    with pytest.raises(InvalidTimestampToken, match="neither in the token nor given"):
        verify_token(token.token, DIGEST, trust_roots=roots)
    verified = verify_token(token.token, DIGEST, trust_roots=roots, certificates=token.certificates)
    assert verified.chain_trusted and verified.certificates == material.chain
    # The leaf alone is enough when the root is trusted ...
    assert verify_token(token.token, DIGEST, trust_roots=roots, certificates=token.certificates[:1])
    # ... but not without a trust root, since nothing then anchors the chain.
    with pytest.raises(InvalidTimestampToken, match="no root certificate"):
        verify_token(token.token, DIGEST, certificates=token.certificates[:1])


def test_a_given_signing_certificate_never_becomes_a_trust_anchor(
    hub: tuple[EmbeddedTimestampAuthority, TsaKeyMaterial], pki: CustomPki
) -> None:
    authority, _ = hub
    token = authority.timestamp(DIGEST, cert_req=False)
    with pytest.raises(InvalidTimestampToken, match="bad signature or certificate chain"):
        verify_token(
            token.token, DIGEST, trust_roots=[pki.root], certificates=token.certificates[:1]
        )


def test_wrong_digest(hub: tuple[EmbeddedTimestampAuthority, TsaKeyMaterial]) -> None:
    authority, material = hub
    token = authority.timestamp(DIGEST)
    with pytest.raises(InvalidTimestampToken, match="imprint mismatch"):
        verify_token(token.token, OTHER_DIGEST, trust_roots=[material.root_certificate])
    with pytest.raises(InvalidTimestampToken, match="imprint mismatch"):
        verify_token(token.token, DIGEST[:16], trust_roots=[material.root_certificate])
    with pytest.raises(InvalidTimestampToken, match="sha512 was expected"):
        verify_token(token.token, DIGEST, hash_algorithm="sha512")


def test_wrong_nonce(hub: tuple[EmbeddedTimestampAuthority, TsaKeyMaterial]) -> None:
    authority, _ = hub
    token = authority.timestamp(DIGEST, nonce=1)
    with pytest.raises(InvalidTimestampToken, match="nonce mismatch"):
        verify_token(token.token, DIGEST, nonce=2)


def test_wrong_trust_root(
    tmp_path: Path, hub: tuple[EmbeddedTimestampAuthority, TsaKeyMaterial], pki: CustomPki
) -> None:
    authority, _ = hub
    token = authority.timestamp(DIGEST)
    with pytest.raises(InvalidTimestampToken, match="untrusted root"):
        verify_token(token.token, DIGEST, trust_roots=[pki.root])
    with pytest.raises(InvalidTimestampToken, match="untrusted root"):
        verify_token(token.token, DIGEST, trust_roots=[])
    # Another hub's TSA root (same names, other keys) is no substitute either.
    _, other = hub_tsa(tmp_path)
    with pytest.raises(InvalidTimestampToken, match="untrusted root"):
        verify_token(token.token, DIGEST, trust_roots=[other.root_certificate])


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def test_tampered_tokens(hub: tuple[EmbeddedTimestampAuthority, TsaKeyMaterial]) -> None:
    authority, material = hub
    token = authority.timestamp(DIGEST).token
    signed = cms.ContentInfo.load(token)["content"]
    roots = [material.root_certificate]

    # The signature value itself.
    signature = signed["signer_infos"][0]["signature"].native
    at = token.index(signature) + len(signature) // 2
    with pytest.raises(InvalidTimestampToken, match="bad signature"):
        verify_token(_flip(token, at), DIGEST, trust_roots=roots)

    # genTime, inside the signed TSTInfo: the messageDigest attribute no longer matches.
    gen_time = signed["encap_content_info"]["content"].parsed["gen_time"].dump()
    at = token.index(gen_time) + len(gen_time) - 3
    with pytest.raises(InvalidTimestampToken, match="bad signature"):
        verify_token(_flip(token, at), DIGEST, trust_roots=roots)

    # The imprint and the digest changed together still fail on the signature.
    at = token.index(DIGEST)
    with pytest.raises(InvalidTimestampToken, match="bad signature"):
        verify_token(_flip(token, at), _flip(DIGEST, 0), trust_roots=roots)


@pytest.mark.parametrize(
    "shape",
    ["no eku", "eku not critical", "eku with another purpose", "code signing"],
)
def test_a_certificate_that_may_not_time_stamp(pki: CustomPki, shape: str) -> None:
    eku, critical = {
        "no eku": ([], True),
        "eku not critical": ([ExtendedKeyUsageOID.TIME_STAMPING], False),
        "eku with another purpose": (
            [ExtendedKeyUsageOID.TIME_STAMPING, ExtendedKeyUsageOID.CODE_SIGNING],
            True,
        ),
        "code signing": ([ExtendedKeyUsageOID.CODE_SIGNING], True),
    }[shape]
    authority = EmbeddedTimestampAuthority(pki.issue(eku=eku, eku_critical=critical))
    token = authority.timestamp(DIGEST)
    with pytest.raises(InvalidTimestampToken, match="not a timeStamping certificate"):
        verify_token(token.token, DIGEST, trust_roots=[pki.root])


def test_tsa_certificate_not_valid_at_gen_time(pki: CustomPki) -> None:
    now = datetime.now(UTC)
    material = pki.issue(not_before=now - timedelta(days=3), not_after=now - timedelta(days=1))
    expired = UncheckedAuthority(material)
    with pytest.raises(InvalidTimestampToken, match="not valid at genTime"):
        verify_token(expired.timestamp(DIGEST).token, DIGEST, trust_roots=[pki.root])

    early = UncheckedAuthority(material, clock=lambda: now - timedelta(days=5))
    with pytest.raises(InvalidTimestampToken, match="not valid at genTime"):
        verify_token(early.timestamp(DIGEST).token, DIGEST, trust_roots=[pki.root])

    # A genTime inside the validity still verifies after the certificate expired.
    inside = EmbeddedTimestampAuthority(material, clock=lambda: now - timedelta(days=2))
    verified = verify_token(inside.timestamp(DIGEST).token, DIGEST, trust_roots=[pki.root])
    assert verified.gen_time < material.certificate.not_valid_after_utc


def test_signing_certificate_attribute_must_name_the_signer(pki: CustomPki) -> None:
    authority = EmbeddedTimestampAuthority(pki.issue())
    authority._cert_hash = bytes(32)  # sign an ESSCertIDv2 naming some other certificate
    with pytest.raises(InvalidTimestampToken, match="names another certificate"):
        verify_token(authority.timestamp(DIGEST).token, DIGEST, trust_roots=[pki.root])


def test_a_token_signed_by_another_key_than_its_certificate(
    hub: tuple[EmbeddedTimestampAuthority, TsaKeyMaterial], pki: CustomPki
) -> None:
    _, material = hub
    impostor_key = pki.issue().private_key
    forged = TsaKeyMaterial(
        certificate=material.certificate,
        private_key=impostor_key,
        root_certificate=material.root_certificate,
    )
    token = EmbeddedTimestampAuthority(forged).timestamp(DIGEST)
    with pytest.raises(InvalidTimestampToken, match="bad signature"):
        verify_token(token.token, DIGEST, trust_roots=[material.root_certificate])
    with pytest.raises(InvalidTimestampToken, match="bad signature"):
        verify_token(token.token, DIGEST)


@pytest.mark.parametrize(
    "token",
    [b"", b"\x30\x00", b"not a token at all", bytes.fromhex("300d06092a864886f70d010701a000")],
    ids=["empty", "empty sequence", "text", "data content"],
)
def test_malformed_tokens(token: bytes) -> None:
    with pytest.raises(InvalidTimestampToken, match="malformed token"):
        verify_token(token, DIGEST)


def test_a_token_with_trailing_bytes_is_malformed(
    hub: tuple[EmbeddedTimestampAuthority, TsaKeyMaterial],
) -> None:
    authority, _ = hub
    with pytest.raises(InvalidTimestampToken, match="malformed token"):
        verify_token(authority.timestamp(DIGEST).token + b"\x00", DIGEST)


def test_a_token_without_signed_attributes(
    hub: tuple[EmbeddedTimestampAuthority, TsaKeyMaterial],
) -> None:
    authority, _ = hub
    content = cms.ContentInfo.load(authority.timestamp(DIGEST).token)
    del content["content"]["signer_infos"][0]["signed_attrs"]
    with pytest.raises(InvalidTimestampToken, match="no signed attributes"):
        verify_token(content.dump(force=True), DIGEST)


def test_bad_extra_certificates_are_refused(
    hub: tuple[EmbeddedTimestampAuthority, TsaKeyMaterial],
) -> None:
    authority, _ = hub
    with pytest.raises(InvalidTimestampToken, match=r"not DER X\.509"):
        verify_token(authority.timestamp(DIGEST).token, DIGEST, certificates=[b"junk"])
