"""HTTP for the anchoring queue: enqueue items, read their state and receipts, verify receipts.

Thin: parsing and status codes only; the work is in :mod:`queue` and :mod:`verify`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path
from pydantic import BaseModel, Field

from chain_adapter.anchoring.queue import AnchorQueue, InvalidAnchorItem
from chain_adapter.anchoring.receipt import AnchorReceipt
from chain_adapter.anchoring.verify import verify_receipt
from chain_adapter.protocol import Chain

MAX_ITEM_ID = 2**63 - 1  # the id column is a signed 64-bit integer on PostgreSQL


class EnqueueRequest(BaseModel):
    kind: str = Field(min_length=1, max_length=32)
    items: list[str] = Field(
        min_length=1, max_length=10_000, description="0x-prefixed hex of each item (e.g. digests)"
    )


class EnqueueResponse(BaseModel):
    ids: list[int]


def anchoring_router(queue: AnchorQueue, chain: Chain, authorised: Callable[..., Any]) -> APIRouter:
    router = APIRouter(prefix="/anchoring", tags=["anchoring"])

    @router.post("/items", status_code=202, dependencies=[Depends(authorised)])
    def enqueue(request: EnqueueRequest) -> EnqueueResponse:
        items = []
        for index, text in enumerate(request.items):
            if not text.startswith("0x"):
                raise InvalidAnchorItem(f"items[{index}] must be 0x-prefixed hex")
            try:
                items.append(bytes.fromhex(text[2:]))
            except ValueError:
                raise InvalidAnchorItem(f"items[{index}] is not hex") from None
        return EnqueueResponse(ids=queue.enqueue_many(items, request.kind))

    @router.get("/queue", dependencies=[Depends(authorised)])
    def queue_state() -> dict[str, int]:
        return {"pending": queue.pending_count()}

    @router.get("/items/{item_id}", dependencies=[Depends(authorised)])
    def item(item_id: Annotated[int, Path(ge=1, le=MAX_ITEM_ID)]) -> dict[str, Any]:
        status = queue.status(item_id)
        receipt = queue.receipt(item_id)
        return {
            "id": status.item_id,
            "kind": status.kind,
            "state": status.state,
            "batch": status.batch_id,
            "receipt": receipt.to_json() if receipt else None,
        }

    @router.post("/receipts/verify")
    def verify(receipt: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
        return verify_receipt(AnchorReceipt.from_json(receipt), chain).to_json()

    return router
