"""The hub's own JSON-LD context, served where verifiers outside the hub can load it.

Letters name ``https://w3id.org/notary-hub/v1`` in ``@context`` (the signed IRI; it
never changes), which nothing outside the hub serves. ``GET /contexts/notary-hub/v1``
serves that document byte for byte as bundled (so its SHA-384 is the ``digestSRI``
letters record in ``relatedResource``, VC Data Model 2.0 §5.3,
https://www.w3.org/TR/vc-data-model-2.0/#integrity-of-related-resources), as
``application/ld+json`` (JSON-LD 1.1 §9.1, https://www.w3.org/TR/json-ld11/#iana-considerations).
Unauthenticated and cacheable; any origin may read it (it is public by design).
``v1`` is frozen; ``GET /contexts/notary-hub/v2`` serves the terms added since (the
draw winner's credential), named after ``v1`` in a credential's ``@context``.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter
from fastapi.responses import Response

from credentials.jsonld.context_integrity import JSON_LD, context_bytes
from credentials.jsonld.contexts import NOTARY_HUB_V1, NOTARY_HUB_V2

NOTARY_HUB_CONTEXT_PATH = "/contexts/notary-hub/v1"
NOTARY_HUB_V2_CONTEXT_PATH = "/contexts/notary-hub/v2"  # the terms added since v1 (issue 14)


def contexts_router() -> APIRouter:
    router = APIRouter(tags=["credentials"])
    for path, url in (
        (NOTARY_HUB_CONTEXT_PATH, NOTARY_HUB_V1),
        (NOTARY_HUB_V2_CONTEXT_PATH, NOTARY_HUB_V2),
    ):
        router.add_api_route(
            path,
            _serve(url),
            methods=["GET"],
            response_class=Response,
            responses={200: {"content": {JSON_LD: {}}, "description": "the context document"}},
            name=f"notary_hub_context_{url.rsplit('/', 1)[1]}",
        )
    return router


def _serve(url: str) -> Callable[[], Response]:
    def notary_hub_context() -> Response:
        return Response(
            context_bytes(url),
            media_type=JSON_LD,
            headers={"Cache-Control": "public, max-age=3600", "Access-Control-Allow-Origin": "*"},
        )

    return notary_hub_context
