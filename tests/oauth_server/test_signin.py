"""The sign-in service: requests bound to a browser, fetched once, answered once, completed
once into a browser session (SQLite and PostgreSQL, the hub's real verifier)."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from jwcrypto.jwk import JWK
from sqlalchemy.orm import Session, sessionmaker

from credentials.verifier import Verifier
from did_registry.did_key import DidKeyResolver
from did_registry.dispatch import DispatchingResolver
from oauth_server.accounts import AccountStore
from oauth_server.signin import SigninService, safe_next
from oauth_server.signin_errors import (
    InvalidVpToken,
    NonceMismatch,
    NotThisBrowser,
    RequestObjectFetched,
    SigninAlreadyAnswered,
    SigninRequestExpired,
    SigninRequestNotFound,
    UnsafeNext,
)
from testkit.holder import Holder, did_key_holder
from wallet.openid4vp_login import LoginLink, LoginRequest, read_request
from wallet.presentations import build_presentation

ORIGIN = "https://hub.example"
BROWSER, OTHER_BROWSER = "binding-of-the-starting-browser", "binding-of-another-browser"


class Clock:
    def __init__(self) -> None:
        self.now = float(int(time.time()))  # presentations are signed at the real time

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(sessions: sessionmaker[Session], clock: Clock) -> SigninService:
    verifier = Verifier(DispatchingResolver({"key": DidKeyResolver()}), chain=None, clock=clock)
    return SigninService(
        sessions,
        AccountStore(sessions, clock=clock),
        verifier,
        JWK.generate(kty="OKP", crv="Ed25519"),
        origin=ORIGIN,
        request_lifetime=300,
        session_lifetime=3600,
        clock=clock,
    )


def _fetch(service: SigninService, request_id: str, clock: Clock) -> LoginRequest:
    token = service.request_object(request_id)
    link = LoginLink(ORIGIN, f"{ORIGIN}/signin/requests/{request_id}/object")
    return read_request(token, service.public_jwks(), link, now=int(clock.now))


def _token(holder: Holder, request: LoginRequest, nonce: str | None = None) -> str:
    presentation: Any = build_presentation(
        [],
        holder=holder.did,
        verification_method=holder.method,
        private_key=holder.key,
        challenge=nonce or request.nonce,
        domain=request.client_id,
        require_credentials=False,
    )
    return json.dumps({"did_ldp": [presentation]})


def test_a_sign_in_from_start_to_session(service: SigninService, clock: Clock) -> None:
    alice = did_key_holder("alice")
    started = service.start(BROWSER, "/account?tab=consents")
    assert started.deep_link.startswith("openid4vp://?client_id=https%3A%2F%2Fhub.example")
    assert service.status(started.id, BROWSER).progress == "pending"

    request = _fetch(service, started.id, clock)
    assert request.code == started.code
    assert service.status(started.id, BROWSER).progress == "fetched"

    assert service.answer(started.id, _token(alice, request), request.state) == alice.did
    with pytest.raises(NotThisBrowser):
        service.status(started.id, OTHER_BROWSER)
    with pytest.raises(NotThisBrowser):
        service.status(started.id, None)

    done = service.status(started.id, BROWSER)
    assert done.progress == "signed_in" and done.next_path == "/account?tab=consents"
    assert done.session_cookie is not None and len(done.session_cookie) >= 43
    again = service.status(started.id, BROWSER)
    assert again.progress == "completed" and again.session_cookie is None  # one cookie only

    account = service.current_account(done.session_cookie)
    assert account == service.accounts.account_for_did(alice.did)
    assert service.current_account("a-guessed-cookie") is None
    assert service.current_account(None) is None
    clock.now += 3600
    assert service.current_account(done.session_cookie) is None  # the session expired


def test_logging_out_ends_the_session(service: SigninService, clock: Clock) -> None:
    started = service.start(BROWSER, None)
    request = _fetch(service, started.id, clock)
    service.answer(started.id, _token(did_key_holder("bob"), request), request.state)
    cookie = service.status(started.id, BROWSER).session_cookie
    assert started.next_path == "/" and service.current_account(cookie) is not None
    assert service.signed_in_at(cookie) == int(clock.now)  # the ID token's auth_time
    clock.now += 60
    assert service.signed_in_at(cookie) == int(clock.now) - 60
    service.end_session(cookie)
    assert service.current_account(cookie) is None
    assert service.signed_in_at(cookie) is None


def test_the_request_object_is_served_once(service: SigninService, clock: Clock) -> None:
    started = service.start(BROWSER, None)
    _fetch(service, started.id, clock)
    with pytest.raises(RequestObjectFetched):
        service.request_object(started.id)
    with pytest.raises(SigninRequestNotFound):
        service.request_object("no-such-request-id")


def test_a_request_expires_within_minutes(service: SigninService, clock: Clock) -> None:
    alice = did_key_holder("alice")
    started = service.start(BROWSER, None)
    request = _fetch(service, started.id, clock)
    clock.now += 300
    with pytest.raises(SigninRequestExpired):
        service.answer(started.id, _token(alice, request), request.state)
    with pytest.raises(SigninRequestExpired):
        service.status(started.id, BROWSER)
    unfetched = service.start(BROWSER, None)
    clock.now += 301
    with pytest.raises(SigninRequestExpired):
        service.request_object(unfetched.id)


def test_a_response_is_accepted_once(service: SigninService, clock: Clock) -> None:
    alice = did_key_holder("alice")
    started = service.start(BROWSER, None)
    request = _fetch(service, started.id, clock)
    token = _token(alice, request)
    service.answer(started.id, token, request.state)
    with pytest.raises(SigninAlreadyAnswered, match="replay"):
        service.answer(started.id, token, request.state)


def test_a_failed_answer_leaves_the_request_answerable(
    service: SigninService, clock: Clock
) -> None:
    alice = did_key_holder("alice")
    first, second = service.start(BROWSER, None), service.start(BROWSER, None)
    one, two = _fetch(service, first.id, clock), _fetch(service, second.id, clock)
    with pytest.raises(NonceMismatch):  # the other session's nonce
        service.answer(first.id, _token(alice, two), one.state)
    assert service.answer(first.id, _token(alice, one), one.state) == alice.did


def test_an_unfetched_request_cannot_be_answered(service: SigninService) -> None:
    started = service.start(BROWSER, None)
    with pytest.raises(InvalidVpToken, match="no wallet fetched"):
        service.answer(started.id, "{}", "state")


@pytest.mark.parametrize("target", ["/", "/account", "/authorize?client_id=a&x=%2F%2F"])
def test_next_may_be_a_path_on_the_hub(target: str) -> None:
    assert safe_next(target) == target


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/path",
        "/\\evil.example",
        "javascript:alert(1)",
        "evil.example",
        "/account\r\nSet-Cookie: x=y",
        "/" + "a" * 2048,
    ],
)
def test_next_elsewhere_is_refused(target: str) -> None:
    with pytest.raises(UnsafeNext):
        safe_next(target)


def test_of_two_concurrent_answers_one_wins(service: SigninService, clock: Clock) -> None:
    alice = did_key_holder("alice")
    started = service.start(BROWSER, None)
    request = _fetch(service, started.id, clock)
    token = _token(alice, request)
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def race() -> None:
        barrier.wait()
        try:
            outcomes.append(service.answer(started.id, token, request.state))
        except SigninAlreadyAnswered as refused:
            outcomes.append(refused.code)

    threads = [threading.Thread(target=race) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == sorted([alice.did, "signin_response_replayed"])
