"""What verification returns: the checks that passed and, for each failure, a reason.

Shaped after the VC API verify response (https://w3c-ccg.github.io/vc-api/#verify-credential:
``checks``, ``warnings``, ``errors``) with each problem carrying the VC Data Model 2.0
§7.1 problem-detail ``type`` code (https://www.w3.org/TR/vc-data-model-2.0/#problem-details).
A verifier never raises for a bad credential; it returns a result whose ``errors``
say why.

The HTTP edge is built here too, so that every caller answers alike (the VC API
routes, ``POST /evidence/verify``, ``notary-hub verify --json``):
:meth:`VerificationResult.to_body` is the response body, with ``problemDetails``
typed with the §7.1 error URLs, and :func:`http_status` its status code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from credentials.errors import CredentialError

# VC Data Model 2.0 §7.1: a problem detail's ``type`` is this URL with the error code.
PROBLEM_TYPE_BASE = "https://www.w3.org/TR/vc-data-model#"
# Codes saying the document is not a credential at all (malformed, unknown context).
MALFORMED_CODES = frozenset({"PARSING_ERROR", "CONTEXT_ERROR", "DOCUMENT_TOO_LARGE"})


@dataclass(frozen=True, slots=True)
class Problem:
    check: str  # "structure", "context", "proof", "validity", "status", "evidence", ...
    code: str  # a CredentialError code
    message: str

    @classmethod
    def of(cls, check: str, error: CredentialError) -> Problem:
        return cls(check, error.code, error.message)

    def to_json(self) -> dict[str, str]:
        return {"check": self.check, "code": self.code, "message": self.message}

    def to_problem_detail(self) -> dict[str, str]:
        """VC Data Model 2.0 §7.1 (https://www.w3.org/TR/vc-data-model-2.0/#problem-details)."""
        return {"type": PROBLEM_TYPE_BASE + self.code, "title": self.code, "detail": self.message}


@dataclass(slots=True)
class VerificationResult:
    checks: list[str] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    document: dict[str, Any] | None = None  # the credential verified (decoded, for a JWT)
    details: dict[str, Any] = field(default_factory=dict)  # e.g. issuer, key id, status

    @property
    def verified(self) -> bool:
        return not self.errors and bool(self.checks)

    def fail(self, check: str, error: CredentialError) -> None:
        self.errors.append(Problem.of(check, error))

    def passed(self, check: str) -> None:
        """Record ``check`` as passed; a check is named once, in the order first passed."""
        if check not in self.checks:
            self.checks.append(check)

    def merge(self, other: VerificationResult, prefix: str = "") -> None:
        for check in other.checks:
            self.passed(prefix + check)
        self.errors.extend(Problem(prefix + p.check, p.code, p.message) for p in other.errors)
        self.warnings.extend(Problem(prefix + p.check, p.code, p.message) for p in other.warnings)

    def to_json(self) -> dict[str, Any]:
        return {
            "verified": self.verified,
            "checks": list(self.checks),
            "warnings": [p.to_json() for p in self.warnings],
            "errors": [p.to_json() for p in self.errors],
            **({"details": self.details} if self.details else {}),
        }

    def to_body(self) -> dict[str, Any]:
        """The verify response body: :meth:`to_json` and, for VC API clients,
        ``problemDetails`` (one per error, VC Data Model 2.0 §7.1)."""
        body = self.to_json()
        body["problemDetails"] = [p.to_problem_detail() for p in self.errors]
        return body


def http_status(result: VerificationResult) -> int:
    """The status a verify response answers with, as the W3C VC test suites expect.

    200 when the document verifies; 400 when it is not a credential at all (a
    malformed document, an unknown context, one too large: a :data:`MALFORMED_CODES`
    error of the document itself, not of a credential inside a presentation, whose
    checks are prefixed ``verifiableCredential[i].``); 422 when a well-formed document
    does not verify.
    """
    if result.verified:
        return 200
    if any(p.code in MALFORMED_CODES and "." not in p.check for p in result.errors):
        return 400
    return 422
