"""The device authorisation grant (RFC 8628) end to end in-process, on SQLite and PostgreSQL:
the device asks, the person signed in through the wallet sign-in answers on ``/device``,
the device polls the token endpoint. Attacks: replay, another client's code, guessed user
codes, forged CSRF, staff scopes a person does not hold, a revoked staff grant."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from oauth_server.caller import Caller
from oauth_server.cli_client import CLI_CLIENT_ID, ensure_cli_client
from oauth_server.clients import DEVICE_CODE, ClientSpec
from oauth_server.errors import OAuthError
from oauth_server.parts import OAuthParts
from oauth_server.signin import SigninService
from testkit.clock import SkippingClock
from testkit.device import approval_form, device_app, poll_form, session, sign_in, signin_service
from testkit.holder import did_key_holder
from testkit.oauth import ISSUER, basic, secret_client, token_claims

STAFF = did_key_holder("device-staff")
PERSON = did_key_holder("device-person")


@pytest.fixture
def signin(sessions: sessionmaker[Session], clock: SkippingClock) -> SigninService:
    return signin_service(sessions, clock)


@pytest.fixture
def http(oauth: OAuthParts, signin: SigninService) -> Iterator[TestClient]:
    ensure_cli_client(oauth.clients)
    with TestClient(device_app(oauth, signin), base_url=ISSUER, follow_redirects=False) as client:
        yield client


def _start(http: TestClient, scope: str = "admin", client_id: str = CLI_CLIENT_ID) -> Any:
    answer = http.post("/oauth/device_authorization", data={"client_id": client_id, "scope": scope})
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    return answer.json()


def _poll(http: TestClient, started: Any, client_id: str = CLI_CLIENT_ID) -> Any:
    return http.post("/oauth/token", data=poll_form(client_id, started["device_code"]))


def _answer(http: TestClient, cookie: str, started: Any, decision: str = "approve") -> Any:
    page = http.get("/device", params={"user_code": started["user_code"]}, headers=session(cookie))
    form = approval_form(page)
    data = {"user_code": form.user_code, "csrf_token": form.csrf_token, "decision": decision}
    return http.post("/device", data=data, headers=session(cookie))


def test_pending_slow_down_approve_then_a_token_for_the_person(
    http: TestClient, oauth: OAuthParts, signin: SigninService, clock: SkippingClock
) -> None:
    oauth.staff.grant(STAFF.did, ["admin", "consortium:vote"])
    started = _start(http, "admin consortium:vote")
    assert started["verification_uri"] == ISSUER + "/device"
    assert started["verification_uri_complete"].endswith("?user_code=" + started["user_code"])
    assert started["interval"] == 5 and started["expires_in"] == 600
    assert len(started["user_code"]) == 9 and started["user_code"][4] == "-"

    first = _poll(http, started)
    assert first.status_code == 400 and first.json()["error"] == "authorization_pending"
    too_soon = _poll(http, started)
    assert too_soon.json()["error"] == "slow_down"  # the interval is now 10 s
    clock.advance(6)
    assert _poll(http, started).json()["error"] == "slow_down"  # and now 15 s
    clock.advance(16)
    assert _poll(http, started).json()["error"] == "authorization_pending"

    cookie = sign_in(signin, STAFF)
    # Typed in lower case and without its dash, the code is the same code.
    typed = started["user_code"].replace("-", "").lower()
    page = http.get("/device", params={"user_code": typed}, headers=session(cookie))
    form = approval_form(page)
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert started["user_code"] in page.text and "Notary Hub command line" in page.text
    assert "vote on consortium applications" in page.text and 'id="refused"' not in page.text
    done = http.post(
        "/device",
        data={"user_code": form.user_code, "csrf_token": form.csrf_token, "decision": "approve"},
        headers=session(cookie),
    )
    assert done.status_code == 303 and done.headers["location"] == "/device/done?outcome=approved"

    clock.advance(16)
    tokens = _poll(http, started)
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    assert body["scope"] == "admin consortium:vote" and body["refresh_token"]
    claims = token_claims(body["access_token"])
    assert claims["client_id"] == CLI_CLIENT_ID and claims["sub"] != STAFF.did
    caller: Caller = oauth.validator.require(body["access_token"], ["admin"])
    assert caller.kind == "person" and caller.account_id == signin.current_account(cookie)

    # The refresh grant works for the public client, and keeps the staff scopes.
    refreshed = http.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": body["refresh_token"],
            "client_id": CLI_CLIENT_ID,
        },
    )
    assert refreshed.status_code == 200 and refreshed.json()["scope"] == "admin consortium:vote"


def test_deny_answers_access_denied(http: TestClient, signin: SigninService) -> None:
    started = _start(http, "admin")
    done = _answer(http, sign_in(signin, PERSON), started, "deny")
    assert done.status_code == 303 and done.headers["location"].endswith("outcome=denied")
    refused = _poll(http, started)
    assert refused.json()["error"] == "access_denied"


def test_an_unanswered_request_expires(
    http: TestClient, signin: SigninService, clock: SkippingClock
) -> None:
    cookie = sign_in(signin, STAFF)
    started = _start(http)
    clock.advance(601)
    assert _poll(http, started).json()["error"] == "expired_token"
    late = http.get("/device", params={"user_code": started["user_code"]}, headers=session(cookie))
    assert late.status_code == 410 and "expired" in late.text


def test_a_device_code_is_used_once_and_its_replay_revokes_the_token(
    http: TestClient, oauth: OAuthParts, signin: SigninService, clock: SkippingClock
) -> None:
    oauth.staff.grant(STAFF.did, ["admin"])
    started = _start(http)
    _answer(http, sign_in(signin, STAFF), started)
    tokens = _poll(http, started).json()
    clock.advance(6)
    replay = _poll(http, started)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert "already used" in replay.json()["error_description"]
    with pytest.raises(OAuthError, match="revoked"):
        oauth.validator.validate(tokens["access_token"])


def test_another_clients_device_code_is_refused(
    http: TestClient, oauth: OAuthParts, signin: SigninService
) -> None:
    other, secret = secret_client(
        oauth, grant_types=[DEVICE_CODE], scopes=["evidence:read"], platform_did=None
    )
    started = _start(http)
    oauth.staff.grant(STAFF.did, ["admin"])
    _answer(http, sign_in(signin, STAFF), started)
    stolen = http.post(
        "/oauth/token",
        data={"grant_type": DEVICE_CODE, "device_code": started["device_code"]},
        headers=basic(other, secret),
    )
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
    forged = _poll(http, {"device_code": "a-device-code-never-issued"})
    assert forged.json()["error"] == "invalid_grant"
    assert _poll(http, started).status_code == 200  # the rightful device still gets it


def test_only_clients_registered_for_the_grant_and_their_scopes(
    http: TestClient, oauth: OAuthParts
) -> None:
    plain, secret = secret_client(oauth)  # client credentials only
    refused = http.post(
        "/oauth/device_authorization", data={"scope": "evidence:read"}, headers=basic(plain, secret)
    )
    assert refused.json()["error"] == "unauthorized_client"
    wide = http.post(
        "/oauth/device_authorization", data={"client_id": CLI_CLIENT_ID, "scope": "evidence:read"}
    )
    assert wide.json()["error"] == "invalid_scope"
    unknown = http.post("/oauth/device_authorization", data={"client_id": "no-such-client"})
    assert unknown.json()["error"] == "invalid_client"


def test_a_person_without_a_staff_grant_cannot_get_admin(
    http: TestClient, oauth: OAuthParts, signin: SigninService
) -> None:
    oauth.clients.create(
        ClientSpec(
            name="Mixed tool",
            auth_method="none",
            grant_types=[DEVICE_CODE],
            scope_purposes={"evidence:read": "to list your deposits", "admin": "to operate"},
        ),
        client_id="mixed-tool",
    )
    cookie = sign_in(signin, PERSON)
    only_admin = _start(http, "admin")
    page = http.get(
        "/device", params={"user_code": only_admin["user_code"]}, headers=session(cookie)
    )
    form = approval_form(page)
    assert 'id="refused"' in page.text and "does not hold this staff scope" in page.text
    assert 'id="approve"' not in page.text  # nothing to grant: Deny only
    forced = http.post(
        "/device",
        data={"user_code": form.user_code, "csrf_token": form.csrf_token, "decision": "approve"},
        headers=session(cookie),
    )
    assert forced.status_code == 403 and forced.json()["error"] == "staff_scope_not_held"

    mixed = _start(http, "evidence:read admin", "mixed-tool")
    assert _answer(http, cookie, mixed).status_code == 303
    granted = _poll(http, mixed, "mixed-tool").json()
    assert granted["scope"] == "evidence:read"  # admin not granted
    with pytest.raises(OAuthError, match="admin"):
        oauth.validator.require(granted["access_token"], ["admin"])


def test_revoking_a_staff_grant_revokes_the_tokens_it_backed(
    http: TestClient, oauth: OAuthParts, signin: SigninService
) -> None:
    oauth.staff.grant(STAFF.did, ["admin", "consortium:vote"])
    cookie = sign_in(signin, STAFF)
    admin = _start(http, "admin")
    _answer(http, cookie, admin)
    admin_tokens = _poll(http, admin).json()
    vote = _start(http, "consortium:vote")
    _answer(http, cookie, vote)
    vote_tokens = _poll(http, vote).json()

    assert oauth.staff.revoke(STAFF.did, ["admin"]) == 1
    with pytest.raises(OAuthError, match="revoked"):
        oauth.validator.validate(admin_tokens["access_token"])
    refresh = http.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": admin_tokens["refresh_token"],
            "client_id": CLI_CLIENT_ID,
        },
    )
    assert refresh.json()["error"] == "invalid_grant"
    assert oauth.validator.require(vote_tokens["access_token"], ["consortium:vote"])
    with pytest.raises(OAuthError, match="holds none"):
        oauth.staff.revoke(STAFF.did, ["admin"])
    assert [(g.did, g.scope) for g in oauth.staff.listed()] == [(STAFF.did, "consortium:vote")]


def test_guessed_user_codes_are_rate_limited_and_forged_forms_refused(
    http: TestClient, signin: SigninService
) -> None:
    cookie = sign_in(signin, PERSON)
    started = _start(http)
    wrong = http.get("/device", params={"user_code": "BCDF-GHJK"}, headers=session(cookie))
    assert wrong.status_code == 404 and "no device is waiting for this code" in wrong.text
    page = http.get("/device", params={"user_code": started["user_code"]}, headers=session(cookie))
    form = approval_form(page)
    forged = http.post(
        "/device",
        data={"user_code": form.user_code, "csrf_token": "0" * 64, "decision": "approve"},
        headers=session(cookie),
    )
    assert forged.status_code == 403 and forged.json()["error"] == "csrf_token_invalid"
    # A form's token is for its own code: it cannot approve another device's request.
    other = _start(http)
    swapped = http.post(
        "/device",
        data={
            "user_code": other["user_code"],
            "csrf_token": form.csrf_token,
            "decision": "approve",
        },
        headers=session(cookie),
    )
    assert swapped.status_code == 403 and swapped.json()["error"] == "csrf_token_invalid"
    statuses = [
        http.get("/device", params={"user_code": f"BCDF-GHJ{c}"}, headers=session(cookie))
        for c in "BCDFGHJKLMNP"
    ]
    limited = [answer for answer in statuses if answer.status_code == 429]
    assert limited and int(limited[0].headers["retry-after"]) >= 1
    assert "too many codes tried" in limited[0].text


def test_the_page_sends_the_anonymous_to_sign_in_first(http: TestClient) -> None:
    answer = http.get("/device", params={"user_code": "BCDF-GHJK"})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/signin?next=%2Fdevice%3Fuser_code%3DBCDF-GHJK"
    posted = http.post("/device", data={"user_code": "BCDF-GHJK", "decision": "approve"})
    assert posted.status_code == 401 and posted.json()["error"] == "not_signed_in"
