"""HTTP for DID resolution: the Universal Resolver's ``GET /1.0/identifiers/{did}``.

Thin: the request's DID, query and ``Accept`` header go to
:func:`did_registry.universal_resolver.resolve_http`, whose status, media type and
body are sent back as they are.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Request, Response

from did_registry.resolution import DidResolver
from did_registry.universal_resolver import resolve_http


def resolver_router(resolver: DidResolver) -> APIRouter:
    router = APIRouter(tags=["did-resolution"])

    # A plain (sync) endpoint: resolution reads the database or the chain, so it runs
    # in the thread pool instead of blocking the event loop.
    @router.get("/1.0/identifiers/{did:path}")
    def resolve(did: str, request: Request) -> Response:
        answer = resolve_http(
            resolver, did, request.query_params.multi_items(), request.headers.get("accept")
        )
        return Response(
            content=json.dumps(answer.body, ensure_ascii=False, separators=(",", ":")),
            status_code=answer.status,
            media_type=answer.media_type,
        )

    return router
