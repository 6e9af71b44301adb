"""The TSA side of the RFC 3161 HTTP transport, as pure bytes-in / bytes-out.

RFC 3161 §3.4 (https://www.rfc-editor.org/rfc/rfc3161#section-3.4): a DER TimeStampReq
POSTed as ``application/timestamp-query`` is answered with a DER TimeStampResp as
``application/timestamp-reply``. §2.4.2: a request that cannot be honoured gets status
``rejection`` with a PKIFailureInfo bit: badAlg (hash algorithm not accepted),
badRequest (not a permitted request), badDataFormat (not DER, or a digest of the wrong
size), unacceptedPolicy (a reqPolicy the TSA does not serve), unacceptedExtension
(§2.4.1: an extension the TSA does not recognise MUST be refused; this TSA knows none).

The web route is the lead's: it checks the Content-Type against
:data:`TIMESTAMP_QUERY_MEDIA_TYPE`, caps the body at :data:`MAX_REQUEST_BYTES` and
answers ``handle_request``'s bytes with :data:`TIMESTAMP_REPLY_MEDIA_TYPE`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import NamedTuple, Protocol

from asn1crypto import tsp
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from evidence.errors import EvidenceError
from evidence.timestamping.protocol import HASH_ALGORITHMS, TimestampToken
from evidence.timestamping.tsp_asn1 import granted_response, rejection_response

__all__ = [
    "CERTIFICATE_CHAIN_MEDIA_TYPE",
    "MAX_REQUEST_BYTES",
    "TIMESTAMP_QUERY_MEDIA_TYPE",
    "TIMESTAMP_REPLY_MEDIA_TYPE",
    "TSA_CERTS_PATH",
    "TimestampResponder",
    "handle_request",
    "pem_chain",
]

TIMESTAMP_QUERY_MEDIA_TYPE = "application/timestamp-query"
TIMESTAMP_REPLY_MEDIA_TYPE = "application/timestamp-reply"
#: Where the embedded TSA's chain is served, and as what (RFC 8555 §9.1,
#: https://www.rfc-editor.org/rfc/rfc8555#section-9.1: PEM certificates, leaf first).
TSA_CERTS_PATH = "/tsa/certs"
CERTIFICATE_CHAIN_MEDIA_TYPE = "application/pem-certificate-chain"
#: A TimeStampReq with a SHA-512 imprint, a policy and a 160-bit nonce is ~150 bytes.
MAX_REQUEST_BYTES = 4096

_log = logging.getLogger(__name__)


class TimestampResponder(Protocol):
    """What the transport needs of an authority (the embedded TSA is one)."""

    policy: str

    def timestamp(
        self,
        digest: bytes,
        *,
        hash_algorithm: str = "sha256",
        nonce: int | None = None,
        cert_req: bool = True,
    ) -> TimestampToken: ...


class _Rejected(Exception):
    def __init__(self, failure: str, text: str) -> None:
        super().__init__(text)
        self.failure = failure
        self.text = text


class _Request(NamedTuple):
    digest: bytes
    hash_algorithm: str
    nonce: int | None
    cert_req: bool
    policy: str | None


def _parse(body: bytes) -> _Request:
    """The request, if it is one this TSA can serve; else :class:`_Rejected`."""
    if not body:
        raise _Rejected("bad_data_format", "empty request")
    if len(body) > MAX_REQUEST_BYTES:
        raise _Rejected("bad_data_format", f"request larger than {MAX_REQUEST_BYTES} bytes")
    try:
        request = tsp.TimeStampReq.load(body, strict=True)
        fields = request.native  # parses every field now, so bad DER fails here
        algorithm_id = request["message_imprint"]["hash_algorithm"]
        algorithm = algorithm_id["algorithm"].native
        has_parameters = algorithm_id["parameters"].native is not None
        policy = request["req_policy"].dotted if fields["req_policy"] is not None else None
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise _Rejected("bad_data_format", f"not a DER TimeStampReq ({first_line})") from None
    if fields["version"] != "v1":
        raise _Rejected("bad_request", f"unsupported request version {fields['version']!r}")
    # RFC 5754 §2: SHA-2 AlgorithmIdentifier parameters are absent or NULL.
    if algorithm not in HASH_ALGORITHMS or has_parameters:
        raise _Rejected("bad_alg", f"hash algorithm {algorithm} is not accepted")
    digest = fields["message_imprint"]["hashed_message"]
    size = HASH_ALGORITHMS[algorithm]
    if len(digest) != size:
        raise _Rejected(
            "bad_data_format", f"a {algorithm} digest is {size} bytes, not {len(digest)}"
        )
    if fields["extensions"] is not None:
        raise _Rejected("unaccepted_extensions", "no request extension is supported")
    nonce = fields["nonce"]
    if nonce is not None and nonce < 0:
        raise _Rejected("bad_request", "the nonce is negative")
    return _Request(digest, algorithm, nonce, bool(fields["cert_req"]), policy)


def handle_request(body: bytes, authority: TimestampResponder) -> bytes:
    """The DER TimeStampResp answering the DER TimeStampReq ``body``; never raises on input."""
    try:
        request = _parse(body)
        if request.policy is not None and request.policy != authority.policy:
            raise _Rejected("unaccepted_policy", f"policy {request.policy} is not served")
    except _Rejected as rejected:
        return rejection_response(rejected.failure, rejected.text)
    try:
        token = authority.timestamp(
            request.digest,
            hash_algorithm=request.hash_algorithm,
            nonce=request.nonce,
            cert_req=request.cert_req,
        )
    except EvidenceError as exc:
        _log.error("timestamp authority failed: %s", exc.message)
        return rejection_response("system_failure", "the time-stamping service failed")
    return granted_response(token.token)


def pem_chain(certificates: Sequence[bytes]) -> bytes:
    """DER certificates as one ``application/pem-certificate-chain`` body (RFC 7468 §5.1)."""
    return b"".join(
        x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)
        for der in certificates
    )
