"""Clients: secrets never stored in clear, exact redirect URIs, rotation and deletion."""

from __future__ import annotations

from dataclasses import replace

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from oauth_server.clients import ClientSpec, ClientStore
from oauth_server.errors import OAuthError
from oauth_server.first_party import WALLET_CLIENT_ID, WALLET_REDIRECT_URI, wallet_client_spec
from oauth_server.parts import OAuthParts
from testkit.oauth import basic, secret_client


def test_the_database_holds_no_secret_in_clear(
    http: TestClient, oauth: OAuthParts, sessions: sessionmaker[Session]
) -> None:
    client_id, secret = secret_client(oauth, grant_types=("client_credentials",))
    initial = oauth.initial_tokens.issue("note", 3600)
    token = http.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, headers=basic(client_id, secret)
    ).json()["access_token"]
    dump = []
    with sessions() as session:
        for table in ("oauth_clients", "oauth_initial_tokens", "oauth_tokens"):
            for row in session.execute(text(f"SELECT * FROM {table}")):
                dump.append(repr(tuple(row)))
    everything = "\n".join(dump)
    assert client_id in everything
    for value in (secret, initial, token, token.split(".")[2]):
        assert value not in everything


def test_a_rotated_secret_replaces_the_old_one(http: TestClient, oauth: OAuthParts) -> None:
    client_id, old = secret_client(oauth)
    new = oauth.clients.rotate_secret(client_id)
    form = {"grant_type": "client_credentials"}
    assert http.post("/oauth/token", data=form, headers=basic(client_id, old)).status_code == 401
    assert http.post("/oauth/token", data=form, headers=basic(client_id, new)).status_code == 200


def test_deleting_a_client_revokes_its_tokens(http: TestClient, oauth: OAuthParts) -> None:
    client = secret_client(oauth)
    form = {"grant_type": "client_credentials"}
    token = http.post("/oauth/token", data=form, headers=basic(*client)).json()["access_token"]
    oauth.clients.delete(client[0])
    with pytest.raises(OAuthError, match="revoked"):
        oauth.validator.validate(token)
    assert http.post("/oauth/token", data=form, headers=basic(*client)).status_code == 401
    with pytest.raises(OAuthError) as gone:
        oauth.clients.delete(client[0])
    assert gone.value.status_code == 404


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"auth_method": "none", "grant_types": ["client_credentials"]}, "public client"),
        ({"auth_method": "private_key_jwt"}, "jwks"),
        ({"id_token_alg": "HS256"}, "id_token_signed_response_alg"),
        ({"scope_purposes": {"openid": " "}}, "purpose"),
        ({"scope_purposes": {"everything": "x"}}, "unknown scope"),
        ({"redirect_uris": ["http://platform.test/cb"]}, "https"),
        ({"redirect_uris": ["https://u:p@platform.test/cb"]}, "userinfo"),
        ({"redirect_uris": []}, "needs a redirect URI"),
    ],
)
def test_unsafe_registrations_are_refused(
    oauth: OAuthParts, change: dict[str, object], reason: str
) -> None:
    spec: dict[str, object] = {
        "name": "P",
        "auth_method": "client_secret_basic",
        "grant_types": ["authorization_code"],
        "scope_purposes": {"openid": "sign in"},
        "redirect_uris": ["https://platform.test/cb"],
        **change,
    }
    with pytest.raises(OAuthError, match=reason):
        oauth.clients.create(ClientSpec(**spec))  # type: ignore[arg-type]


def test_loopback_http_redirects_are_allowed(oauth: OAuthParts) -> None:
    client, _ = oauth.clients.create(
        ClientSpec(
            name="CLI",
            auth_method="none",
            grant_types=["authorization_code"],
            scope_purposes={"openid": "sign in"},
            redirect_uris=["http://127.0.0.1:8765/cb"],
        )
    )
    assert client.check_redirect_uri("http://127.0.0.1:8765/cb")
    assert not client.check_redirect_uri("http://127.0.0.1:8765/cb/")


def test_the_client_cache_clears_on_its_own_changes_and_never_caches_unknown_ids(
    sessions: sessionmaker[Session],
) -> None:
    cached = ClientStore(sessions, cache_seconds=60)
    elsewhere = ClientStore(sessions)  # another process: the CLI
    assert cached.get("later") is None
    client, _ = elsewhere.create(
        ClientSpec(
            name="P",
            auth_method="client_secret_basic",
            grant_types=["client_credentials"],
            scope_purposes={"evidence:read": "read"},
        ),
        client_id="later",
    )
    assert cached.get("later") == client, "an unknown id is not remembered"
    new_secret = cached.rotate_secret("later")
    assert cached.require("later").check_client_secret(new_secret)
    cached.delete("later")
    assert cached.get("later") is None


def test_ensure_registers_a_fixed_id_once_and_rewrites_its_metadata(oauth: OAuthParts) -> None:
    spec = wallet_client_spec()
    made = oauth.first_party.ensure(WALLET_CLIENT_ID, spec)
    assert made.client_id == WALLET_CLIENT_ID and made.public
    assert made.redirect_uris == (WALLET_REDIRECT_URI,)
    assert WALLET_CLIENT_ID in oauth.first_party
    # Started again with a changed spec: the same client, its metadata the new spec's.
    renamed = replace(spec, name="Wallet, renamed", scope_purposes={"openid": "to sign in"})
    again = oauth.first_party.ensure(WALLET_CLIENT_ID, renamed)
    assert again.name == "Wallet, renamed" and again.scopes == ("openid",)
    assert again.created_at == made.created_at
    assert [c.client_id for c in oauth.clients.list()].count(WALLET_CLIENT_ID) == 1
    # A client a platform registered is never first-party, whatever it is called.
    other, _ = oauth.clients.create(replace(spec, name="notary-hub-wallet"))
    assert other.client_id not in oauth.first_party
    with pytest.raises(OAuthError) as refused:
        oauth.clients.ensure("bad", replace(spec, redirect_uris=("http://evil.test/cb",)))
    assert refused.value.code == "invalid_redirect_uri"
