"""Who may open a live capture's page (issue 15 item 4): a ticket is spent once, only for
its capture and only while fresh; a cookie lets its browser into its capture alone; no
secret is kept in the clear; a capture whose session is over lets nobody in."""

from __future__ import annotations

import pytest

from evidence.capture.errors import CaptureStateConflict
from evidence.capture.live_access import MAX_COOKIES, LiveAccess, LiveAccessRefused

A, B = "a" * 32, "b" * 32


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_ticket_is_spent_once_for_a_cookie_bound_to_its_capture() -> None:
    access = LiveAccess()
    access.open(A)
    access.open(B)
    ticket = access.ticket(A)
    assert len(ticket) >= 43  # 256 random bits, base64url
    with pytest.raises(LiveAccessRefused):
        access.exchange(B, ticket)  # another capture's page
    cookie = access.exchange(A, ticket)
    with pytest.raises(LiveAccessRefused, match="already used"):
        access.exchange(A, ticket)  # replayed
    access.check(A, cookie)
    with pytest.raises(LiveAccessRefused, match="no access to capture"):
        access.check(B, cookie)  # a cookie for another capture
    with pytest.raises(LiveAccessRefused, match="its owner's"):
        access.check(A, None)
    with pytest.raises(LiveAccessRefused):
        access.check(A, cookie[:-1] + ("A" if cookie[-1] != "A" else "B"))


def test_a_ticket_expires_and_secrets_are_kept_only_hashed() -> None:
    clock = Clock()
    access = LiveAccess(ticket_seconds=120, clock=clock)
    access.open(A)
    stale, fresh = access.ticket(A), access.ticket(A)
    clock.now += 121
    with pytest.raises(LiveAccessRefused, match="expired"):
        access.exchange(A, stale)
    newer = access.ticket(A)
    cookie = access.exchange(A, newer)
    kept = repr(vars(access)) + repr(access._grants[A])
    assert fresh not in kept and newer not in kept and cookie not in kept


def test_a_closed_session_lets_nobody_in_and_gives_no_ticket() -> None:
    access = LiveAccess()
    with pytest.raises(CaptureStateConflict, match="no live session"):
        access.ticket(A)
    access.open(A)
    ticket = access.ticket(A)
    cookie = access.exchange(A, access.ticket(A))
    access.close(A)
    with pytest.raises(LiveAccessRefused):
        access.exchange(A, ticket)
    with pytest.raises(LiveAccessRefused):
        access.check(A, cookie)


def test_the_oldest_cookie_goes_when_too_many_browsers_were_let_in() -> None:
    access = LiveAccess()
    access.open(A)
    cookies = [access.exchange(A, access.ticket(A)) for _ in range(MAX_COOKIES + 1)]
    with pytest.raises(LiveAccessRefused):
        access.check(A, cookies[0])
    for cookie in cookies[1:]:
        access.check(A, cookie)
