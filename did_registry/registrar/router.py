"""HTTP for the registrar: a holder asks what to sign, signs it with its own key, sends it back.

Issue 3 §6, registrar part. Two calls per change, as ERC-1056 meta-transactions
need (https://eips.ethereum.org/EIPS/eip-1056, the ``...Signed`` functions):

* ``POST /1.0/registrar/operations/digest`` — ``{did, operation}`` → the digest the
  identity's current owner signs, with the nonce it commits to;
* ``POST /1.0/registrar/operations`` — ``{did, operation, signature, nonce?}`` →
  ``202`` with the transaction hash, ``state`` ``mined`` (and then the DID document
  as of the transaction's block, when a resolver is available) or ``pending``.

Refusals are :class:`~did_registry.errors.DidError` subclasses, raised before
anything is sent (``invalidSignature``, ``invalidNonce``, ``invalidAttribute``,
``invalidOperation``: 422; ``invalidDid``: 400; ...); the hub's one error handler
answers them as ``{"error": <code>, "message": ...}`` with their status. Thin:
parsing only; the checks are the
:class:`~did_registry.registrar.service.Registrar`'s.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, StrictInt

from did_registry.errors import DidError, NotFound
from did_registry.ethr.attributes import MAX_VALUE_SIZE
from did_registry.ethr.chain_walker import ChainWalkerSource
from did_registry.ethr.did import parse_ethr_did
from did_registry.ethr.index_source import IndexNotReady
from did_registry.ethr.resolver import EthrResolver
from did_registry.registrar.operations import (
    AddDelegate,
    ChangeOwner,
    Deactivate,
    Operation,
    RevokeAttribute,
    RevokeDelegate,
    SetAttribute,
)
from did_registry.registrar.service import OperationPending, Registrar
from did_registry.registrar.signatures import SignatureInput
from did_registry.resolution import DidResolver, ResolutionOptions

_HEX_VALUE = Field(
    pattern=r"^0x([0-9a-fA-F]{2})*$",
    # Twice the registrar's bound: the precise "invalidAttribute" answer for a value a
    # little too long, and no parsing of absurd ones.
    max_length=2 + 4 * MAX_VALUE_SIZE,
    description="0x-prefixed hex of the raw bytes",
)
_HEX32 = Field(pattern=r"^0x[0-9a-fA-F]{64}$")


class ChangeOwnerIn(BaseModel):
    type: Literal["changeOwner"]
    newOwner: str = Field(max_length=64)


class DeactivateIn(BaseModel):
    type: Literal["deactivate"]


class AddDelegateIn(BaseModel):
    type: Literal["addDelegate"]
    delegateType: str = Field(max_length=64)
    delegate: str = Field(max_length=64)
    validity: StrictInt = Field(description="seconds")


class RevokeDelegateIn(BaseModel):
    type: Literal["revokeDelegate"]
    delegateType: str = Field(max_length=64)
    delegate: str = Field(max_length=64)


class SetAttributeIn(BaseModel):
    type: Literal["setAttribute"]
    name: str = Field(max_length=64, description="e.g. did/pub/Ed25519/veriKey/base64")
    value: Annotated[str, _HEX_VALUE]
    validity: StrictInt = Field(description="seconds")


class RevokeAttributeIn(BaseModel):
    type: Literal["revokeAttribute"]
    name: str = Field(max_length=64)
    value: Annotated[str, _HEX_VALUE]


OperationIn = Annotated[
    ChangeOwnerIn | DeactivateIn | AddDelegateIn | RevokeDelegateIn | SetAttributeIn
    | RevokeAttributeIn,
    Field(discriminator="type"),
]  # fmt: skip


class DigestRequest(BaseModel):
    did: str = Field(max_length=256)
    operation: OperationIn


class SignatureVrs(BaseModel):
    v: StrictInt
    r: Annotated[str, _HEX32]
    s: Annotated[str, _HEX32]


class OperationRequest(BaseModel):
    did: str = Field(max_length=256)
    operation: OperationIn
    signature: Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{130}$")] | SignatureVrs = Field(
        description="65 bytes r ‖ s ‖ v as 0x hex, or {v, r, s}"
    )
    nonce: StrictInt | None = Field(
        default=None, description="the nonce the digest was computed with; refused if stale"
    )


def to_operation(body: OperationIn) -> Operation:
    """The registrar operation of a request body (its constructor validates it)."""
    if isinstance(body, ChangeOwnerIn):
        return ChangeOwner(body.newOwner)
    if isinstance(body, DeactivateIn):
        return Deactivate()
    if isinstance(body, AddDelegateIn):
        return AddDelegate(body.delegateType, body.delegate, body.validity)
    if isinstance(body, RevokeDelegateIn):
        return RevokeDelegate(body.delegateType, body.delegate)
    if isinstance(body, SetAttributeIn):
        return SetAttribute(body.name, bytes.fromhex(body.value[2:]), body.validity)
    return RevokeAttribute(body.name, bytes.fromhex(body.value[2:]))


def _signature(body: str | SignatureVrs) -> SignatureInput:
    if isinstance(body, str):
        return body
    return body.v, bytes.fromhex(body.r[2:]), bytes.fromhex(body.s[2:])


def registrar_router(
    registrar: Registrar,
    resolver_provider: Callable[[], DidResolver | None],
    authorised: Callable[..., Any],
    *,
    network_names: Mapping[str, int] | None = None,
) -> APIRouter:
    """Routes over ``registrar``; ``resolver_provider()`` gives the resolver once there is one.

    DIDs name the hub's chain by its hex chain id or by one of ``network_names``
    (the did:ethr names configured for resolution) that maps to it.
    """
    router = APIRouter(prefix="/1.0/registrar", tags=["registrar"])
    networks: dict[str | int, int] = {registrar.chain_id: registrar.chain_id}
    networks.update(
        {name: chain_id for name, chain_id in (network_names or {}).items()
         if chain_id == registrar.chain_id}
    )  # fmt: skip

    def identity(did: str) -> str:
        # Only this hub's chain is served: any other network is UnknownNetwork.
        return parse_ethr_did(did, networks=networks).address

    names = {name: chain_id for name, chain_id in networks.items() if isinstance(name, str)}

    @functools.cache
    def chain_walker() -> DidResolver:
        # Reads the registry on chain directly: never behind the block a relay landed in.
        source = ChainWalkerSource(registrar.chain, registrar.registry.address)
        return EthrResolver({registrar.chain_id: source}, names=names)

    _add_digest_route(router, registrar, identity, authorised)
    _add_submit_route(router, registrar, identity, resolver_provider, authorised, chain_walker)
    return router


def _add_digest_route(
    router: APIRouter,
    registrar: Registrar,
    identity: Callable[[str], str],
    authorised: Callable[..., Any],
) -> None:
    @router.post("/operations/digest", response_model=None, dependencies=[Depends(authorised)])
    def digest(request: DigestRequest) -> dict[str, Any]:
        """What the DID's current owner signs for ``operation``."""
        signing = registrar.signing_request(identity(request.did), to_operation(request.operation))
        return {
            "did": request.did,
            "digest": "0x" + signing.digest.hex(),
            "nonce": signing.nonce,
            "owner": signing.owner,
            "registry": signing.registry,
            "chainId": registrar.chain_id,
        }


def _add_submit_route(
    router: APIRouter,
    registrar: Registrar,
    identity: Callable[[str], str],
    resolver_provider: Callable[[], DidResolver | None],
    authorised: Callable[..., Any],
    chain_walker: Callable[[], DidResolver],
) -> None:
    @router.post(
        "/operations", status_code=202, response_model=None, dependencies=[Depends(authorised)]
    )
    def submit(request: OperationRequest) -> dict[str, Any] | JSONResponse:
        """Check the signed operation and relay it; the hub pays the gas."""
        try:
            receipt = registrar.relay(
                identity(request.did),
                to_operation(request.operation),
                _signature(request.signature),
                nonce=request.nonce,
            )
        except OperationPending as exc:
            return JSONResponse(
                {"did": request.did, "transactionHash": exc.tx_hash, "state": "pending"}, 202
            )
        answer: dict[str, Any] = {
            "did": request.did,
            "transactionHash": receipt.transaction_hash,
            "state": "mined",
            "blockNumber": receipt.block_number,
        }
        resolver = resolver_provider()
        if resolver is not None:
            answer.update(_document_at(resolver, chain_walker, request.did, receipt.block_number))
        return answer


def _document_at(
    resolver: DidResolver, chain_walker: Callable[[], DidResolver], did: str, block_number: int
) -> dict[str, Any]:
    """The DID document (or the resolution error) as of ``block_number``, as answer fields.

    As of the transaction's block (did:ethr ``versionId``): exactly the state this change
    produced. The hub's resolver reads the database index, which may not have reached
    that block yet (``notFound`` "beyond the newest block", or not started): then the
    registry is read on chain at that block (:class:`ChainWalkerSource`), which gives the
    same document (the index and the walk share one document builder).
    """
    options = ResolutionOptions(version_id=block_number)
    try:
        try:
            result = resolver.resolve(did, options)
        except (NotFound, IndexNotReady):
            result = chain_walker().resolve(did, options)
    except DidError as exc:
        return {"didResolutionMetadata": {"error": exc.code, "message": exc.message}}
    return {
        "didDocument": result.did_document,
        "didDocumentMetadata": result.did_document_metadata,
    }
