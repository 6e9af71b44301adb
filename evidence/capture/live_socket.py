"""The live page's WebSocket, ``/captures/{id}/live/ws`` (issue 15 item 4), RFC 6455.

From the hub: one ``hello`` (the remote viewport in CSS pixels, the capture's limits, the
current address), then the screencast as binary JPEG messages as the browser draws
them, ``result``/``error`` answers (``id`` echoed), ``url`` when the page moves on by
itself (a link, a form, a redirect), and a last ``ended`` with the reason, before a
normal close (1000). From the page: the JSON messages of
:mod:`.live_actions`, at most :data:`MESSAGE_RATE` a second (a burst of
:data:`MESSAGE_BURST`) and :data:`MAX_PENDING` unanswered; beyond, or malformed, they are
answered with an ``error`` and dropped, never a crash.

A refusal (no cookie for this capture, another origin, a second viewer) is the
connection accepted and closed at once with 1008, policy violation (RFC 6455 §7.4.1),
its reason in words; who may connect is :mod:`.live_access`'s.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from starlette.websockets import WebSocket, WebSocketDisconnect

from chain_adapter.rpc_limits import RateLimiter
from evidence.capture.browser_errors import SessionEnded
from evidence.capture.errors import CaptureError
from evidence.capture.live_access import LiveAccessRefused
from evidence.capture.live_actions import InvalidLiveMessage, LiveAction, parse_message
from evidence.capture.live_session import LiveSession
from evidence.capture.live_viewer import Viewer

__all__ = ["POLICY_VIOLATION", "LiveTooBusy", "refuse", "same_origin", "serve_viewer"]

log = logging.getLogger(__name__)
POLICY_VIOLATION = 1008  # RFC 6455 §7.4.1
MESSAGE_RATE = 30.0
MESSAGE_BURST = 60
MAX_PENDING = 32
START_TIMEOUT = 180.0  # the pre-flight may take a while; a page opened early waits for it
SECOND_VIEWER_WAIT = 1.5  # a reloaded page's old socket is closing: let it go first
_REASON_BYTES = 123  # a close frame's reason, RFC 6455 §5.5


class LiveTooBusy(CaptureError):
    """More messages than the live page may send, or too many still unanswered."""

    code = "live_too_busy"
    status_code = 429


def same_origin(websocket: WebSocket) -> bool:
    """The socket was opened by a page of this hub: ``Origin`` names the ``Host`` asked."""
    origin, host = websocket.headers.get("origin"), websocket.headers.get("host")
    if not origin or not host:
        return False
    try:
        return urlsplit(origin).netloc.lower() == host.lower()
    except ValueError:
        return False


def _reason(text: str) -> str:
    return text.encode("utf-8")[:_REASON_BYTES].decode("utf-8", "ignore")


async def refuse(websocket: WebSocket, message: str) -> None:
    """Accepted only to say why it is closed (a refused handshake carries no reason)."""
    await websocket.accept()
    await websocket.close(POLICY_VIOLATION, _reason(message))


def _error(ident: int | None, error: CaptureError) -> dict[str, Any]:
    return {"type": "error", "id": ident, "error": error.code, "message": error.message}


async def serve_viewer(
    websocket: WebSocket, live: LiveSession, end: Callable[[], Awaitable[object]]
) -> None:
    """Everything after the cookie was checked: wait for the session to start, take the
    viewer's place (or refuse a second viewer), then stream and take actions until the
    session ends or the page goes."""
    await websocket.accept()
    try:
        viewer = await _connect(websocket, live)
    except SessionEnded as ended:
        await websocket.send_json({"type": "ended", "outcome": ended.message})
        await websocket.close(1000, _reason("the capture session has ended"))
        return
    except LiveAccessRefused as refused:
        await websocket.close(POLICY_VIOLATION, _reason(refused.message))
        return
    try:
        await websocket.send_json(_hello(live))
        tasks = {
            asyncio.create_task(_pump(websocket, viewer)),
            asyncio.create_task(_receive(websocket, live, viewer, end)),
        }
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for task in done:
            error = task.exception()
            if error is not None and not isinstance(error, WebSocketDisconnect):
                log.warning("live page socket of %s: %r", live.capture_id, error)
    finally:
        live.disconnect(viewer)


async def _connect(websocket: WebSocket, live: LiveSession) -> Viewer:
    if not live.ready.is_set():
        await websocket.send_json({"type": "status", "state": "starting"})
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_TIMEOUT
        while not live.ready.is_set() and loop.time() < deadline:
            await asyncio.sleep(0.2)
    if live.outcome is not None:
        raise SessionEnded(live.outcome)
    if not live.ready.is_set():
        raise SessionEnded("the capture session did not start in time")
    waited = 0.0
    while True:
        try:
            return live.connect(asyncio.get_running_loop())
        except LiveAccessRefused:
            if waited >= SECOND_VIEWER_WAIT:
                raise
        await asyncio.sleep(0.1)
        waited += 0.1


def _hello(live: LiveSession) -> dict[str, Any]:
    assert live.viewport is not None
    width, height = live.viewport
    return {
        "type": "hello",
        "capture": live.capture_id,
        "viewport": {"width": width, "height": height},
        "url": live.url,
        "limits": live.limits.to_json(),
    }


async def _pump(websocket: WebSocket, viewer: Viewer) -> None:
    """The answers first, then the latest frame; the end last."""
    while True:
        messages, frame = await viewer.next()
        for message in messages:
            await websocket.send_text(json.dumps(message))
        if viewer.ended is not None and not messages:
            await websocket.send_text(json.dumps({"type": "ended", "outcome": viewer.ended}))
            await websocket.close(1000, _reason("the capture session has ended"))
            return
        if frame is not None:
            await websocket.send_bytes(frame.jpeg)


async def _receive(
    websocket: WebSocket, live: LiveSession, viewer: Viewer, end: Callable[[], Awaitable[object]]
) -> None:
    budget = RateLimiter(MESSAGE_RATE, MESSAGE_BURST, max_clients=1)
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text")
        action: LiveAction | None = None
        try:
            if budget.take("viewer") > 0:
                raise LiveTooBusy(f"at most {MESSAGE_RATE:g} messages a second; this one dropped")
            if text is None:
                raise InvalidLiveMessage("the page sends JSON text messages")
            action = parse_message(text)
            if action.kind == "end":
                await end()
                viewer.post({"type": "result", "id": action.id, "action": "end", "result": {}})
                continue
            if viewer.pending >= MAX_PENDING:
                raise LiveTooBusy(f"{MAX_PENDING} actions are still under way; wait for them")
            future = live.submit(action)
        except CaptureError as error:
            viewer.post(_error(action.id if action else None, error))
            continue
        viewer.pending += 1
        future.add_done_callback(functools.partial(_answered, viewer, action))


def _answered(
    viewer: Viewer, action: LiveAction, future: concurrent.futures.Future[dict[str, Any]]
) -> None:
    """In the session's thread, as the action is done: its answer to the viewer."""
    if future.cancelled():
        message = _error(action.id, SessionEnded("the session ended before this was done"))
    elif isinstance(error := future.exception(), CaptureError):
        message = _error(action.id, error)
    elif error is not None:
        log.error("live action %s failed", action.kind, exc_info=error)
        message = _error(action.id, CaptureError(f"the {action.kind} failed"))
    else:
        message = {
            "type": "result",
            "id": action.id,
            "action": action.kind,
            "result": future.result(),
        }
    viewer.answer_threadsafe(message)
