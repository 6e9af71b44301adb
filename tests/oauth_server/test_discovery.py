"""Discovery documents (RFC 8414, OpenID Connect Discovery) and the JWKS they name."""

from __future__ import annotations

from fastapi.testclient import TestClient

from testkit.oauth import ISSUER


def test_the_authorization_server_metadata_says_what_the_server_does(http: TestClient) -> None:
    meta = http.get("/.well-known/oauth-authorization-server").json()
    assert meta["issuer"] == ISSUER
    assert meta["token_endpoint"] == ISSUER + "/oauth/token"
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["response_types_supported"] == ["code"]
    assert set(meta["grant_types_supported"]) == {
        "authorization_code",
        "refresh_token",
        "client_credentials",
        "urn:ietf:params:oauth:grant-type:device_code",
    }  # no implicit, no password
    assert meta["device_authorization_endpoint"] == ISSUER + "/oauth/device_authorization"
    assert set(meta["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
        "none",
    }
    assert meta["authorization_response_iss_parameter_supported"] is True
    assert meta["pushed_authorization_request_endpoint"] == ISSUER + "/oauth/par"
    assert "none" not in meta["introspection_endpoint_auth_methods_supported"]


def test_the_openid_configuration_adds_the_provider_metadata(http: TestClient) -> None:
    meta = http.get("/.well-known/openid-configuration").json()
    assert meta["issuer"] == ISSUER
    assert meta["subject_types_supported"] == ["pairwise"]
    assert set(meta["id_token_signing_alg_values_supported"]) == {"EdDSA", "ES256", "RS256"}
    assert meta["jwks_uri"] == ISSUER + "/oauth/jwks"
    jwks = http.get("/oauth/jwks").json()
    assert {key["alg"] for key in jwks["keys"]} == {"EdDSA", "ES256", "RS256"}
    for key in jwks["keys"]:
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key), "a private part is published"
        assert key["kid"] and key["use"] == "sig"
