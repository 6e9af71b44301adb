"""Errors of the evidence services (deposit, blob store, timestamping).

Each class carries a machine-readable ``code`` and the HTTP ``status_code``;
``notary_hub.errors`` maps them to ``{"error": code, "message": ...}`` bodies in
one place.
"""

from __future__ import annotations

from hub_kernel.errors import HubError


class EvidenceError(HubError):
    code = "evidence_error"
    status_code = 500


# -- input -----------------------------------------------------------------------------------
class InvalidDeposit(EvidenceError):
    """Malformed metadata, a bad multipart body, a missing file or digest."""

    code = "invalid_deposit"
    status_code = 400


class InvalidFileName(InvalidDeposit):
    code = "invalid_file_name"


class UnsupportedHashAlgorithm(InvalidDeposit):
    code = "unsupported_hash_algorithm"


class TruncatedUpload(InvalidDeposit):
    code = "truncated_upload"


class Sha256Required(InvalidDeposit):
    """A digest-only deposit without the content's SHA-256 (an SM3 digest alone).

    The RFC 3161 token and the chain anchor are taken over the SHA-256, and a custody
    letter's evidence names it; SM3 is carried alongside, never instead.
    """

    code = "sha256_required"
    status_code = 422


class IdempotencyKeyReused(InvalidDeposit):
    """draft-ietf-httpapi-idempotency-key-header §2.7: "Idempotency-Key is already used
    for a different request payload" (https://datatracker.ietf.org/doc/html/draft-ietf-
    httpapi-idempotency-key-header#section-2.7): 422."""

    code = "idempotency_key_reused"
    status_code = 422


class UploadTooLarge(EvidenceError):
    code = "upload_too_large"
    status_code = 413


class DigestMismatch(EvidenceError):
    """A declared digest that the uploaded bytes do not have."""

    code = "digest_mismatch"
    status_code = 422


class InvalidListQuery(EvidenceError):
    """A bad parameter of ``GET /evidence/deposits`` (state, time bounds, limit, cursor)."""

    code = "invalid_query"
    status_code = 422


# -- access and state ------------------------------------------------------------------------
class DepositNotFound(EvidenceError):
    code = "deposit_not_found"
    status_code = 404


class NotDepositOwner(EvidenceError):
    code = "forbidden"
    status_code = 403


class NotCertified(EvidenceError):
    """The custody letter is asked for before the deposit is certified."""

    code = "not_certified"
    status_code = 409


class ContentNotStored(EvidenceError):
    """A digest-only deposit has no content to stream back."""

    code = "content_not_stored"
    status_code = 409


# -- blob store ------------------------------------------------------------------------------
class BlobNotFound(EvidenceError):
    code = "blob_not_found"
    status_code = 404


class BlobCorrupt(EvidenceError):
    """Ciphertext that fails authentication, or plaintext that fails its digest."""

    code = "blob_corrupt"
    status_code = 500


class BlobStoreUnavailable(EvidenceError):
    code = "blob_store_unavailable"
    status_code = 503


# -- timestamping ----------------------------------------------------------------------------
class TimestampError(EvidenceError):
    """A timestamp authority answered with something that does not verify."""

    code = "timestamp_error"
    status_code = 502


class TimestampUnavailable(EvidenceError):
    """No configured timestamp authority answered."""

    code = "timestamp_unavailable"
    status_code = 503


class InvalidTimestampToken(EvidenceError):
    code = "invalid_timestamp_token"
    status_code = 422
