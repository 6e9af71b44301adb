"""Authorisation-server metadata (RFC 8414) and OpenID Provider metadata (OpenID Connect
Discovery 1.0 §3), served at ``/.well-known/oauth-authorization-server`` and
``/.well-known/openid-configuration``.

Both say what the server does, and only that: the code grant with PKCE S256 only,
refresh, client credentials and the device grant (RFC 8628 §4; no implicit, no
password), the four client authentication methods, pairwise subjects, the ID-token
algorithms, the ``iss`` authorisation response parameter (RFC 9207 §3), PAR (RFC 9126
§5) and registration.
https://www.rfc-editor.org/rfc/rfc8414#section-2
https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderMetadata
"""

from __future__ import annotations

from typing import Any

from oauth_server.clients import AUTH_METHODS, GRANT_TYPES
from oauth_server.keys import ACCESS_JWS_ALG, ALGORITHMS
from oauth_server.scopes import SCOPES

OAUTH_METADATA_PATH = "/.well-known/oauth-authorization-server"
OPENID_METADATA_PATH = "/.well-known/openid-configuration"
AUTHORIZATION_PATH = "/oauth/authorize"
TOKEN_PATH = "/oauth/token"  # noqa: S105 (a path)
JWKS_PATH = "/oauth/jwks"
INTROSPECTION_PATH = "/oauth/introspect"
REVOCATION_PATH = "/oauth/revoke"
REGISTRATION_PATH = "/oauth/register"
PAR_PATH = "/oauth/par"
USERINFO_PATH = "/oauth/userinfo"
END_SESSION_PATH = "/oauth/logout"
DEVICE_AUTHORIZATION_PATH = "/oauth/device_authorization"  # RFC 8628 §4

CLIENT_JWT_ALGS = ["ES256", "EdDSA", "RS256", "PS256"]


def authorization_server_metadata(issuer: str) -> dict[str, Any]:
    """RFC 8414 §2 metadata of the server at ``issuer`` (no trailing slash)."""
    confidential = [method for method in AUTH_METHODS if method != "none"]
    return {
        "issuer": issuer,
        "authorization_endpoint": issuer + AUTHORIZATION_PATH,
        "token_endpoint": issuer + TOKEN_PATH,
        "jwks_uri": issuer + JWKS_PATH,
        "registration_endpoint": issuer + REGISTRATION_PATH,
        "scopes_supported": list(SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": list(GRANT_TYPES),
        "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "token_endpoint_auth_signing_alg_values_supported": CLIENT_JWT_ALGS,
        "introspection_endpoint": issuer + INTROSPECTION_PATH,
        "introspection_endpoint_auth_methods_supported": confidential,
        "revocation_endpoint": issuer + REVOCATION_PATH,
        "revocation_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "code_challenge_methods_supported": ["S256"],
        "pushed_authorization_request_endpoint": issuer + PAR_PATH,
        "device_authorization_endpoint": issuer + DEVICE_AUTHORIZATION_PATH,
        "authorization_response_iss_parameter_supported": True,
        "access_token_signing_alg_values_supported": [ACCESS_JWS_ALG],
    }


def openid_configuration(issuer: str) -> dict[str, Any]:
    """OpenID Connect Discovery §3 metadata: RFC 8414's plus the OpenID Provider's."""
    return {
        **authorization_server_metadata(issuer),
        "userinfo_endpoint": issuer + USERINFO_PATH,
        "end_session_endpoint": issuer + END_SESSION_PATH,
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": list(ALGORITHMS),
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "did"],
    }
