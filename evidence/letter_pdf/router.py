"""HTTP for PDF letters: the owner's download, the public status behind the QR, and signing
for the CLI. Thin: :class:`~evidence.letter_pdf.service.LetterPdfService` does the work.

* ``GET /evidence/deposits/{id}/letter.pdf``: the depositor's letter as a signed PDF, with
  the ownership rules and answers of ``GET …/credential`` (404, 403, 409 until certified).
  Made on demand, not cached: each copy carries a fresh status check and timestamp.
* ``GET /evidence/letters/deposits/{id}``: what the QR code links to, public; see the
  service for what it reveals.
* ``POST /evidence/letters/pdf`` (bearer token): ``{"letter": {...}}`` signed as a PDF,
  for ``notary-hub letter pdf`` while the hub serves.
"""

# No ``from __future__ import annotations``: FastAPI reads the route signatures, whose
# dependency annotations are local to the factory.
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from chain_adapter.rpc_limits import RateLimiter
from evidence.deposit.service import DepositService
from evidence.errors import InvalidDeposit
from evidence.http_body import read_json
from evidence.letter_pdf.build import LETTERS_PATH
from evidence.letter_pdf.service import LetterPdfService
from evidence.principal import Principal
from evidence.public_limits import public_limit

PDF_MEDIA_TYPE = "application/pdf"
SERVICE = "deposits"
MAX_LETTER_BYTES = 1 << 20
# The route reads its own body (size-capped), so its shape is documented here.
SIGN_REQUEST_BODY: dict[str, Any] = {
    "required": True,
    "description": "This notary's custody letter, to be signed as a PDF.",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["letter"],
                "properties": {
                    "letter": {"type": "object", "description": "a DataDepositCredential"}
                },
            }
        }
    },
}
PDF_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The letter as a PDF, signed PAdES-B-T, the credential attached.",
        "content": {PDF_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
    }
}


def _pdf(data: bytes, name: str) -> Response:
    headers = {
        "Content-Disposition": f'attachment; filename="{name}"',
        "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
    }
    return Response(data, media_type=PDF_MEDIA_TYPE, headers=headers)


def letter_pdf_router(
    pdfs: LetterPdfService,
    deposits: DepositService,
    principal: Callable[..., Any],
    authorised: Callable[..., Any],
    limiter: RateLimiter,
) -> APIRouter:
    router = APIRouter(tags=["evidence"])
    Caller = Annotated[Principal, Depends(principal)]

    @router.get(
        "/evidence/deposits/{deposit_id}/letter.pdf", response_model=None, responses=PDF_RESPONSE
    )
    def get_letter_pdf(deposit_id: str, caller: Caller) -> Response:
        """The custody letter as a signed PDF (PAdES-B-T), to the depositor only."""
        letter = deposits.credential(caller, deposit_id)
        data = pdfs.sign(letter, service=SERVICE, record_id=deposit_id)
        return _pdf(data, f"custody-letter-{deposit_id}.pdf")

    @router.get(
        f"{LETTERS_PATH}/{SERVICE}/{{deposit_id}}",
        response_model=None,
        dependencies=[Depends(public_limit(limiter))],
    )
    def letter_status(deposit_id: str) -> JSONResponse:
        """Whether this deposit's letter verifies now: public, and nothing of the deposit."""
        body, _ = pdfs.public_status(deposits.letter_for_status(deposit_id))
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    @router.post(
        f"{LETTERS_PATH}/pdf",
        response_model=None,
        responses=PDF_RESPONSE,
        dependencies=[Depends(authorised)],
        openapi_extra={"requestBody": SIGN_REQUEST_BODY},
    )
    async def sign_letter(request: Request) -> Response:
        """``{"letter": …}``, this notary's valid letter, as a signed PDF."""
        body = await read_json(request, MAX_LETTER_BYTES, "a letter")
        if not isinstance(body, dict) or not isinstance(body.get("letter"), dict):
            raise InvalidDeposit('send {"letter": <the custody letter>}')
        data = await run_in_threadpool(lambda: pdfs.sign(body["letter"], service=SERVICE))
        return _pdf(data, "custody-letter.pdf")

    return router
