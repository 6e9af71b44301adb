"""What verification returns: the checks that passed and, for each failure, a reason.

Shaped after the VC API verify response (https://w3c-ccg.github.io/vc-api/#verify-credential:
``checks``, ``warnings``, ``errors``) with each problem carrying the VC Data Model 2.0
§7.1 problem-detail ``type`` code (https://www.w3.org/TR/vc-data-model-2.0/#problem-details).
A verifier never raises for a bad credential; it returns a result whose ``errors``
say why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from credentials.errors import CredentialError


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
        self.checks.append(check)

    def merge(self, other: VerificationResult, prefix: str = "") -> None:
        self.checks.extend(prefix + c for c in other.checks)
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
