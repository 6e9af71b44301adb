"""The routes as the whole hub serves them (``open_hub`` wires the ``oauth`` settings),
the token endpoint's rate limit, and the settings' refusals in production."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from hub_kernel.keystore import MemoryKeyStore
from notary_hub.hub import Hub
from notary_hub.settings import Settings
from oauth_server.access_tokens import Lifetimes
from oauth_server.parts import open_oauth_server
from testkit.oauth import ISSUER, basic, oauth_app, open_test_oauth, secret_client


def test_the_hub_serves_the_authorization_server(hub_client: TestClient, hub_app: Hub) -> None:
    meta = hub_client.get("/.well-known/openid-configuration").json()
    assert meta["issuer"] == "http://127.0.0.1:8000" == hub_app.oauth.issuer
    client = secret_client(hub_app.oauth)
    answer = hub_client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, headers=basic(*client)
    )
    assert answer.status_code == 200, answer.text
    caller = hub_app.oauth.validator.validate(answer.json()["access_token"])
    assert caller.kind == "platform" and caller.platform_did == "did:web:platform.test"


def test_the_token_endpoint_is_rate_limited_per_client_ip(
    sessions: sessionmaker[Session],
) -> None:
    parts = open_test_oauth(sessions, rate=0.1, burst=3)
    client = secret_client(parts)
    with TestClient(oauth_app(parts), base_url=ISSUER) as http:
        statuses = [
            http.post(
                "/oauth/token", data={"grant_type": "client_credentials"}, headers=basic(*client)
            ).status_code
            for _ in range(5)
        ]
        assert statuses[:3] == [200, 200, 200] and statuses[3:] == [429, 429]
        refused = http.post("/oauth/token", data={"grant_type": "client_credentials"})
        assert refused.json()["error"] == "slow_down" and int(refused.headers["retry-after"]) >= 1


def test_an_oversized_form_is_refused(sessions: sessionmaker[Session]) -> None:
    parts = open_test_oauth(sessions)
    with TestClient(oauth_app(parts), base_url=ISSUER) as http:
        answer = http.post("/oauth/token", data={"grant_type": "x" * 70_000})
        assert answer.status_code == 413 and answer.json()["error"] == "invalid_request"
        fields = "&".join(f"f{index}=x" for index in range(150))
        many = http.post("/oauth/token?" + fields, data={"grant_type": "client_credentials"})
        assert many.status_code == 400 and many.json()["error"] == "invalid_request"


@pytest.mark.parametrize("name", ["ISSUER", "AUDIENCE"])
def test_production_refuses_a_plain_http_issuer_or_audience(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv("NOTARY_HUB_MODE", "production")
    monkeypatch.setenv("NOTARY_HUB_KEYS_MASTER_KEY", "11" * 32)
    monkeypatch.setenv(f"NOTARY_HUB_OAUTH_{name}", "http://127.0.0.1.evil.test")
    with pytest.raises(ValidationError, match=f"OAuth {name.lower()} must use https"):
        Settings()
    monkeypatch.setenv(f"NOTARY_HUB_OAUTH_{name}", "https://hub.example")
    assert Settings().oauth.model_dump()[name.lower()] == "https://hub.example"


def test_a_plain_http_issuer_off_loopback_is_answered_not_a_crash(
    sessions: sessionmaker[Session],
) -> None:
    parts = open_oauth_server(
        sessions=sessions,
        keystore=MemoryKeyStore(),
        issuer="http://192.0.2.10:8000",
        audience="http://192.0.2.10:8000",
        lifetimes=Lifetimes(),
        token_rate=100,
        token_burst=100,
    )
    client = secret_client(parts)
    with TestClient(oauth_app(parts), base_url="http://192.0.2.10:8000") as http:
        for path in ("/oauth/token", "/oauth/par", "/oauth/introspect"):
            answer = http.post(
                path, data={"grant_type": "client_credentials"}, headers=basic(*client)
            )
            assert answer.status_code == 400, (path, answer.text)
            assert answer.json()["error"] == "insecure_transport"


def test_production_refuses_a_default_issuer_on_plain_http(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTARY_HUB_MODE", "production")
    monkeypatch.setenv("NOTARY_HUB_KEYS_MASTER_KEY", "11" * 32)
    monkeypatch.setenv("NOTARY_HUB_SERVER_HOST", "0.0.0.0")
    with pytest.raises(ValidationError, match="OAuth issuer must use https"):
        Settings()
    monkeypatch.setenv("NOTARY_HUB_CREDENTIALS_PUBLIC_URL", "https://hub.example")
    assert Settings().server.host == "0.0.0.0"
