"""ID tokens at the token endpoint: per-client algorithm, nonce, audience, pairwise sub,
the DID only with the ``did`` scope."""

from __future__ import annotations

import base64
import hashlib

import pytest
from fastapi.testclient import TestClient
from joserfc import jwt

from oauth_server.clients import ClientSpec
from oauth_server.parts import OAuthParts
from testkit.oauth import ISSUER, REDIRECT, basic, pkce_pair, token_claims


def tokens_for(
    http: TestClient, oauth: OAuthParts, alg: str, scopes: list[str]
) -> tuple[str, dict[str, str]]:
    client, secret = oauth.clients.create(
        ClientSpec(
            name="RP",
            auth_method="client_secret_basic",
            grant_types=["authorization_code"],
            scope_purposes={scope: "why" for scope in scopes},
            redirect_uris=[REDIRECT],
            id_token_alg=alg,
        )
    )
    assert secret is not None
    verifier, challenge = pkce_pair()
    code = oauth.codes.issue_code(client, "acct-9", scopes, REDIRECT, challenge, "nonce-1").code
    answer = http.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
        headers=basic(client.client_id, secret),
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, str] = answer.json()
    return client.client_id, body


@pytest.mark.parametrize("alg", ["EdDSA", "ES256", "RS256"])
def test_an_openid_code_gets_an_id_token_in_the_clients_algorithm(
    http: TestClient, oauth: OAuthParts, alg: str
) -> None:
    client_id, body = tokens_for(http, oauth, alg, ["openid"])
    jwks = oauth.keys.public_keys()
    decoded = jwt.decode(body["id_token"], jwks, algorithms=[alg])
    assert decoded.header["alg"] == alg and decoded.header["kid"]
    claims = decoded.claims
    assert claims["iss"] == ISSUER and claims["aud"] == [client_id]
    assert claims["nonce"] == "nonce-1" and claims["exp"] > claims["iat"]
    assert claims["sub"] == token_claims(body["access_token"])["sub"]
    assert "did" not in claims
    digest = hashlib.new({"EdDSA": "sha512"}.get(alg, "sha256"), body["access_token"].encode())
    half = digest.digest()[: len(digest.digest()) // 2]
    assert claims["at_hash"] == base64.urlsafe_b64encode(half).rstrip(b"=").decode()


def test_no_openid_scope_no_id_token(http: TestClient, oauth: OAuthParts) -> None:
    _, body = tokens_for(http, oauth, "ES256", ["evidence:read"])
    assert "id_token" not in body


def test_the_did_is_revealed_only_with_the_did_scope(http: TestClient, oauth: OAuthParts) -> None:
    oauth.server.id_tokens.did_of = {"acct-9": "did:key:z6MkPerson"}.get
    _, without = tokens_for(http, oauth, "ES256", ["openid"])
    _, with_did = tokens_for(http, oauth, "ES256", ["openid", "did"])
    keys = oauth.keys.public_keys()
    assert "did" not in jwt.decode(without["id_token"], keys, algorithms=["ES256"]).claims
    claims = jwt.decode(with_did["id_token"], keys, algorithms=["ES256"]).claims
    assert claims["did"] == "did:key:z6MkPerson"
