"""Errors of the credentials component.

Codes follow the W3C VC Data Model 2.0 §7.1 "Verification" problem details
(https://www.w3.org/TR/vc-data-model-2.0/#verification) where one exists
(``PARSING_ERROR``, ``CRYPTOGRAPHIC_SECURITY_ERROR``, ...); the HTTP status is the
VC API's (https://w3c-ccg.github.io/vc-api/): 400 for a request that cannot be
read, 422 for a well-formed credential that does not verify.

Verification never raises these to its caller: the verifier catches them and
reports each as a reason (:class:`credentials.verification.Problem`). Issuing and
the status service raise them, and ``notary_hub.errors`` maps them to responses.
"""

from __future__ import annotations

from hub_kernel.errors import HubError


class CredentialError(HubError):
    code = "CREDENTIAL_ERROR"
    status_code = 500


class MalformedCredential(CredentialError):
    """Not a credential or presentation at all: wrong JSON shape, missing required member."""

    code = "PARSING_ERROR"
    status_code = 400


class DocumentTooLarge(MalformedCredential):
    code = "DOCUMENT_TOO_LARGE"
    status_code = 413


class ContextError(CredentialError):
    """An unknown, remote or malformed ``@context``, or a term JSON-LD would drop."""

    code = "CONTEXT_ERROR"
    status_code = 400


class UnsupportedAlgorithm(CredentialError):
    """A cryptosuite, JOSE ``alg`` or key type outside the allow-list."""

    code = "UNSUPPORTED_ALGORITHM"
    status_code = 400


class ProofError(CredentialError):
    """A proof that is malformed or whose signature does not check."""

    code = "CRYPTOGRAPHIC_SECURITY_ERROR"
    status_code = 422


class KeyResolutionError(CredentialError):
    """The verification method does not resolve, or is not authorised for the purpose."""

    code = "INVALID_VERIFICATION_METHOD"
    status_code = 422


class ValidityError(CredentialError):
    """Expired, or not yet valid."""

    code = "VALIDITY_PERIOD_ERROR"
    status_code = 422


class StatusError(CredentialError):
    """Revoked, suspended, or a status list that cannot be trusted."""

    code = "STATUS_ERROR"
    status_code = 422


class StatusListNotFound(CredentialError):
    code = "STATUS_LIST_NOT_FOUND"
    status_code = 404


class CredentialNotFound(CredentialError):
    code = "CREDENTIAL_NOT_FOUND"
    status_code = 404


class StatusListFull(CredentialError):
    code = "STATUS_LIST_FULL"
    status_code = 503


class IssuanceError(CredentialError):
    """The issuer cannot sign: no current key, a subject it refuses."""

    code = "ISSUANCE_ERROR"
    status_code = 422


class InvalidChallenge(ProofError):
    """A presentation proof answering another challenge (VC Data Integrity §4.4 step 7)."""

    code = "INVALID_CHALLENGE_ERROR"


class MissingChallenge(InvalidChallenge):
    """A presentation proof with no challenge where the verifier asked for one."""

    code = "MISSING_CHALLENGE_ERROR"


class InvalidDomain(ProofError):
    """A presentation proof for another domain (VC Data Integrity §4.4 step 6)."""

    code = "INVALID_DOMAIN_ERROR"


class ProofExpired(ProofError):
    """A proof past its ``expires`` (VC Data Integrity §2.1) or a vp+jwt past its ``exp``."""

    code = "PROOF_EXPIRED_ERROR"


class ChallengeError(CredentialError):
    """A hub-issued challenge that can no longer be answered."""

    code = "CHALLENGE_ERROR"
    status_code = 422


class ChallengeReplayed(ChallengeError):
    """The hub's challenge was already answered: the presentation is a replay."""

    code = "CHALLENGE_REPLAYED_ERROR"


class ChallengeExpired(ChallengeError):
    code = "CHALLENGE_EXPIRED_ERROR"


class TooManyChallenges(CredentialError):
    """A client asking for challenges faster than its rate (HTTP 429, with Retry-After)."""

    code = "TOO_MANY_CHALLENGES"
    status_code = 429
