"""HTTP and WebSocket of the live page (issue 15 item 4), thin.

- ``POST /captures/{id}/live-ticket`` (bearer, scope ``evidence:capture``, the owner's;
  someone else's capture is a 404): a fresh single-use ``liveUrl``;
- ``GET /captures/{id}/live?ticket=…``: spends the ticket, sets the capture's cookie and
  moves on to the clean address (:func:`.live_page.continue_page` says why not a 303);
- ``GET /captures/{id}/live``: the page, for the cookie's browser only;
- ``GET /captures/live-assets/live.js``, ``…/live.css``: its script and style;
- ``/captures/{id}/live/ws``: the WebSocket (:mod:`.live_socket`).

A refusal over HTTP is 403 ``{"error": "live_access_refused", "message"}``; over the
WebSocket a close with 1008 and the reason. The trust boundary is
:mod:`.live_access`'s docstring.
"""

# No ``from __future__ import annotations``: FastAPI reads the route signatures.
import contextlib
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, WebSocket
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocketDisconnect

from evidence.capture.errors import CaptureError
from evidence.capture.live_access import LiveAccess, LiveAccessRefused
from evidence.capture.live_page import SCRIPT, STYLE, continue_page, render_page
from evidence.capture.live_socket import refuse, same_origin, serve_viewer
from evidence.capture.runner import CaptureRunner
from evidence.capture.service import CaptureService
from evidence.capture.views import PREFIX
from evidence.principal import Principal

__all__ = ["COOKIE", "live_router", "live_url"]

COOKIE = "notary-hub-live"
NO_STORE = {"Cache-Control": "no-store"}
ASSET_CACHE = {"Cache-Control": "public, max-age=300"}
Ticket = Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


def live_url(capture_id: str, ticket: str) -> str:
    """The page's address with a ticket, relative to the hub (as ``Location`` is)."""
    return f"{PREFIX}/{capture_id}/live?ticket={ticket}"


def live_router(
    service: CaptureService, runner: CaptureRunner, capturer: Callable[..., Any]
) -> APIRouter:
    router = APIRouter(tags=["captures"])
    _add_ticket_routes(router, service, runner.access, capturer)
    _add_page_routes(router, runner)
    return router


def _add_ticket_routes(
    router: APIRouter, service: CaptureService, access: LiveAccess, capturer: Callable[..., Any]
) -> None:
    Capturer = Annotated[Principal, Depends(capturer)]

    @router.post(f"{PREFIX}/{{capture_id}}/live-ticket")
    def live_ticket(capture_id: str, caller: Capturer) -> dict[str, Any]:
        """A fresh single-use, short-lived ``liveUrl`` for the owner's browser; 409 when
        the capture has no live session on this hub."""
        service.owned(caller, capture_id)
        ticket = access.ticket(capture_id)
        return {"liveUrl": live_url(capture_id, ticket), "expiresIn": int(access.ticket_seconds)}

    @router.get(f"{PREFIX}/live-assets/live.js", include_in_schema=False)
    def live_script() -> Response:
        return Response(SCRIPT, media_type="text/javascript", headers=ASSET_CACHE)

    @router.get(f"{PREFIX}/live-assets/live.css", include_in_schema=False)
    def live_style() -> Response:
        return Response(STYLE, media_type="text/css", headers=ASSET_CACHE)


def _add_page_routes(router: APIRouter, runner: CaptureRunner) -> None:
    access = runner.access

    @router.get(f"{PREFIX}/{{capture_id}}/live", response_class=HTMLResponse)
    def live_page(capture_id: str, request: Request, ticket: Ticket = None) -> Response:
        """The live page for the browser holding this capture's cookie; with ``ticket``,
        the ticket spent for that cookie. 403 ``live_access_refused`` otherwise."""
        if ticket is not None:
            cookie = access.exchange(capture_id, ticket)
            answer = HTMLResponse(continue_page(capture_id), headers=NO_STORE)
            answer.set_cookie(
                COOKIE,
                cookie,
                path=f"{PREFIX}/{capture_id}/live",
                secure=request.url.scheme == "https",
                httponly=True,
                samesite="strict",
            )
            return answer
        access.check(capture_id, request.cookies.get(COOKIE))
        live = runner.live(capture_id)
        if live is None:
            raise LiveAccessRefused(f"capture {capture_id[:40]} has no live session here")
        return HTMLResponse(render_page(capture_id, live.url), headers=NO_STORE)

    @router.websocket(f"{PREFIX}/{{capture_id}}/live/ws")
    async def live_socket(websocket: WebSocket, capture_id: str) -> None:
        with contextlib.suppress(WebSocketDisconnect):
            try:
                if not same_origin(websocket):
                    raise LiveAccessRefused("the live socket is for this hub's own page")
                access.check(capture_id, websocket.cookies.get(COOKIE))
                live = runner.live(capture_id)
                if live is None:
                    raise LiveAccessRefused("this capture has no live session here")
            except CaptureError as refused:
                await refuse(websocket, refused.message)
                return

            async def end() -> object:
                return await run_in_threadpool(runner.end_live, capture_id)

            await serve_viewer(websocket, live, end)
