"""HTTP for draws (``/draws``): the organiser's steps, and the public reads.

Thin: the work is in :mod:`evidence.draw.service` (the state machine),
:mod:`evidence.draw.uploads`, :mod:`evidence.draw.committing` and
:mod:`evidence.draw.drawing`. The organiser's routes take the ``draws:manage``
dependency (a :class:`~evidence.principal.Principal`); ``GET /draws/{id}``, the export
files and the winners are public.

A list is uploaded in a resumable session: ``POST …/uploads`` with its ``format`` and
``size``, then ``PATCH …/uploads/{upload}`` chunks, each with ``Upload-Offset`` (or
``Content-Range: bytes a-b/n``) saying where it starts, streamed into the blob store as
it arrives; ``HEAD``/``GET`` tells where to resume; ``POST …/finish`` accepts the list.
"""

# No ``from __future__ import annotations``: FastAPI reads the route signatures.
import json
import re
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from chain_adapter.rpc_limits import RateLimiter
from evidence.draw.entry_receipts import EntryReceipts
from evidence.draw.errors import InvalidReceipt
from evidence.draw.letter_pdf import DrawLetterPdfs
from evidence.draw.letters import DrawLetters
from evidence.draw.live import draw_events
from evidence.draw.openapi import (
    CHUNK_BODY,
    CREATE_BODY,
    DRAW_BODY,
    RECEIPT_BODY,
    RECEIPT_CREDENTIAL_BODY,
    START_UPLOAD_BODY,
)
from evidence.draw.page import SCRIPT, STYLE, render_page
from evidence.draw.parts import DrawParts
from evidence.draw.publication import MAX_PAGE, DrawPublication
from evidence.draw.receipt_credentials import ReceiptCredentials
from evidence.draw.service import DrawService
from evidence.draw.service_errors import InvalidDrawRequest
from evidence.draw.uploads import ChunkWriter, UploadRecord, offset_headers
from evidence.draw.views import PREFIX, draw_json, upload_json
from evidence.draw.winner_letters import WinnerLetters
from evidence.errors import InvalidDeposit, TruncatedUpload
from evidence.http_body import FEED_BYTES, read_json
from evidence.principal import Principal
from evidence.public_limits import public_limit

CREDENTIAL_MEDIA_TYPE = "application/vc"  # VC Data Model 2.0 §6.3
ASSET_CACHE = {"Cache-Control": "public, max-age=300"}
MAX_CONFIG_BYTES = 1 << 20  # a configuration with up to 1000 categories, generously
MAX_RECEIPT_BYTES = 64 << 10  # a receipt's proof of 64 hashes is under 5 KiB
_CONTENT_RANGE = re.compile(r"bytes (\d{1,15})-(\d{1,15})/(\d{1,15}|\*)")


async def _stream_chunk(request: Request, writer: ChunkWriter, length: int | None) -> UploadRecord:
    """The request body into ``writer`` (written off the event loop), then recorded;
    aborted, keeping nothing, on a short body or any failure."""
    received = 0
    try:
        buffer = bytearray()
        async for piece in request.stream():
            buffer += piece
            received += len(piece)
            if len(buffer) >= FEED_BYTES:
                data = bytes(buffer)
                buffer.clear()
                await run_in_threadpool(writer.write, data)
        if buffer:
            await run_in_threadpool(writer.write, bytes(buffer))
        if length is not None and received != length:
            raise TruncatedUpload(f"Content-Range says {length} bytes, the body has {received}")
        return await run_in_threadpool(writer.commit)
    except ClientDisconnect:
        writer.abort()
        raise TruncatedUpload("the client went away before the chunk was complete") from None
    except BaseException:
        writer.abort()
        raise


def chunk_offset(upload_offset: str | None, content_range: str | None) -> tuple[int, int | None]:
    """Where a chunk starts, and its length when ``Content-Range`` (RFC 9110 §14.4) says."""
    if upload_offset is not None:
        if not upload_offset.isdigit() or len(upload_offset) > 15:
            raise InvalidDrawRequest("Upload-Offset must be a byte offset")
        return int(upload_offset), None
    match = _CONTENT_RANGE.fullmatch(content_range or "")
    if match is None:
        raise InvalidDrawRequest(
            "say where the chunk starts: Upload-Offset: N, or Content-Range: bytes A-B/SIZE"
        )
    first, last = int(match[1]), int(match[2])
    if last < first:
        raise InvalidDrawRequest("Content-Range ends before it starts")
    return first, last - first + 1


def draw_router(
    parts: DrawParts, organiser: Callable[..., Any], *, limiter: RateLimiter
) -> APIRouter:
    """The draw routes; ``organiser`` is the dependency giving the ``draws:manage`` caller;
    ``limiter``: the per-address budget of the public checks that sign
    (:mod:`evidence.public_limits`, shared with ``/evidence/verify``)."""
    router = APIRouter(prefix=PREFIX, tags=["draws"])
    _add_draw_routes(router, parts.service, organiser)
    _add_upload_routes(router, parts.service, organiser)
    _add_step_routes(router, parts, organiser)
    _add_page_routes(router, parts.service)
    _add_public_routes(router, parts.publication)
    _add_receipt_routes(router, parts.receipts, organiser, limiter)
    if parts.letters is not None and parts.winner_letters is not None:
        _add_letter_routes(router, parts.letters, parts.winner_letters, organiser)
    if parts.letter_pdfs is not None:
        _add_pdf_route(router, parts.letter_pdfs, organiser)
    if parts.receipt_credentials is not None:
        _add_receipt_credential_route(router, parts.receipt_credentials, limiter)
    return router


def _add_receipt_credential_route(
    router: APIRouter, credentials: ReceiptCredentials, limiter: RateLimiter
) -> None:
    @router.post(
        "/{draw_id}/receipt-credential",
        status_code=201,
        response_model=None,
        dependencies=[Depends(public_limit(limiter))],
        openapi_extra={"requestBody": RECEIPT_CREDENTIAL_BODY},
    )
    async def receipt_credential(draw_id: str, request: Request) -> JSONResponse:
        """An entrant's receipt signed as a ``DrawEntryReceiptCredential`` to their DID,
        once checked against the committed list: 409 before the commit, 422
        ``invalid_receipt`` for a forged or damaged one, 422 ``entrant_not_did``; 429 past
        the address's budget."""
        body = await _read_receipt(request)
        credential = await run_in_threadpool(credentials.issue, draw_id, body)
        return JSONResponse(credential, status_code=201, media_type=CREDENTIAL_MEDIA_TYPE)


async def _read_receipt(request: Request) -> Any:
    try:
        return await read_json(request, MAX_RECEIPT_BYTES, "a receipt")
    except InvalidDeposit as exc:  # too big, or no JSON: no receipt at all
        raise InvalidReceipt(exc.message) from None


def _add_pdf_route(router: APIRouter, pdfs: DrawLetterPdfs, organiser: Callable[..., Any]) -> None:
    Organiser = Annotated[Principal, Depends(organiser)]

    @router.get("/{draw_id}/letter.pdf", response_model=None)
    def result_letter_pdf(draw_id: str, caller: Organiser) -> Response:
        """The result letter as a signed PDF (PAdES-B-T), the credential attached."""
        headers = {
            "Content-Disposition": f'attachment; filename="draw-{draw_id}.pdf"',
            "Cache-Control": "private, no-store",
        }
        return Response(pdfs.pdf(caller, draw_id), media_type="application/pdf", headers=headers)


def _add_letter_routes(
    router: APIRouter, letters: DrawLetters, winners: WinnerLetters, organiser: Callable[..., Any]
) -> None:
    Organiser = Annotated[Principal, Depends(organiser)]

    @router.get("/{draw_id}/winner-credentials", response_model=None)
    def winner_letters(draw_id: str, caller: Organiser) -> StreamingResponse:
        """The ``DrawWinnerCredential`` of each winner whose identifier is a DID (JSON
        Lines), for the organiser to hand on."""
        lines = winners.download(caller, draw_id)
        headers = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}
        return StreamingResponse(lines, media_type="application/jsonl", headers=headers)

    @router.get("/{draw_id}/credential", response_model=None)
    def result_letter(draw_id: str, caller: Organiser) -> JSONResponse:
        """The organiser's ``DrawResultCredential``, signed by the notary once drawn."""
        letter = letters.letter(caller, draw_id)
        return JSONResponse(letter, media_type=CREDENTIAL_MEDIA_TYPE)


def _add_receipt_routes(
    router: APIRouter,
    receipts: EntryReceipts,
    organiser: Callable[..., Any],
    limiter: RateLimiter,
) -> None:
    Organiser = Annotated[Principal, Depends(organiser)]

    @router.get("/{draw_id}/receipts", response_model=None)
    def organiser_receipts(draw_id: str, caller: Organiser) -> StreamingResponse:
        """Every entrant's entry receipt (JSON Lines, entry order), once committed: the
        organiser hands each entrant theirs (identifier, salt, inclusion proof)."""
        lines = receipts.for_organiser(caller, draw_id)
        headers = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}
        return StreamingResponse(lines, media_type="application/jsonl", headers=headers)

    @router.post(
        "/{draw_id}/check",
        dependencies=[Depends(public_limit(limiter))],
        openapi_extra={"requestBody": RECEIPT_BODY},
    )
    async def check_receipt(draw_id: str, request: Request) -> dict[str, Any]:
        """An entrant's receipt checked against the published list and result: entered,
        and once drawn, ``drawn`` with ``rank`` and ``tier`` (0: waiting list); 422
        ``invalid_receipt`` for a forged or damaged one."""
        body = await _read_receipt(request)
        return await run_in_threadpool(receipts.check, draw_id, body)


def _add_page_routes(router: APIRouter, service: DrawService) -> None:
    @router.get("/page-assets/draw.js", include_in_schema=False)
    def page_script() -> Response:
        return Response(SCRIPT, media_type="text/javascript", headers=ASSET_CACHE)

    @router.get("/page-assets/draw.css", include_in_schema=False)
    def page_style() -> Response:
        return Response(STYLE, media_type="text/css", headers=ASSET_CACHE)

    @router.get("/{draw_id}/page", response_class=HTMLResponse)
    def draw_page(draw_id: str) -> HTMLResponse:
        """The public page: configuration, commitments, countdown, live reveal, winners,
        receipt check."""
        return HTMLResponse(render_page(draw_json(service.record(draw_id))))

    @router.get("/{draw_id}/events", response_model=None)
    async def draw_events_stream(
        draw_id: str, pace: Annotated[float, Query(ge=0, le=10)] = 0.3
    ) -> StreamingResponse:
        """Server-Sent Events for the big screen: ``state``, then ``seed``, ``winner``
        (ranked, tier by tier), ``done``."""
        events = await draw_events(service, draw_id, pace=pace)
        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        return StreamingResponse(events, media_type="text/event-stream", headers=headers)


def _add_step_routes(router: APIRouter, parts: DrawParts, organiser: Callable[..., Any]) -> None:
    Organiser = Annotated[Principal, Depends(organiser)]

    @router.post("/{draw_id}/commit")
    def commit_draw(draw_id: str, caller: Organiser) -> dict[str, Any]:
        """Commit the configuration, the list and the beacon round on chain (RFC 3161
        timestamped), once; 409 out of order, 422 for too few entrants or an empty
        category, 409 ``round_too_soon`` if the round is under the minimum lead away."""
        return draw_json(parts.committer.commit(caller, draw_id))

    @router.post("/{draw_id}/draw", response_model=None, openapi_extra={"requestBody": DRAW_BODY})
    async def run_draw(draw_id: str, request: Request, caller: Organiser) -> dict[str, Any]:
        """Draw: the beacon round from the relays, or ``{"beacon": {round, randomness,
        signature}}`` pasted (verified the same), the declared ``publicValues``; once, and
        not before the round (409 ``beacon_not_published`` with ``Retry-After``)."""
        body = await _optional_json(request)
        record = await run_in_threadpool(parts.runner.run, caller, draw_id, body)
        return draw_json(record)


async def _optional_json(request: Request) -> Any:
    """The JSON body, or None for an empty one."""
    raw = bytearray()
    async for piece in request.stream():
        raw += piece
        if len(raw) > MAX_CONFIG_BYTES:
            raise InvalidDrawRequest(f"a draw request is at most {MAX_CONFIG_BYTES} bytes")
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise InvalidDrawRequest("the draw request is not valid JSON") from None


def _add_public_routes(router: APIRouter, publication: DrawPublication) -> None:
    @router.get("/{draw_id}/export/{name}", response_model=None)
    def export_file(draw_id: str, name: str) -> StreamingResponse:
        """One file of the public export (docs/draw-algorithm.md §6), once it is out."""
        exported = publication.export_file(draw_id, name)
        headers = {
            "Content-Disposition": f'attachment; filename="{exported.name}"',
            "X-Content-Type-Options": "nosniff",
        }
        if exported.size is not None:
            headers["Content-Length"] = str(exported.size)
        return StreamingResponse(exported.chunks, media_type=exported.media_type, headers=headers)

    @router.get("/{draw_id}/winners")
    def winners(
        draw_id: str,
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    ) -> dict[str, Any]:
        """The result by rank (tier 0: the waiting list), a page at a time."""
        return publication.winners(draw_id, offset, limit)


def _add_draw_routes(
    router: APIRouter, service: DrawService, organiser: Callable[..., Any]
) -> None:
    Organiser = Annotated[Principal, Depends(organiser)]

    @router.post(
        "", status_code=201, response_model=None, openapi_extra={"requestBody": CREATE_BODY}
    )
    async def create_draw(request: Request, caller: Organiser) -> JSONResponse:
        """Create a draw from its configuration (docs/draw-algorithm.md §1) without
        ``algorithm``, ``drawId`` and ``notaryCommitment``, which the hub sets; the
        ``beacon`` names its ``round`` (and optionally ``network``, ``fallback``)."""
        body = await read_json(request, MAX_CONFIG_BYTES, "a draw configuration")
        record = await run_in_threadpool(service.create, caller, body)
        location = f"{PREFIX}/{record.id}"
        return JSONResponse(draw_json(record), status_code=201, headers={"Location": location})

    @router.get("/{draw_id}")
    def get_draw(draw_id: str) -> dict[str, Any]:
        """A draw, public: configuration, commitment, result (never an entrant's identity)."""
        return draw_json(service.record(draw_id))


def _add_upload_routes(
    router: APIRouter, service: DrawService, organiser: Callable[..., Any]
) -> None:
    Organiser = Annotated[Principal, Depends(organiser)]

    @router.post(
        "/{draw_id}/uploads",
        status_code=201,
        response_model=None,
        openapi_extra={"requestBody": START_UPLOAD_BODY},
    )
    async def start_upload(draw_id: str, request: Request, caller: Organiser) -> JSONResponse:
        """Start uploading the list: ``{"format": "csv" | "jsonl", "size": bytes}``."""
        body = await read_json(request, 4096, "an upload request")
        if not isinstance(body, dict):
            raise InvalidDrawRequest("the upload request must be a JSON object")
        record = await run_in_threadpool(
            service.start_upload, caller, draw_id, body.get("format"), body.get("size")
        )
        location = f"{PREFIX}/{draw_id}/uploads/{record.id}"
        headers = {"Location": location, **offset_headers(record.offset)}
        return JSONResponse(upload_json(record), status_code=201, headers=headers)

    @router.get("/{draw_id}/uploads/{upload_id}", response_model=None)
    def get_upload(draw_id: str, upload_id: str, caller: Organiser) -> JSONResponse:
        """Where the upload stands (``Upload-Offset``), and a refused list's problems."""
        record = service.upload(caller, draw_id, upload_id)
        return JSONResponse(upload_json(record), headers=offset_headers(record.offset))

    @router.patch(
        "/{draw_id}/uploads/{upload_id}",
        response_model=None,
        openapi_extra={"requestBody": CHUNK_BODY},
    )
    async def append_chunk(
        draw_id: str,
        upload_id: str,
        request: Request,
        caller: Organiser,
        upload_offset: Annotated[str | None, Header(alias="Upload-Offset")] = None,
        content_range: Annotated[str | None, Header(alias="Content-Range")] = None,
    ) -> JSONResponse:
        """Append a chunk at the upload's offset, streamed; 409 with the offset otherwise."""
        offset, length = chunk_offset(upload_offset, content_range)
        writer = await run_in_threadpool(service.chunk_writer, caller, draw_id, upload_id, offset)
        record = await _stream_chunk(request, writer, length)
        return JSONResponse(upload_json(record), headers=offset_headers(record.offset))

    @router.post("/{draw_id}/uploads/{upload_id}/finish")
    def finish_upload(draw_id: str, upload_id: str, caller: Organiser) -> dict[str, Any]:
        """Accept the uploaded list (§2); 422 ``invalid_entrants`` names bad rows by line
        (all of them: ``GET`` the upload), 400 ``upload_incomplete`` if it is cut off."""
        return draw_json(service.finish(caller, draw_id, upload_id))
