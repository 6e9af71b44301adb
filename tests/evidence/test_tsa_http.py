"""The RFC 3161 §3.4 request handler: real requests from ``openssl ts -query`` and
rfc3161-client's builder, and one rejection per way a request can be refused."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
import rfc3161_client
from asn1crypto import core, tsp
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from fastapi import FastAPI
from fastapi.testclient import TestClient

from evidence.errors import TimestampError
from evidence.timestamping import (
    DEFAULT_POLICY,
    MAX_REQUEST_BYTES,
    EmbeddedTimestampAuthority,
    TimestampToken,
    TsaKeyMaterial,
    handle_request,
    verify_token,
)
from evidence.timestamping.router import tsa_router
from evidence.timestamping.tsp_asn1 import TimeStampResp
from tests.evidence.timestamping_support import DIGEST, hub_tsa, openssl


@pytest.fixture
def tsa(tmp_path: Path) -> tuple[EmbeddedTimestampAuthority, TsaKeyMaterial]:
    return hub_tsa(tmp_path)


def request(**overrides: Any) -> bytes:
    fields: dict[str, Any] = {
        "version": "v1",
        "message_imprint": {"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": DIGEST},
        "nonce": 1234,
        "cert_req": True,
    }
    fields.update(overrides)
    return bytes(tsp.TimeStampReq(fields).dump())


def status_of(answer: bytes) -> tuple[str, set[str], list[str]]:
    status = TimeStampResp.load(answer)["status"]
    return (
        status["status"].native,
        set(status["fail_info"].native or ()),
        status["status_string"].native or [],
    )


def test_openssl_query_gets_a_token_that_openssl_verifies(
    tmp_path: Path, tsa: tuple[EmbeddedTimestampAuthority, TsaKeyMaterial]
) -> None:
    authority, _ = tsa
    query = openssl("ts", "-query", "-digest", DIGEST.hex(), "-sha256", "-cert")
    (tmp_path / "q.tsq").write_bytes(query)
    answer = handle_request(query, authority)
    (tmp_path / "r.tsr").write_bytes(answer)
    out = openssl(
        "ts", "-verify", "-queryfile", tmp_path / "q.tsq", "-in", tmp_path / "r.tsr",
        "-CAfile", tmp_path / "tsa-root-ca.pem",
    )  # fmt: skip
    assert b"Verification: OK" in out


def test_without_cert_openssl_needs_the_tsa_certificate(
    tmp_path: Path, tsa: tuple[EmbeddedTimestampAuthority, TsaKeyMaterial]
) -> None:
    authority, _ = tsa
    query = openssl("ts", "-query", "-digest", DIGEST.hex(), "-sha256", "-no_nonce")
    (tmp_path / "q.tsq").write_bytes(query)
    answer = handle_request(query, authority)
    token = TimeStampResp.load(answer)["time_stamp_token"]
    assert token["content"]["certificates"].native is None  # certReq absent: no certificates
    assert token["content"]["encap_content_info"]["content"].parsed["nonce"].native is None
    (tmp_path / "r.tsr").write_bytes(answer)
    out = openssl(
        "ts", "-verify", "-queryfile", tmp_path / "q.tsq", "-in", tmp_path / "r.tsr",
        "-CAfile", tmp_path / "tsa-root-ca.pem", "-untrusted", tmp_path / "tsa.pem",
    )  # fmt: skip
    assert b"Verification: OK" in out


def test_rfc3161_client_request_and_verifier(
    tsa: tuple[EmbeddedTimestampAuthority, TsaKeyMaterial],
) -> None:
    authority, material = tsa
    data = b"a deposited document"
    req = (
        rfc3161_client.TimestampRequestBuilder()
        .data(data)
        .hash_algorithm(rfc3161_client.HashAlgorithm.SHA512)
        .build()
    )
    response = rfc3161_client.decode_timestamp_response(handle_request(req.as_bytes(), authority))
    assert response.status == rfc3161_client.PKIStatus.GRANTED
    assert response.tst_info.nonce == req.nonce
    verifier = (
        rfc3161_client.VerifierBuilder.from_request(req)
        .add_root_certificate(material.root_certificate)
        .build()
    )
    assert verifier.verify_message(response, data)


def test_requested_policy_is_honoured_or_refused(
    tsa: tuple[EmbeddedTimestampAuthority, TsaKeyMaterial],
) -> None:
    authority, _ = tsa
    granted = handle_request(request(req_policy=DEFAULT_POLICY), authority)
    assert status_of(granted)[0] == "granted"
    refused = handle_request(request(req_policy="1.2.3.4"), authority)
    assert status_of(refused)[:2] == ("rejection", {"unaccepted_policy"})


def test_null_hash_parameters_are_accepted(
    tsa: tuple[EmbeddedTimestampAuthority, TsaKeyMaterial],
) -> None:
    authority, material = tsa
    algorithm = {"algorithm": "sha256", "parameters": core.Null()}  # as OpenSSL sends it
    body = request(message_imprint={"hash_algorithm": algorithm, "hashed_message": DIGEST})
    assert bytes.fromhex("06096086480165030402010500") in body
    answer = handle_request(body, authority)
    token = TimeStampResp.load(answer)["time_stamp_token"].dump()
    assert verify_token(token, DIGEST, trust_roots=[material.root_certificate], nonce=1234)


def _rejections() -> list[tuple[str, bytes, str]]:
    md5 = hashlib.md5(b"x").digest()
    return [
        ("empty", b"", "bad_data_format"),
        ("garbage", b"\x30\x03\x02\x01", "bad_data_format"),
        ("not asn.1", b"hello, time-stamp authority", "bad_data_format"),
        ("too large", b"\x30" + b"\x00" * MAX_REQUEST_BYTES, "bad_data_format"),
        ("trailing bytes", request() + b"\x00", "bad_data_format"),
        ("version 2", request(version="v2"), "bad_request"),
        (
            "md5",
            request(
                message_imprint={"hash_algorithm": {"algorithm": "md5"}, "hashed_message": md5}
            ),
            "bad_alg",
        ),
        (
            "sha1",
            request(
                message_imprint={
                    "hash_algorithm": {"algorithm": "sha1"},
                    "hashed_message": hashlib.sha1(b"x").digest(),
                }
            ),
            "bad_alg",
        ),
        (
            "short digest",
            request(
                message_imprint={"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": md5}
            ),
            "bad_data_format",
        ),
        (
            "non-NULL parameters",
            bytes.fromhex("30370201013032300e0609608648016503040201020101") + b"\x04\x20" + DIGEST,
            "bad_data_format",
        ),
        ("negative nonce", request(nonce=-5), "bad_request"),
        (
            "extension",
            request(extensions=[{"extn_id": "1.2.3.4", "critical": False, "extn_value": b"x"}]),
            "unaccepted_extensions",
        ),
    ]


@pytest.mark.parametrize(
    ("label", "body", "failure"), _rejections(), ids=[r[0] for r in _rejections()]
)
def test_bad_requests_are_rejected_with_the_right_failure(
    tsa: tuple[EmbeddedTimestampAuthority, TsaKeyMaterial], label: str, body: bytes, failure: str
) -> None:
    authority, _ = tsa
    answer = handle_request(body, authority)
    status, failures, texts = status_of(answer)
    assert (status, failures) == ("rejection", {failure}), label
    assert texts and texts[0]
    assert TimeStampResp.load(answer)["time_stamp_token"].native is None
    # rfc3161-client reads the rejection as well.
    assert rfc3161_client.decode_timestamp_response(answer).status == 2


def test_openssl_reads_a_rejection(
    tmp_path: Path, tsa: tuple[EmbeddedTimestampAuthority, TsaKeyMaterial]
) -> None:
    authority, _ = tsa
    query = openssl("ts", "-query", "-digest", DIGEST.hex(), "-sha256", "-tspolicy", "1.2.3")
    (tmp_path / "r.tsr").write_bytes(handle_request(query, authority))
    text = openssl("ts", "-reply", "-in", tmp_path / "r.tsr", "-text").decode()
    assert "Status: Rejected." in text
    assert "Failure info: the requested TSA policy is not supported" in text


class _BrokenAuthority:
    policy = DEFAULT_POLICY

    def timestamp(
        self,
        digest: bytes,
        *,
        hash_algorithm: str = "sha256",
        nonce: int | None = None,
        cert_req: bool = True,
    ) -> TimestampToken:
        raise TimestampError("the signing key is unreadable")


def test_an_authority_failure_is_a_system_failure_answer() -> None:
    status, failures, texts = status_of(handle_request(request(), _BrokenAuthority()))
    assert (status, failures) == ("rejection", {"system_failure"})
    assert "unreadable" not in texts[0]  # internal detail stays in the log


def test_the_chain_is_served_as_pem(
    tsa: tuple[EmbeddedTimestampAuthority, TsaKeyMaterial],
) -> None:
    """``GET /tsa/certs``: RFC 8555 §9.1's media type, leaf first, then the root."""
    authority, material = tsa
    app = FastAPI()
    app.include_router(tsa_router(authority, authority.certificates))
    with TestClient(app) as client:
        response = client.get("/tsa/certs")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pem-certificate-chain"
    chain = x509.load_pem_x509_certificates(response.content)
    assert [c.public_bytes(serialization.Encoding.DER) for c in chain] == list(
        authority.certificates
    )
    assert chain[-1] == material.root_certificate
