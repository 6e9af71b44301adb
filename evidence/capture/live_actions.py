"""What the live page may ask of a capture session (issue 15 item 4), checked before it
reaches the browser, and how each is done.

Every WebSocket text message from the page is one JSON object ``{"id": n, "type": …}``
plus the members its type takes (:data:`MESSAGES`); ``id`` (optional) comes back on its
answer. Pointer positions are CSS pixels of the remote viewport, as the page translated
them; the browser refuses one off the viewport. Any other shape, size or member is an
:class:`InvalidLiveMessage` the page is told about; nothing malformed reaches the
session.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from evidence.capture.errors import CaptureError
from evidence.capture.models import TARGET_MAX_LENGTH
from evidence.capture.session import MAX_NOTE, CaptureSession

__all__ = ["MAX_MESSAGE_BYTES", "MESSAGES", "InvalidLiveMessage", "LiveAction", "parse_message"]

MAX_MESSAGE_BYTES = 64 * 1024  # a note of MAX_NOTE characters, UTF-8, with room around it
MAX_TEXT = 1000  # characters typed in one message (the page batches keystrokes)
MAX_LABEL = 200
MAX_ID = 2**53 - 1  # a JavaScript safe integer


class InvalidLiveMessage(CaptureError):
    """A live page message that is not JSON, too large, of an unknown type, or with a
    missing, unknown or malformed member."""

    code = "invalid_live_message"
    status_code = 422


@dataclass(frozen=True)
class LiveAction:
    """A checked message: its type, its members, and the page's ``id`` for the answer."""

    kind: str
    args: Mapping[str, Any] = field(default_factory=dict)
    id: int | None = None


Check = Callable[[str, object], object]


def _number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidLiveMessage(f"{name} is a finite number")
    return float(value)


def _string(limit: int, *, empty: bool = False) -> Check:
    def check(name: str, value: object) -> str:
        if not isinstance(value, str) or not (0 if empty else 1) <= len(value) <= limit:
            raise InvalidLiveMessage(f"{name} is a string of {int(not empty)} to {limit} chars")
        return value

    return check


def _choice(*allowed: str) -> Check:
    def check(name: str, value: object) -> str:
        if value not in allowed:
            raise InvalidLiveMessage(f"{name} is one of {', '.join(allowed)}")
        return str(value)

    return check


def _flag(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise InvalidLiveMessage(f"{name} is true or false")
    return value


_URL = _string(TARGET_MAX_LENGTH)
#: type -> (required members, optional members), each with its check.
MESSAGES: dict[str, tuple[dict[str, Check], dict[str, Check]]] = {
    "click": ({"x": _number, "y": _number}, {"button": _choice("left", "middle", "right")}),
    "key": ({"key": _string(16)}, {}),
    "text": ({"text": _string(MAX_TEXT)}, {}),
    "scroll": ({"x": _number, "y": _number, "deltaY": _number}, {}),
    "navigate": ({"url": _URL}, {}),
    "screenshot": ({}, {"fullPage": _flag}),
    "clip": ({"edge": _choice("start", "end")}, {"label": _string(MAX_LABEL, empty=True)}),
    "save": ({"url": _URL}, {}),
    "note": ({"text": _string(MAX_NOTE)}, {}),
    "end": ({}, {}),
}


def _message_id(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_ID:
        raise InvalidLiveMessage("id is a non-negative integer")
    return value


def parse_message(text: str) -> LiveAction:
    """One message from the page, checked; :class:`InvalidLiveMessage` says what is wrong."""
    if len(text) > MAX_MESSAGE_BYTES or len(text.encode("utf-8", "replace")) > MAX_MESSAGE_BYTES:
        raise InvalidLiveMessage(f"a message is at most {MAX_MESSAGE_BYTES} bytes")
    try:
        body = json.loads(text)
    except (ValueError, RecursionError):
        raise InvalidLiveMessage("a message is a JSON object") from None
    if not isinstance(body, dict):
        raise InvalidLiveMessage("a message is a JSON object")
    kind = body.pop("type", None)
    ident = _message_id(body.pop("id", None))
    if not isinstance(kind, str) or kind not in MESSAGES:
        raise InvalidLiveMessage(f"type is one of {', '.join(MESSAGES)}")
    required, optional = MESSAGES[kind]
    unknown = sorted(set(body) - set(required) - set(optional))
    if unknown:
        raise InvalidLiveMessage(f"a {kind} message has no member {unknown[0][:40]!r}")
    missing = sorted(set(required) - set(body))
    if missing:
        raise InvalidLiveMessage(f"a {kind} message needs {missing[0]}")
    checks = required | optional
    args = {name: checks[name](name, value) for name, value in body.items()}
    return LiveAction(kind, args, ident)


async def perform(session: CaptureSession, action: LiveAction) -> dict[str, Any]:
    """Do ``action`` in ``session`` (in its event loop); what the page is answered."""
    a = action.args
    match action.kind:
        case "click":
            await session.click(a["x"], a["y"], a.get("button", "left"))
        case "key":
            await session.key(a["key"])
        case "text":
            await session.type_text(a["text"])
        case "scroll":
            await session.scroll(a["deltaY"], a["x"], a["y"])
        case "navigate":
            return {"url": await session.navigate(a["url"])}
        case "clip":
            session.mark_clip(a["edge"], a.get("label", ""))
            return {"edge": a["edge"]}
        case "screenshot" | "save" | "note":
            return await _item(session, action)
        case _:  # "end" is the socket's, never the session's
            raise InvalidLiveMessage(f"{action.kind} is not a session action")
    return {}


async def _item(session: CaptureSession, action: LiveAction) -> dict[str, Any]:
    a = action.args
    if action.kind == "screenshot":
        item = await session.screenshot(full_page=a.get("fullPage", False))
    elif action.kind == "save":
        item = await session.save_original(a["url"])
    else:
        item = await session.note(a["text"])
    return {"path": item.path, "sha256": item.sha256, "chainSeq": item.chain_seq}
