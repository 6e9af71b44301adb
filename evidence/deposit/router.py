"""HTTP for deposits: create one (a streamed multipart upload or a JSON digest), read it back.

Thin: the work is in :class:`evidence.deposit.service.DepositService`. Bodies are read once,
capped, by :mod:`evidence.http_body`: a multipart upload streams through
:class:`evidence.multipart.FormUploadParser` into the blob store as it arrives. ``Idempotency-Key``
(draft-ietf-httpapi-idempotency-key-header) makes a retried POST return the first
deposit. Downloads are attachments (RFC 6266 ``Content-Disposition`` with an RFC 8187
``filename*``), typed ``application/octet-stream`` with ``nosniff`` so stored content
never renders in the hub's origin, and carry the content's digest as ``Repr-Digest``
(RFC 9530 §3).
"""

# No ``from __future__ import annotations``: FastAPI reads the route signatures, whose
# dependency annotations are local to the factory.
import base64
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from evidence.deposit.batch import MAX_BATCH_BYTES, BatchTooLarge, InvalidBatch, results_json
from evidence.deposit.listing import DepositQuery
from evidence.deposit.models import DepositRecord, DepositState
from evidence.deposit.openapi import BATCH_REQUEST_BODY, BATCH_RESPONSES, DEPOSIT_REQUEST_BODY
from evidence.deposit.service import DepositService
from evidence.digests import SHA256, SM3, digest_multibase
from evidence.errors import InvalidDeposit
from evidence.http_body import FEED_BYTES, media_type, read_form, read_json
from evidence.multipart import (
    MAX_FIELD_BYTES,
    MAX_FIELDS,
    MAX_FRAMING_BYTES,
    FormUploadParser,
)
from evidence.principal import Principal

PREFIX = "/evidence/deposits"
MAX_JSON_BYTES = 256 * 1024  # a digest deposit's metadata, generously
CREDENTIAL_MEDIA_TYPE = "application/vc"  # VC Data Model 2.0 §6.3 (IANA-registered)


def _iso(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def deposit_json(record: DepositRecord) -> dict[str, Any]:
    """A deposit as the API shows it."""
    body: dict[str, Any] = {
        "id": record.id,
        "state": record.state.value,
        "depositor": record.depositor,
        "title": record.title,
        "description": record.description,
        "tags": list(record.tags),
        "mediaType": record.media_type,
        "fileName": record.file_name,
        "size": record.size,
        "sha256": record.sha256.hex(),
        "sm3": record.sm3.hex() if record.sm3 is not None else None,
        "digestMultibase": digest_multibase(SHA256, record.sha256),
        "sm3DigestMultibase": digest_multibase(SM3, record.sm3) if record.sm3 else None,
        "contentStored": record.content_stored,
        "receivedAt": _iso(record.received_at),
        "timestampedAt": _iso(record.timestamped_at),
        "anchoredAt": _iso(record.anchored_at),
        "certifiedAt": _iso(record.certified_at),
        "tsa": record.tsa,
        "genTime": _iso(record.gen_time),
        "links": {"self": f"{PREFIX}/{record.id}"},
    }
    if record.content_stored:
        body["links"]["content"] = f"{PREFIX}/{record.id}/content"
    if record.state is DepositState.CERTIFIED:
        body["links"]["credential"] = f"{PREFIX}/{record.id}/credential"
    if record.attempts:
        body["retry"] = {"attempts": record.attempts, "lastError": record.last_error}
    return body


def content_disposition(file_name: str | None, deposit_id: str) -> str:
    """``attachment`` with an ASCII fallback name and the exact UTF-8 one (RFC 6266 §4.3)."""
    name = file_name or deposit_id
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def evidence_router(
    service: DepositService,
    depositing: Callable[..., Any],  # FastAPI dependencies giving a Principal, sync or async
    reading: Callable[..., Any],
    *,
    feed_bytes: int = FEED_BYTES,
) -> APIRouter:
    """The deposit routes; ``depositing`` and ``reading`` are the dependencies saying who
    calls, each requiring its own scope (:func:`evidence.principal.principal_dependency`)."""
    router = APIRouter(prefix=PREFIX, tags=["evidence"])
    _add_create_route(router, service, depositing, feed_bytes)
    _add_batch_route(router, service, depositing)
    _add_read_routes(router, service, reading)
    return router


def _add_create_route(
    router: APIRouter,
    service: DepositService,
    principal: Callable[..., Any],
    feed_bytes: int,
) -> None:
    Caller = Annotated[Principal, Depends(principal)]
    IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]
    max_body = service.max_upload_bytes + MAX_FIELDS * MAX_FIELD_BYTES + MAX_FRAMING_BYTES

    async def receive_form(request: Request, caller: Principal, key: str | None) -> DepositRecord:
        parser = FormUploadParser(
            request.headers.get("content-type"),
            service.open_form_upload,
            max_file_bytes=service.max_upload_bytes,
        )
        form = await read_form(request, parser, max_body=max_body, feed_bytes=feed_bytes)
        return await run_in_threadpool(
            lambda: service.deposit_form(caller, form, idempotency_key=key)
        )

    async def receive_json(request: Request, caller: Principal, key: str | None) -> DepositRecord:
        body = await read_json(request, MAX_JSON_BYTES, "a JSON deposit")
        return await run_in_threadpool(
            lambda: service.deposit_json(caller, body, idempotency_key=key)
        )

    @router.post(
        "",
        status_code=201,
        response_model=None,
        openapi_extra={"requestBody": DEPOSIT_REQUEST_BODY},
    )
    async def create_deposit(
        request: Request,
        caller: Caller,
        idempotency_key: IdempotencyKey = None,
    ) -> JSONResponse:
        """Deposit a file (multipart/form-data: a ``file`` part and metadata parts) or a
        digest (JSON). 201 with the deposit and its ``Location``."""
        kind = media_type(request)
        if kind == "multipart/form-data":
            record = await receive_form(request, caller, idempotency_key)
        elif kind == "application/json" or kind.endswith("+json"):
            record = await receive_json(request, caller, idempotency_key)
        else:
            raise InvalidDeposit("send multipart/form-data (a file) or application/json (a digest)")
        return JSONResponse(
            deposit_json(record),
            status_code=201,
            headers={"Location": f"{PREFIX}/{record.id}"},
        )


def _add_batch_route(
    router: APIRouter, service: DepositService, principal: Callable[..., Any]
) -> None:
    Caller = Annotated[Principal, Depends(principal)]
    IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]

    @router.post(
        ":batch",
        response_model=None,
        openapi_extra={"requestBody": BATCH_REQUEST_BODY},
        responses=BATCH_RESPONSES,
    )
    async def create_deposit_batch(
        request: Request, caller: Caller, idempotency_key: IdempotencyKey = None
    ) -> JSONResponse:
        """Up to 1,000 digest deposits, each with its own ``idempotencyKey``
        (:mod:`evidence.deposit.batch`): 200 with one result per item; not atomic."""
        if idempotency_key is not None:
            raise InvalidBatch("a batch takes an idempotencyKey per item, not Idempotency-Key")
        if media_type(request) != "application/json":
            raise InvalidBatch("a batch is application/json")
        body = await read_json(request, MAX_BATCH_BYTES, "a batch", too_large=BatchTooLarge)
        results = await run_in_threadpool(lambda: service.deposit_batch(caller, body))
        return JSONResponse(results_json(results, deposit_json))


def _add_list_route(
    router: APIRouter, service: DepositService, principal: Callable[..., Any]
) -> None:
    Caller = Annotated[Principal, Depends(principal)]

    @router.get("")
    def list_own_deposits(
        caller: Caller,
        state: Annotated[str | None, Query(max_length=32)] = None,
        received_after: Annotated[str | None, Query(alias="receivedAfter", max_length=64)] = None,
        received_before: Annotated[str | None, Query(alias="receivedBefore", max_length=64)] = None,
        limit: Annotated[str | None, Query(max_length=8)] = None,
        cursor: Annotated[str | None, Query(max_length=256)] = None,
    ) -> dict[str, Any]:
        """The caller's deposits, newest first (:mod:`evidence.deposit.listing`): filter by
        ``state``, ``receivedAfter``, ``receivedBefore`` (RFC 3339); ``limit`` up to 100;
        ``links.next`` while more remain."""
        query = DepositQuery.parse(
            state=state,
            received_after=received_after,
            received_before=received_before,
            limit=limit,
            cursor=cursor,
        )
        records, next_cursor = service.list_own(caller, query)
        links = {"self": PREFIX + query.link()}
        if next_cursor is not None:
            links["next"] = PREFIX + query.link(next_cursor)
        return {"items": [deposit_json(r) for r in records], "links": links}


def _add_read_routes(
    router: APIRouter, service: DepositService, principal: Callable[..., Any]
) -> None:
    _add_list_route(router, service, principal)
    Caller = Annotated[Principal, Depends(principal)]

    @router.get("/{deposit_id}")
    def get_deposit(deposit_id: str, caller: Caller) -> dict[str, Any]:
        return deposit_json(service.get(caller, deposit_id))

    @router.get("/{deposit_id}/credential", response_model=None)
    def get_credential(deposit_id: str, caller: Caller, refresh: bool = False) -> JSONResponse:
        """The custody letter (a ``DataDepositCredential``); 409 ``not_certified`` with
        ``Retry-After`` until certified. ``refresh=1``: re-issued with the anchor receipts
        of the extra chains now available (a new credential; the old stays valid)."""
        letter = service.credential(caller, deposit_id, refresh=refresh)
        return JSONResponse(letter, media_type=CREDENTIAL_MEDIA_TYPE)

    @router.get("/{deposit_id}/content", response_model=None)
    def get_content(deposit_id: str, caller: Caller) -> StreamingResponse:
        """The deposited file, to its owner only, re-checked against its SHA-256."""
        record, chunks = service.open_content(caller, deposit_id)
        sha256 = base64.b64encode(record.sha256).decode()
        headers = {
            "Content-Disposition": content_disposition(record.file_name, record.id),
            "X-Content-Type-Options": "nosniff",
            "Repr-Digest": f"sha-256=:{sha256}:",
            "Cache-Control": "private, no-store",
        }
        if record.size is not None:
            headers["Content-Length"] = str(record.size)
        return StreamingResponse(chunks, media_type="application/octet-stream", headers=headers)
