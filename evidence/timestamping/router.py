"""``POST /tsa``: the embedded timestamp authority over the RFC 3161 §3.4 HTTP transport;
``GET /tsa/certs``: its certificate chain, leaf first, as ``application/pem-certificate-chain``
(RFC 8555 §9.1, https://www.rfc-editor.org/rfc/rfc8555#section-9.1), the URL new letters
name in ``tsaCertificates`` so a verifier can choose to trust its root.

Thin: the media type and a size cap here, every RFC 3161 decision in
:func:`~evidence.timestamping.tsa_http.handle_request` (which answers malformed
requests with a rejection TimeStampResp, as §2.4.2 asks, rather than an HTTP error).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from evidence.errors import InvalidDeposit, UploadTooLarge
from evidence.timestamping.tsa_http import (
    CERTIFICATE_CHAIN_MEDIA_TYPE,
    MAX_REQUEST_BYTES,
    TIMESTAMP_QUERY_MEDIA_TYPE,
    TIMESTAMP_REPLY_MEDIA_TYPE,
    TSA_CERTS_PATH,
    TimestampResponder,
    handle_request,
    pem_chain,
)

# The handler reads the DER body itself (bounded); this only documents it (RFC 3161 §3.4).
TSA_REQUEST_BODY: dict[str, Any] = {
    "required": True,
    "description": "a DER-encoded TimeStampReq (RFC 3161 §2.4.1)",
    "content": {TIMESTAMP_QUERY_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
}


class NotATimestampQuery(InvalidDeposit):
    code = "unsupported_media_type"
    status_code = 415


def tsa_router(authority: TimestampResponder, certificates: Sequence[bytes] = ()) -> APIRouter:
    """The TSA's routes; ``certificates`` (DER, leaf first) are served at ``/tsa/certs``."""
    router = APIRouter(tags=["timestamping"])
    chain = pem_chain(certificates)

    @router.get(TSA_CERTS_PATH, response_class=Response)
    def tsa_certificates() -> Response:
        return Response(chain, media_type=CERTIFICATE_CHAIN_MEDIA_TYPE)

    @router.post("/tsa", response_class=Response, openapi_extra={"requestBody": TSA_REQUEST_BODY})
    async def timestamp(request: Request) -> Response:
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != TIMESTAMP_QUERY_MEDIA_TYPE:
            raise NotATimestampQuery(f"send a DER TimeStampReq as {TIMESTAMP_QUERY_MEDIA_TYPE}")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_REQUEST_BYTES:
                raise UploadTooLarge(f"a timestamp request is at most {MAX_REQUEST_BYTES} bytes")
        reply = await run_in_threadpool(handle_request, bytes(body), authority)
        return Response(reply, media_type=TIMESTAMP_REPLY_MEDIA_TYPE)

    return router
