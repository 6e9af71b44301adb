"""HTTP for consortium membership (issue 3 §8): apply, proposals, votes, members, nodes.

Thin: parsing and status codes only; the work is in :mod:`did_registry.consortium.service`.
``POST /consortium/applications`` takes the signed application document of
:mod:`did_registry.consortium.application` (issue 9 item 10; what
``notary-hub consortium sign-application`` writes). Refusals are
:class:`~did_registry.errors.DidError` subclasses carrying ``code`` and
``status_code`` (400 for an unsigned or malformed application or DID, 422 with the
certificate check or the signature check that failed, 403 for a non-member, 404 for
an unknown proposal, 409 for a conflict with the chain state or a replayed nonce),
which the hub's error handlers turn into ``{"error": code, "message": reason}``.
Every route needs an authorised caller: applying and voting make the hub sign
transactions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from did_registry.consortium.application import SignedApplication
from did_registry.consortium.certificates import MAX_CHAIN_PEM_BYTES
from did_registry.consortium.models import to_json
from did_registry.consortium.service import ConsortiumService

_ADDRESS = r"^0x[0-9a-fA-F]{40}$"
MAX_ID = 2**63 - 1  # ids are signed 64-bit integers in the database


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ApplicationFields(_Body):
    """What the applicant signed (EIP-712 ``ConsortiumApplication`` and its domain)."""

    organisation: str = Field(
        min_length=1, max_length=64, description="as the certificate names it"
    )
    did: str = Field(min_length=1, max_length=256, description="did:ethr on this chain, or did:key")
    organisation_address: str | None = Field(
        default=None,
        alias="organisationAddress",
        max_length=42,
        description="required with a did:key; must match the identity of a did:ethr",
    )
    node_address: str = Field(alias="nodeAddress", max_length=42)
    node_type: Literal["service", "producer"] = Field(alias="nodeType")
    certificate_chain_sha256: str = Field(alias="certificateChainSha256", max_length=66)
    chain_id: StrictInt = Field(alias="chainId")
    consortium: str = Field(max_length=42, description="the ConsortiumRegistry address")
    expires: StrictInt = Field(description="unix seconds")
    nonce: str = Field(max_length=66)


class DidProofBody(_Body):
    verification_method: str = Field(alias="verificationMethod", max_length=512)
    signature: str = Field(max_length=200)


class NodeProofBody(_Body):
    signature: str = Field(max_length=200)


class Proofs(_Body):
    did: DidProofBody | None = None
    node: NodeProofBody | None = None


class ApplicationRequest(_Body):
    """A signed application (docs/consortium-application.md); proofs are checked, not optional."""

    application: ApplicationFields
    certificate_chain: str = Field(
        alias="certificateChain",
        min_length=1,
        max_length=MAX_CHAIN_PEM_BYTES,
        description="PEM certificates, the organisation's end-entity certificate first",
    )
    proofs: Proofs | None = None


class VoteRequest(_Body):
    support: StrictBool


class RemovalRequest(_Body):
    reason: str | None = Field(
        default=None, max_length=2000, description="its SHA-256 is the proposal's evidenceHash"
    )


def consortium_router(service: ConsortiumService, authorised: Callable[..., Any]) -> APIRouter:
    router = APIRouter(
        prefix="/consortium", tags=["consortium"], dependencies=[Depends(authorised)]
    )

    @router.post("/applications", status_code=201)
    def apply(request: ApplicationRequest) -> dict[str, Any]:
        body = request.model_dump(by_alias=True, exclude_none=True)
        application = service.apply(SignedApplication.from_json(body))
        ids = [application.member_proposal_id, application.node_proposal_id]
        return {
            "application": to_json(application),
            "proposalIds": [pid for pid in ids if pid is not None],
        }

    @router.get("/applications")
    def applications() -> dict[str, Any]:
        return {"applications": [to_json(a) for a in service.applications()]}

    @router.get("/applications/{application_id}")
    def application(application_id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> dict[str, Any]:
        return to_json(service.application(application_id))

    @router.get("/proposals")
    def proposals(open_only: Annotated[bool, Query(alias="open")] = False) -> dict[str, Any]:
        return {"proposals": [to_json(p) for p in service.proposals(open_only=open_only)]}

    @router.post("/proposals/{proposal_id}/votes", status_code=201)
    def vote(
        proposal_id: Annotated[int, Path(ge=1, le=MAX_ID)], request: VoteRequest
    ) -> dict[str, Any]:
        """The hub votes as its member account."""
        return to_json(service.vote(proposal_id, request.support))

    @router.get("/members")
    def members() -> dict[str, Any]:
        return {"members": [to_json(m) for m in service.members()]}

    @router.get("/nodes")
    def nodes() -> dict[str, Any]:
        return {"nodes": [to_json(n) for n in service.nodes()]}

    @router.post("/members/{address}/removal", status_code=201)
    def removal(
        address: Annotated[str, Path(pattern=_ADDRESS)], request: RemovalRequest | None = None
    ) -> dict[str, Any]:
        reason = request.reason if request else None
        return {"proposal": to_json(service.propose_removal(address, reason))}

    return router
