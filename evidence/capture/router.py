"""HTTP for captures (``/captures``), scope ``evidence:capture`` (issue 15 items 1, 4, 7).

Thin: the work is in :mod:`evidence.capture.runner` (a session in the hub),
:mod:`evidence.capture.service` (the records) and :mod:`evidence.capture.sealing`.
Every route is the owner's: someone else's capture is a 404, as a missing one.

``POST /captures`` takes ``{"target": URL, "mode": "scripted" | "live", "steps": YAML
text or a JSON list, "limits": {...}}``; the steps are checked before anything starts
(422 ``invalid_capture_step`` with the index), a full hub is 503
``capture_sessions_full``, and the answer is 202 with the capture in ``preflight``; a
live capture's answer adds ``liveUrl``, the live page with a single-use ticket
(:mod:`evidence.capture.live_router`). ``POST …/end`` asks a running
capture to end (a second end is 409). Once ``sealed``, ``…/letter`` is the
``EvidenceCaptureCredential`` and ``…/package`` the WACZ, decrypted from the blob store.
"""

# No ``from __future__ import annotations``: FastAPI reads the route signatures.
import json
from collections.abc import Callable, Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from chain_adapter.rpc_limits import RateLimiter
from evidence.blob_store import BlobStore
from evidence.capture.letter_pdf import SERVICE, CaptureLetterPdfs
from evidence.capture.live_router import live_router, live_url
from evidence.capture.models import CaptureState
from evidence.capture.parts import CaptureParts
from evidence.capture.runner import CaptureRunner, LiveCapture, ScriptedCapture
from evidence.capture.service import CaptureService
from evidence.capture.service_errors import CaptureNotFound, InvalidCaptureRequest
from evidence.capture.views import PREFIX, capture_json
from evidence.http_body import read_json
from evidence.letter_pdf.build import LETTERS_PATH
from evidence.principal import Principal
from evidence.public_limits import public_limit

CREDENTIAL_MEDIA_TYPE = "application/vc"  # VC Data Model 2.0 §6.3
PDF_MEDIA_TYPE = "application/pdf"
MAX_REQUEST_BYTES = 128 * 1024  # the steps' 64 KiB and a little around them
_MEMBERS = frozenset({"target", "mode", "steps", "limits"})

START_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["target"],
                "properties": {
                    "target": {"type": "string", "format": "uri"},
                    "mode": {
                        "enum": ["scripted", "live"],
                        "default": "scripted",
                        "description": "live: a person drives it through the live page",
                    },
                    "steps": {
                        "oneOf": [{"type": "string"}, {"type": "array"}],
                        "description": "YAML steps (evidence.capture.steps), or a JSON list",
                    },
                    "limits": {
                        "type": "object",
                        "properties": {
                            "idleSeconds": {"type": "integer"},
                            "maxDurationSeconds": {"type": "integer"},
                            "downloadCapBytes": {"type": "integer"},
                        },
                    },
                },
            }
        }
    },
}


def capture_request(body: object) -> ScriptedCapture | LiveCapture:
    """The request body as a :class:`ScriptedCapture` or a :class:`LiveCapture`; 422 for
    anything else."""
    if not isinstance(body, dict):
        raise InvalidCaptureRequest("the body is a JSON object")
    unknown = sorted(set(body) - _MEMBERS)
    if unknown:
        raise InvalidCaptureRequest(f"unknown member {unknown[0][:40]!r}")
    target, steps, limits = body.get("target"), body.get("steps", ""), body.get("limits")
    mode = body.get("mode", "scripted")
    if not isinstance(target, str):
        raise InvalidCaptureRequest("target is the address to capture, a string")
    if limits is not None and not isinstance(limits, dict):
        raise InvalidCaptureRequest("limits are a JSON object")
    if mode == "live":
        if "steps" in body:
            raise InvalidCaptureRequest("a live capture takes no steps: a person drives it")
        return LiveCapture(target, limits)
    if mode != "scripted":
        raise InvalidCaptureRequest("mode is 'scripted' or 'live'")
    if isinstance(steps, list):
        steps = json.dumps(steps)  # a JSON list is YAML too
    if not isinstance(steps, str):
        raise InvalidCaptureRequest("steps are YAML text or a JSON list")
    return ScriptedCapture(target, steps, limits)


def capture_router(
    parts: CaptureParts,
    blobs: BlobStore,
    capturer: Callable[..., Any],
    *,
    limiter: RateLimiter,
) -> APIRouter:
    """``capturer``: the dependency giving the ``evidence:capture`` caller; ``limiter``:
    the per-address budget of the public checks (:mod:`evidence.public_limits`)."""
    router = APIRouter(tags=["captures"])
    _add_capture_routes(router, parts.service, parts.runner, blobs, capturer)
    router.include_router(live_router(parts.service, parts.runner, capturer))
    if parts.letter_pdfs is not None:
        _add_pdf_routes(router, parts.service, parts.letter_pdfs, capturer, limiter)
    return router


def _add_capture_routes(
    router: APIRouter,
    service: CaptureService,
    runner: CaptureRunner,
    blobs: BlobStore,
    capturer: Callable[..., Any],
) -> None:
    Capturer = Annotated[Principal, Depends(capturer)]

    @router.post(PREFIX, status_code=202, openapi_extra={"requestBody": START_BODY})
    async def start_capture(request: Request, caller: Capturer) -> JSONResponse:
        """Start a capture: 202, then poll ``GET /captures/{id}`` until sealed. A live
        one answers its ``liveUrl`` too: open it in the owner's browser (once)."""
        asked = capture_request(await read_json(request, MAX_REQUEST_BYTES, "a capture"))
        record, ticket = await run_in_threadpool(runner.start, caller, asked)
        headers = {"Location": f"{PREFIX}/{record.id}"}
        body = capture_json(record)
        if ticket is not None:
            body["liveUrl"] = live_url(record.id, ticket)
        return JSONResponse(body, status_code=202, headers=headers)

    @router.get(PREFIX)
    def list_captures(caller: Capturer) -> dict[str, Any]:
        """The caller's captures, newest first."""
        return {"captures": [capture_json(r) for r in service.list_for(caller)]}

    @router.get(f"{PREFIX}/{{capture_id}}")
    def get_capture(capture_id: str, caller: Capturer) -> dict[str, Any]:
        return capture_json(service.owned(caller, capture_id))

    @router.post(f"{PREFIX}/{{capture_id}}/end", status_code=202)
    def end_capture(capture_id: str, caller: Capturer) -> dict[str, Any]:
        """Ask a running capture to end; it is then sealed. A second end is 409."""
        return capture_json(runner.end(caller, capture_id))

    @router.get(f"{PREFIX}/{{capture_id}}/letter", response_model=None)
    def capture_letter(capture_id: str, caller: Capturer) -> JSONResponse:
        """The ``EvidenceCaptureCredential``; 409 until the capture is sealed."""
        record = service.owned(caller, capture_id)
        service.require(record, CaptureState.SEALED)
        assert record.letter is not None
        return JSONResponse(record.letter, media_type=CREDENTIAL_MEDIA_TYPE)

    @router.get(f"{PREFIX}/{{capture_id}}/package", response_model=None)
    def capture_package(capture_id: str, caller: Capturer) -> StreamingResponse:
        """The sealed WACZ, decrypted (each chunk checked) from the blob store."""
        record = service.owned(caller, capture_id)
        service.require(record, CaptureState.SEALED)
        assert record.package_sha256 is not None
        chunks: Iterator[bytes] = blobs.open(record.package_sha256)
        headers = {
            "Content-Disposition": f'attachment; filename="capture-{capture_id}.wacz"',
            "Content-Length": str(record.package_size),
        }
        return StreamingResponse(chunks, media_type="application/zip", headers=headers)


def _add_pdf_routes(
    router: APIRouter,
    service: CaptureService,
    pdfs: CaptureLetterPdfs,
    capturer: Callable[..., Any],
    limiter: RateLimiter,
) -> None:
    Capturer = Annotated[Principal, Depends(capturer)]

    @router.get(f"{PREFIX}/{{capture_id}}/letter.pdf", response_model=None)
    def capture_letter_pdf(capture_id: str, caller: Capturer) -> Response:
        """The letter as a signed PDF (PAdES-B-T), the credential attached; made on
        demand, each copy with a fresh check and timestamp. 409 until sealed."""
        record = service.owned(caller, capture_id)
        service.require(record, CaptureState.SEALED)
        assert record.letter is not None
        headers = {"Content-Disposition": f'attachment; filename="capture-{capture_id}.pdf"'}
        return Response(pdfs.pdf(record.letter), media_type=PDF_MEDIA_TYPE, headers=headers)

    @router.get(
        f"{LETTERS_PATH}/{SERVICE}/{{capture_id}}",
        response_model=None,
        dependencies=[Depends(public_limit(limiter))],
    )
    def capture_letter_status(capture_id: str) -> JSONResponse:
        """Public, what the PDF's QR code links to: whether the letter verifies now;
        nothing of the capture. 404 for no sealed capture."""
        record = service.record(capture_id)
        if record.state is not CaptureState.SEALED or record.letter is None:
            raise CaptureNotFound(f"no sealed capture {capture_id[:40]!r}")
        body, verified = pdfs.public_status(record.letter)
        return JSONResponse(body, status_code=200 if verified else 422)
