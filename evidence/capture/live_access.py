"""Who may open a live capture's page (issue 15 item 4: "Only the session's owner can
open it"): single-use tickets bought with the owner's bearer token, spent for a cookie.

Trust boundary. The API knows a caller by its bearer token (scope ``evidence:capture``);
the live page is for a person's browser, which must never hold that token (it would sit
in a URL, the history and the reach of every script on the page). So:

- The owner's bearer buys a *ticket* (``POST /captures`` in live mode answers with a
  ``liveUrl`` carrying one; ``POST /captures/{id}/live-ticket`` gives a fresh one): 256
  random bits, kept only as their SHA-256, bound to one capture, valid for
  :data:`TICKET_SECONDS` and spent by the first ``GET /captures/{id}/live?ticket=…``.
- Spending it sets a *cookie*: another 256 random bits, kept as SHA-256, bound to the
  same capture; ``HttpOnly`` (no script reads it), ``SameSite=Strict`` (no other site's
  page sends it), ``Path=/captures/{id}/live`` (sent to that page and its WebSocket only),
  ``Secure`` over https. The page and its WebSocket accept nothing else, and the
  WebSocket also checks ``Origin`` (a same-site page of another origin would send a
  Strict cookie too); one viewer at a time (:class:`~.live_session.LiveSession`).
- Whoever holds the ticket before it is spent, or the owner's browser afterwards, is
  the owner as far as the page can tell: send a ``liveUrl`` only over TLS and to the
  owner. A ticket spent by someone else leaves the owner refused, which they see, and
  the owner can end the capture through the API at any time.
- All of it lives in the memory of the process running the session, and ends with the
  session: a restarted hub has no live session left to open (it is interrupted).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from evidence.capture.errors import CaptureError, CaptureStateConflict

__all__ = ["TICKET_SECONDS", "LiveAccess", "LiveAccessRefused"]

TICKET_SECONDS = 120.0  # long enough to open a link, short enough to be worth little
MAX_TICKETS = 8  # unspent tickets a capture may have; the oldest is dropped beyond
MAX_COOKIES = 8  # browsers let in per capture; the oldest is dropped beyond


class LiveAccessRefused(CaptureError):
    """The live page or its WebSocket opened without this capture's cookie, with a
    ticket that is unknown, spent or expired, or while another viewer is connected."""

    code = "live_access_refused"
    status_code = 403


@dataclass
class _Grants:
    tickets: dict[bytes, float] = field(default_factory=dict)  # digest -> expiry
    cookies: list[bytes] = field(default_factory=list)  # digests, oldest first


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()


class LiveAccess:
    """The tickets and cookies of every live capture this process runs (thread-safe:
    issued from request threads, checked on the event loop)."""

    def __init__(
        self,
        *,
        ticket_seconds: float = TICKET_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ticket_seconds = ticket_seconds
        self._clock = clock
        self._grants: dict[str, _Grants] = {}
        self._lock = threading.Lock()

    def open(self, capture_id: str) -> None:
        """``capture_id``'s live session runs here: tickets may be issued for it."""
        with self._lock:
            self._grants.setdefault(capture_id, _Grants())

    def close(self, capture_id: str) -> None:
        """The session is over: every ticket and cookie of it is void."""
        with self._lock:
            self._grants.pop(capture_id, None)

    def ticket(self, capture_id: str) -> str:
        """A fresh single-use ticket; 409 when no live session of ``capture_id`` runs here."""
        ticket = secrets.token_urlsafe(32)
        with self._lock:
            grants = self._grants.get(capture_id)
            if grants is None:
                raise CaptureStateConflict(
                    f"capture {capture_id[:40]} has no live session running on this hub"
                )
            self._prune(grants)
            grants.tickets[_digest(ticket)] = self._clock() + self.ticket_seconds
            while len(grants.tickets) > MAX_TICKETS:
                del grants.tickets[next(iter(grants.tickets))]
        return ticket

    def exchange(self, capture_id: str, ticket: str) -> str:
        """Spend ``ticket`` (whatever happens next, it is gone) for a cookie value."""
        cookie = secrets.token_urlsafe(32)
        with self._lock:
            grants = self._grants.get(capture_id)
            expiry = grants.tickets.pop(_digest(ticket), None) if grants is not None else None
            if grants is None or expiry is None or expiry <= self._clock():
                raise LiveAccessRefused(
                    "this ticket is unknown, already used or expired; the capture's owner "
                    f"gets a fresh one with POST /captures/{capture_id[:40]}/live-ticket"
                )
            grants.cookies.append(_digest(cookie))
            del grants.cookies[:-MAX_COOKIES]
        return cookie

    def check(self, capture_id: str, cookie: str | None) -> None:
        """Whether ``cookie`` lets its browser into ``capture_id``'s live page; 403 if not."""
        if not cookie:
            raise LiveAccessRefused(
                "the live page is its owner's: open the liveUrl the API answered with "
                "(it carries a single-use ticket)"
            )
        with self._lock:
            grants = self._grants.get(capture_id)
            if grants is None or _digest(cookie) not in grants.cookies:
                raise LiveAccessRefused(
                    f"this browser has no access to capture {capture_id[:40]}'s live page"
                )

    def _prune(self, grants: _Grants) -> None:
        now = self._clock()
        for digest in [d for d, expiry in grants.tickets.items() if expiry <= now]:
            del grants.tickets[digest]
