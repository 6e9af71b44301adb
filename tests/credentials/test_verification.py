"""The verify response at the HTTP edge: the body with ``problemDetails`` and its status."""

from __future__ import annotations

import pytest

from credentials.errors import (
    ContextError,
    CredentialError,
    DocumentTooLarge,
    MalformedCredential,
    ProofError,
    StatusError,
)
from credentials.verification import (
    MALFORMED_CODES,
    PROBLEM_TYPE_BASE,
    Problem,
    VerificationResult,
    http_status,
)


def failed(check: str, error: CredentialError) -> VerificationResult:
    result = VerificationResult(checks=["structure"])
    result.fail(check, error)
    return result


def test_a_verified_result_is_200_with_no_problem_details() -> None:
    result = VerificationResult(checks=["structure", "proof"], details={"issuer": "did:x"})
    body = result.to_body()
    assert http_status(result) == 200
    assert body == {
        "verified": True,
        "checks": ["structure", "proof"],
        "warnings": [],
        "errors": [],
        "details": {"issuer": "did:x"},
        "problemDetails": [],
    }


@pytest.mark.parametrize(
    "error",
    [MalformedCredential("not JSON-LD"), ContextError("unknown"), DocumentTooLarge("big")],
)
def test_a_document_that_is_not_a_credential_is_400(error: CredentialError) -> None:
    assert error.code in MALFORMED_CODES
    assert http_status(failed("structure", error)) == 400


def test_a_malformed_credential_inside_a_presentation_is_422() -> None:
    inner = failed("structure", MalformedCredential("not JSON-LD"))
    outer = VerificationResult(checks=["structure", "proof"])
    outer.merge(inner, prefix="verifiableCredential[0].")
    assert outer.errors[0].check == "verifiableCredential[0].structure"
    assert http_status(outer) == 422


@pytest.mark.parametrize("error", [ProofError("bad signature"), StatusError("revoked")])
def test_a_well_formed_document_that_does_not_verify_is_422(error: CredentialError) -> None:
    assert http_status(failed("proof", error)) == 422


def test_a_result_without_checks_is_not_verified() -> None:
    result = VerificationResult()
    assert not result.verified
    assert http_status(result) == 422


def test_each_error_has_a_problem_detail_typed_with_its_vc_data_model_url() -> None:
    result = failed("context", ContextError("the context is not bundled"))
    result.fail("proof", ProofError("the signature does not verify"))
    result.warnings.append(Problem("status", "STATUS_ERROR", "stale"))  # not a problem detail
    body = result.to_body()
    assert body["verified"] is False
    assert body["errors"] == [p.to_json() for p in result.errors]
    assert body["problemDetails"] == [
        {
            "type": "https://www.w3.org/TR/vc-data-model#CONTEXT_ERROR",
            "title": "CONTEXT_ERROR",
            "detail": "the context is not bundled",
        },
        {
            "type": PROBLEM_TYPE_BASE + ProofError.code,
            "title": ProofError.code,
            "detail": "the signature does not verify",
        },
    ]
    assert "details" not in body  # only when there are some
