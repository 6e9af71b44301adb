"""Every bearer route checks its scope in one dependency (issue 13 §8, RFC 6750, RFC 9068).

Against a real hub (embedded chain, SQLite and PostgreSQL) whose app takes signed JWT
access tokens (``tests.notary_hub.access_tokens``) and, in dev mode, the bootstrap token.
The route table is checked whole: a route added without a scope, or with another one,
fails here.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from pydantic import SecretStr, ValidationError

from hub_kernel.errors import HubError
from notary_hub.app import create_app
from notary_hub.hub import Hub
from notary_hub.identity import API_SCOPES, MAX_TOKEN_LENGTH, Authenticator
from notary_hub.settings import KeySettings, ServerSettings, Settings
from oauth_server.caller import Caller
from tests.fixtures.hub_app import AUTH, HUB_TOKEN
from tests.notary_hub.access_tokens import AccessTokens, new_key

PLATFORM_DID = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"

# (method, path) -> the scope it needs. Paths as the app declares them.
SCOPED = {
    ("POST", "/anchoring/items"): "admin",
    ("GET", "/anchoring/queue"): "admin",
    ("GET", "/anchoring/items/{item_id}"): "admin",
    ("POST", "/1.0/registrar/operations/digest"): "registrar:relay",
    ("POST", "/1.0/registrar/operations"): "registrar:relay",
    ("POST", "/consortium/applications"): "consortium:vote",
    ("GET", "/consortium/applications"): "consortium:vote",
    ("GET", "/consortium/applications/{application_id}"): "consortium:vote",
    ("GET", "/consortium/proposals"): "consortium:vote",
    ("POST", "/consortium/proposals/{proposal_id}/votes"): "consortium:vote",
    ("GET", "/consortium/members"): "consortium:vote",
    ("GET", "/consortium/nodes"): "consortium:vote",
    ("POST", "/consortium/members/{address}/removal"): "consortium:vote",
    ("POST", "/admin/keys/rotate"): "admin",
    ("POST", "/credentials/issue"): "credentials:issue",
    ("POST", "/credentials/status"): "credentials:status",
    ("POST", "/evidence/deposits"): "evidence:deposit",
    ("POST", "/evidence/deposits:batch"): "evidence:deposit",
    ("GET", "/evidence/deposits"): "evidence:read",
    ("GET", "/evidence/deposits/{deposit_id}"): "evidence:read",
    ("GET", "/evidence/deposits/{deposit_id}/credential"): "evidence:read",
    ("GET", "/evidence/deposits/{deposit_id}/content"): "evidence:read",
    ("GET", "/evidence/deposits/{deposit_id}/letter.pdf"): "evidence:read",
    ("POST", "/evidence/letters/pdf"): "admin",
    ("POST", "/draws"): "draws:manage",
    ("POST", "/captures"): "evidence:capture",
    ("GET", "/captures"): "evidence:capture",
    ("GET", "/captures/{capture_id}"): "evidence:capture",
    ("POST", "/captures/{capture_id}/end"): "evidence:capture",
    ("GET", "/captures/{capture_id}/letter"): "evidence:capture",
    ("GET", "/captures/{capture_id}/package"): "evidence:capture",
    ("GET", "/captures/{capture_id}/letter.pdf"): "evidence:capture",
    ("POST", "/captures/{capture_id}/live-ticket"): "evidence:capture",
    ("POST", "/draws/{draw_id}/uploads"): "draws:manage",
    ("GET", "/draws/{draw_id}/uploads/{upload_id}"): "draws:manage",
    ("PATCH", "/draws/{draw_id}/uploads/{upload_id}"): "draws:manage",
    ("POST", "/draws/{draw_id}/uploads/{upload_id}/finish"): "draws:manage",
    ("POST", "/draws/{draw_id}/commit"): "draws:manage",
    ("POST", "/draws/{draw_id}/draw"): "draws:manage",
    ("GET", "/draws/{draw_id}/receipts"): "draws:manage",
    ("GET", "/draws/{draw_id}/credential"): "draws:manage",
    ("GET", "/draws/{draw_id}/winner-credentials"): "draws:manage",
    ("GET", "/draws/{draw_id}/letter.pdf"): "draws:manage",
}
# The unauthenticated surfaces ARCHITECTURE.md names (with the health checks and docs).
PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("POST", "/anchoring/receipts/verify"),
    ("GET", "/1.0/identifiers/{did:path}"),
    ("GET", "/contexts/notary-hub/v1"),
    ("GET", "/contexts/notary-hub/v2"),
    ("POST", "/credentials/verify"),
    ("POST", "/presentations/verify"),
    ("POST", "/presentations/challenges"),
    ("GET", "/credentials/status/{list_id}"),
    ("POST", "/evidence/verify"),
    ("GET", "/evidence/letters/deposits/{deposit_id}"),
    ("GET", "/evidence/letters/captures/{capture_id}"),
    ("GET", "/captures/live-assets/live.js"),
    ("GET", "/captures/live-assets/live.css"),
    ("GET", "/draws/{draw_id}"),
    ("GET", "/draws/{draw_id}/export/{name}"),
    ("GET", "/draws/{draw_id}/winners"),
    ("POST", "/draws/{draw_id}/check"),
    ("POST", "/draws/{draw_id}/receipt-credential"),
    ("GET", "/draws/{draw_id}/page"),
    ("GET", "/draws/{draw_id}/events"),
    ("GET", "/draws/page-assets/draw.js"),
    ("GET", "/draws/page-assets/draw.css"),
    ("GET", "/tsa/certs"),
    ("POST", "/tsa"),
    ("POST", "/rpc"),
    ("POST", "/rpc/"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/docs/static"),
    ("GET", "/redoc"),
    ("GET", "/openapi.json"),
}


@pytest.fixture
def tokens() -> AccessTokens:
    return AccessTokens()


@pytest.fixture
def app(hub_app: Hub, tokens: AccessTokens) -> FastAPI:
    return create_app(hub_app, run_background=False, token_validator=tokens)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    return {
        (method, str(route.path))
        for route in iter_route_contexts(app.routes)
        for method in (route.methods or {"GET"}) - {"HEAD"}  # a mount: GET its files
        if route.path
    }


def concrete(path: str) -> str:
    """The path with each parameter filled in, with a value no row has."""
    return re.sub(r"\{[^}]+\}", "0000000000000000", path)


def call(client: TestClient, method: str, path: str, token: str | None) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"} if token is not None else {}
    answer: httpx.Response
    if method == "GET":
        answer = client.get(concrete(path), headers=headers)
    elif method == "PATCH":  # an upload's chunk (evidence.draw.router)
        answer = client.patch(concrete(path), headers=headers, content=b"[]")
    else:
        # A JSON array is no route's body: whatever the route does next is its own 4xx.
        headers["content-type"] = "application/json"
        answer = client.post(concrete(path), headers=headers, content=b"[]")
    return answer


# The authorisation server and wallet sign-in authenticate by their own means (client
# authentication, initial access tokens, access tokens at userinfo, the browser's cookies),
# tested in tests/oauth_server; no bearer scope applies to them.
OWN_AUTHENTICATION = ("/oauth/", "/.well-known/", "/signin", "/account", "/device")
# A live capture's page and socket: the cookie its single-use ticket set, tested in
# tests/evidence/capture/test_live_page.py.
OWN_COOKIE = {("GET", "/captures/{capture_id}/live"), ("GET", "/captures/{capture_id}/live/ws")}
# The scraper's own static bearer (NOTARY_HUB_METRICS_TOKEN): tests/notary_hub/test_metrics.py.
OWN_BEARER = {("GET", "/metrics")}


def test_every_route_is_public_or_needs_a_scope(app: FastAPI) -> None:
    routes = {r for r in app_routes(app) if not r[1].startswith(OWN_AUTHENTICATION)}
    routes -= OWN_COOKIE | OWN_BEARER
    assert routes - PUBLIC - SCOPED.keys() == set(), "a route neither public nor scoped"
    assert SCOPED.keys() <= routes
    assert set(SCOPED.values()) == API_SCOPES


def test_the_public_routes_take_no_token(client: TestClient) -> None:
    for method, path in sorted(PUBLIC):
        answer = call(client, method, path, None)
        assert answer.status_code not in (401, 403), (method, path, answer.text)


def test_each_route_needs_its_scope_and_no_other(client: TestClient, tokens: AccessTokens) -> None:
    # One hub for the whole table: the scope check is the same on either database.
    for (method, path), scope in sorted(SCOPED.items()):
        check_route_scope(client, tokens, method, path, scope)


def check_route_scope(
    client: TestClient, tokens: AccessTokens, method: str, path: str, scope: str
) -> None:
    route = f"{method} {path}"
    missing = call(client, method, path, None)
    assert missing.status_code == 401, route
    assert missing.json()["error"] == "invalid_token", route
    # RFC 6750 §3.1: a request with no token gets the challenge without an error code.
    assert missing.headers["www-authenticate"] == 'Bearer realm="notary-hub"', route

    others = " ".join(sorted(API_SCOPES - {scope}))
    refused = call(client, method, path, tokens.issue(others, platform_did=PLATFORM_DID))
    assert refused.status_code == 403, (route, refused.text)
    assert refused.json()["error"] == "insufficient_scope", route
    assert repr(scope) in refused.json()["message"], route
    assert refused.headers["www-authenticate"] == (
        f'Bearer realm="notary-hub", error="insufficient_scope", scope="{scope}"'
    ), route

    admitted = call(client, method, path, tokens.issue(scope, platform_did=PLATFORM_DID))
    assert admitted.status_code < 500, (route, admitted.text)
    assert admitted.json().get("error") not in ("invalid_token", "insufficient_scope"), route
    bootstrap = call(client, method, path, HUB_TOKEN)  # dev mode: every scope
    assert bootstrap.json().get("error") not in ("invalid_token", "insufficient_scope"), route


def _refused_as_invalid(answer: httpx.Response, token: str, what: str = "") -> None:
    assert answer.status_code == 401, (what, answer.text)
    assert answer.json()["error"] == "invalid_token"
    assert answer.headers["www-authenticate"] == 'Bearer realm="notary-hub", error="invalid_token"'
    assert token not in answer.text  # the token is never echoed


def _tampered(token: str, **claims: object) -> str:
    header, payload, signature = token.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=="))
    body.update(claims)
    forged = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def test_forged_tampered_expired_and_misdirected_tokens_are_refused(
    client: TestClient, tokens: AccessTokens
) -> None:
    read = tokens.issue("evidence:read", platform_did=PLATFORM_DID)
    unsigned = base64.urlsafe_b64encode(b'{"alg":"none","typ":"at+jwt"}').rstrip(b"=").decode()
    attacks = {
        "forged": tokens.issue("admin", platform_did=PLATFORM_DID, key=new_key()),
        "tampered scope": _tampered(read, scope="evidence:read admin"),
        "alg none": f"{unsigned}.{read.split('.')[1]}.",
        "expired": tokens.issue("admin", platform_did=PLATFORM_DID, lifetime=-120),
        # A token another resource server was given, replayed here (RFC 9068 §4: aud).
        "other audience": tokens.issue("admin", audience="https://elsewhere.example/api"),
        # An ID token, or any JWT not typed at+jwt, is no access token (RFC 9068 §4).
        "not at+jwt": tokens.issue("admin", platform_did=PLATFORM_DID, typ="JWT"),
        "garbage": "not-a-token",
        "a bootstrap token's prefix": HUB_TOKEN[:-1],
    }
    for name, token in attacks.items():
        answer = client.post("/admin/keys/rotate", headers={"authorization": f"Bearer {token}"})
        _refused_as_invalid(answer, token, name)
    basic = client.get("/anchoring/queue", headers={"authorization": f"Basic {HUB_TOKEN}"})
    assert basic.status_code == 401
    assert basic.headers["www-authenticate"] == 'Bearer realm="notary-hub"'


def test_an_oversized_token_is_refused_before_it_is_parsed(
    client: TestClient, tokens: AccessTokens
) -> None:
    before = tokens.validated
    huge = "a" * (MAX_TOKEN_LENGTH + 1)
    answer = client.get("/anchoring/queue", headers={"authorization": f"Bearer {huge}"})
    assert answer.status_code == 401
    assert f"longer than {MAX_TOKEN_LENGTH}" in answer.json()["message"]
    assert tokens.validated == before


def test_a_validator_error_other_than_401_is_not_turned_into_one(
    client: TestClient, hub_app: Hub
) -> None:
    class Unavailable(HubError):
        code = "token_store_unavailable"
        status_code = 503

    class Down:
        def validate(self, token: str) -> Caller:
            raise Unavailable("the token store is down")

    with TestClient(create_app(hub_app, run_background=False, token_validator=Down())) as down:
        answer = down.get("/anchoring/queue", headers={"authorization": "Bearer a.b.c"})
    assert answer.status_code == 503
    assert answer.json()["error"] == "token_store_unavailable"


def test_without_an_authorisation_server_only_the_dev_bootstrap_is_known(
    hub_app: Hub, tokens: AccessTokens
) -> None:
    with TestClient(create_app(hub_app, run_background=False)) as bare:
        oauth = tokens.issue("admin", platform_did=PLATFORM_DID)
        _refused_as_invalid(
            bare.get("/anchoring/queue", headers={"authorization": f"Bearer {oauth}"}), oauth
        )
        assert bare.get("/anchoring/queue", headers=AUTH).status_code == 200


def test_production_refuses_static_tokens_at_start_and_at_the_door(
    hub_app: Hub, tokens: AccessTokens, tmp_path: Path
) -> None:
    key = KeySettings(master_key=SecretStr("11" * 32))
    with pytest.raises(ValidationError, match="dev-mode bootstrap only") as info:
        Settings(
            mode="production",
            data_dir=tmp_path,
            keys=key,
            server=ServerSettings(api_tokens=[SecretStr(HUB_TOKEN)]),
        )
    assert HUB_TOKEN not in str(info.value)
    # Even a hub whose tokens got past the settings does not take them outside dev mode.
    production = Settings(mode="production", data_dir=tmp_path, keys=key)
    hub = dataclasses.replace(hub_app, settings=production)
    assert hub.api_tokens == [HUB_TOKEN]
    with TestClient(create_app(hub, run_background=False, token_validator=tokens)) as served:
        _refused_as_invalid(served.get("/anchoring/queue", headers=AUTH), HUB_TOKEN)
        admin = tokens.issue("admin", platform_did=PLATFORM_DID)
        queue = served.get("/anchoring/queue", headers={"authorization": f"Bearer {admin}"})
        assert queue.status_code == 200


def test_scopes_must_be_the_hubs() -> None:
    with pytest.raises(ValueError, match="not a scope"):
        Authenticator().require_scope("evidence:delete")
