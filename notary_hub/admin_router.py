"""The hub's administrative HTTP API: what the CLI asks a running hub to do.

Issue 11, item 1 (b): while ``serve`` holds the embedded chain, ``notary-hub keys
rotate`` cannot open it (one writer per chain), so it sends ``POST /admin/keys/rotate``
to the running hub (bearer token), which rotates with its own :class:`NotaryIdentity`:
the issuer signs with the new key at once, with no restart.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from chain_adapter.protocol import Receipt
from did_registry.notary_identity import NotaryIdentity, Rotation


class RotateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    revoke_old: bool = Field(default=False, alias="revokeOld")


def _receipt_json(receipt: Receipt | None) -> dict[str, Any] | None:
    if receipt is None:
        return None
    return {"transactionHash": receipt.transaction_hash, "blockNumber": receipt.block_number}


def rotation_json(rotation: Rotation) -> dict[str, Any]:
    """What ``keys rotate`` prints, the same whether it rotated itself or asked the hub."""
    return {
        "current": rotation.current.name,
        "published": _receipt_json(rotation.published),
        "previous": rotation.previous.name if rotation.previous else None,
        "revoked": _receipt_json(rotation.revoked),
    }


def admin_router(notary: Callable[[], NotaryIdentity], authorised: Callable[..., Any]) -> APIRouter:
    router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(authorised)])

    @router.post("/keys/rotate")
    def rotate_keys(request: RotateRequest | None = None) -> dict[str, Any]:
        """Publish a new notary signing key and sign with it from now on (issue 3 §7)."""
        revoke_old = request.revoke_old if request else False
        return rotation_json(notary().rotate(revoke_old=revoke_old))

    return router
