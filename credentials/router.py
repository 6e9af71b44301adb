"""The VC API (W3C CCG, https://w3c-ccg.github.io/vc-api/) over the issuer and the verifier.

Thin: request parsing and status codes only. ``POST /credentials/issue`` (§3.2.1,
authorised callers; 201 with ``verifiableCredential``), ``POST /credentials/verify``
(§3.3.1) and ``POST /presentations/verify`` (§3.3.2), ``POST /presentations/challenges``
(unauthenticated, rate-limited per client IP: a challenge the verify route then accepts
once, :mod:`credentials.challenges`), ``POST /credentials/status``
(§3.2.3, authorised), and ``GET /credentials/status/{list}`` serving the status list
credentials named in ``statusListCredential``. Issuing refuses what only the hub's
services may issue (:mod:`credentials.issuing_policy`); verifying reports whether
the issuer is trusted (:mod:`credentials.issuer_trust`) as its own ``issuer`` check.

Verification answers 200 when the document verifies, 422 with the same result body
when a well-formed document does not, and 400 when it is not a credential at all
(malformed, unknown context): the statuses the W3C VC test suites expect. Results
carry the verifier's ``checks`` / ``errors`` / ``warnings`` and, for VC API clients,
``problemDetails`` typed with VC Data Model 2.0 §7.1 error URLs (body and status
from :mod:`credentials.verification`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from chain_adapter.rpc_limits import RateLimiter
from credentials.challenges import MAX_DOMAIN_CHARS, ChallengeService
from credentials.errors import CredentialNotFound, TooManyChallenges
from credentials.issuer import CredentialIssuer
from credentials.issuer_trust import IssuerTrust, check_issuer_trust
from credentials.status.service import StatusService
from credentials.verification import VerificationResult, http_status
from credentials.verifier import Verifier

Purpose = Literal["revocation", "suspension"]


def _revocation_only() -> list[Purpose]:
    return ["revocation"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class IssueOptions(_Body):
    credential_id: str | None = Field(default=None, alias="credentialId", max_length=2048)
    securing_mechanism: Literal["eddsa-rdfc-2022", "vc+jwt"] = Field(
        default="eddsa-rdfc-2022", alias="securingMechanism"
    )
    alg: Literal["EdDSA", "ES256K"] = "EdDSA"
    status_purposes: list[Purpose] = Field(
        default_factory=_revocation_only, alias="statusPurposes", max_length=2
    )


class IssueRequest(_Body):
    credential: dict[str, Any]
    options: IssueOptions = IssueOptions()


class VerifyCredentialOptions(_Body):
    check_status: bool = Field(default=True, alias="checkStatus")


class VerifyCredentialRequest(_Body):
    verifiable_credential: dict[str, Any] | str = Field(alias="verifiableCredential")
    options: VerifyCredentialOptions = VerifyCredentialOptions()


class VerifyPresentationOptions(_Body):
    challenge: str | None = Field(default=None, max_length=1024)
    domain: str | None = Field(default=None, max_length=1024)


class VerifyPresentationRequest(_Body):
    verifiable_presentation: dict[str, Any] | str = Field(alias="verifiablePresentation")
    options: VerifyPresentationOptions = VerifyPresentationOptions()


class ChallengeRequest(_Body):
    domain: str | None = Field(default=None, min_length=1, max_length=MAX_DOMAIN_CHARS)


class StatusEntryRef(_Body):
    type: str = Field(max_length=64)
    status_purpose: Purpose = Field(alias="statusPurpose")
    id: str | None = Field(default=None, max_length=2048)
    status_list_index: str | None = Field(default=None, alias="statusListIndex", max_length=16)
    status_list_credential: str | None = Field(
        default=None, alias="statusListCredential", max_length=2048
    )


class UpdateStatusRequest(_Body):
    credential_id: str = Field(alias="credentialId", min_length=1, max_length=2048)
    credential_status: StatusEntryRef = Field(alias="credentialStatus")
    status: StrictBool


def _verification_response(result: VerificationResult) -> JSONResponse:
    return JSONResponse(result.to_body(), status_code=http_status(result))


def credentials_router(
    issuer: CredentialIssuer,
    verifier: Verifier,
    status: StatusService | None,
    may_issue: Callable[..., Any],  # FastAPI dependencies admitting a caller, sync or async
    may_set_status: Callable[..., Any],
    trust: IssuerTrust | None = None,
    challenges: tuple[ChallengeService, RateLimiter] | None = None,
) -> APIRouter:
    """The VC API routes; ``may_issue`` guards issuing, ``may_set_status`` status updates."""
    router = APIRouter(tags=["credentials"])

    @router.post("/credentials/issue", status_code=201, dependencies=[Depends(may_issue)])
    def issue(request: IssueRequest) -> dict[str, Any]:
        credential = dict(request.credential)
        if request.options.credential_id is not None:
            credential.setdefault("id", request.options.credential_id)
        issued = issuer.issue_requested(
            credential,
            mechanism=request.options.securing_mechanism,
            alg=request.options.alg,
            status_purposes=tuple(request.options.status_purposes) if status else (),
        )
        return issued.to_json()

    @router.post("/credentials/verify")
    def verify_credential(request: VerifyCredentialRequest) -> JSONResponse:
        result = verifier.verify_credential(
            request.verifiable_credential, check_status=request.options.check_status
        )
        if trust is not None:  # reported, not required: a valid credential from anyone
            check_issuer_trust(result, trust, required=False)
        return _verification_response(result)

    @router.post("/presentations/verify")
    def verify_presentation(request: VerifyPresentationRequest) -> JSONResponse:
        presentation, options = request.verifiable_presentation, request.options
        if challenges is None:
            result = verifier.verify_presentation(
                presentation, challenge=options.challenge, domain=options.domain
            )
        else:
            result = challenges[0].verify_presentation(
                verifier, presentation, challenge=options.challenge, domain=options.domain
            )
        return _verification_response(result)

    if challenges is not None:
        _add_challenge_route(router, *challenges)
    _add_status_routes(router, status, [Depends(may_set_status)])
    return router


def _add_challenge_route(router: APIRouter, service: ChallengeService, limit: RateLimiter) -> None:
    @router.post("/presentations/challenges", status_code=201)
    def new_challenge(request: Request, body: ChallengeRequest | None = None) -> dict[str, str]:
        wait = limit.take(request.client.host if request.client else "unknown")
        if wait > 0:
            raise TooManyChallenges(
                "too many challenges asked for from this address; try again later",
                headers={"Retry-After": str(max(1, round(wait)))},
            )
        return service.issue(body.domain if body is not None else None).to_json()


def _add_status_routes(
    router: APIRouter, status: StatusService | None, authorised: list[Any]
) -> None:
    @router.post("/credentials/status", dependencies=authorised)
    def update_status(request: UpdateStatusRequest) -> dict[str, Any]:
        if status is None:
            raise CredentialNotFound("this hub keeps no status lists")
        purpose = request.credential_status.status_purpose
        changed = status.set_status(request.credential_id, purpose, request.status)
        status.publish()
        return {
            "credentialId": request.credential_id,
            "statusPurpose": purpose,
            "status": request.status,
            "changed": changed,
        }

    @router.get("/credentials/status/{list_id}")
    def status_list(
        list_id: Annotated[str, Path(pattern=r"^[0-9a-f]{8,64}$")],
    ) -> JSONResponse:
        if status is None:
            raise CredentialNotFound("this hub keeps no status lists")
        return JSONResponse(status.list_credential(list_id), media_type="application/vc")
