"""The request bodies of the OAuth routes, for the OpenAPI document.

The routes read their bodies themselves (:mod:`oauth_server.router`: raw pairs for
Authlib), so FastAPI cannot infer them; these are given with ``openapi_extra``.
RFC 6749 §3.2 (form-encoded token requests), RFC 7662 §2.1, RFC 7009 §2.1,
RFC 9126 §2.1, RFC 7591 §2, RFC 8628 §3.1 and §3.4.
"""

from __future__ import annotations

from typing import Any

_STRING: dict[str, Any] = {"type": "string"}
_CLIENT_AUTH: dict[str, Any] = {
    "client_id": _STRING,
    "client_secret": _STRING,
    "client_assertion_type": _STRING,
    "client_assertion": _STRING,
}


def _form(required: list[str], **properties: dict[str, Any]) -> dict[str, Any]:
    schema = {"type": "object", "required": required, "properties": {**properties, **_CLIENT_AUTH}}
    return {
        "requestBody": {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": schema}},
        }
    }


TOKEN_BODY = _form(
    ["grant_type"],
    grant_type={
        "type": "string",
        "enum": [
            "authorization_code",
            "refresh_token",
            "client_credentials",
            "urn:ietf:params:oauth:grant-type:device_code",
        ],
    },
    code=_STRING,
    device_code=_STRING,
    redirect_uri=_STRING,
    code_verifier=_STRING,
    refresh_token=_STRING,
    scope=_STRING,
)
DEVICE_BODY = _form([], scope=_STRING)
TOKEN_LOOKUP_BODY = _form(["token"], token=_STRING, token_type_hint=_STRING)
PAR_BODY = _form(
    ["response_type", "redirect_uri", "code_challenge", "code_challenge_method"],
    response_type={"type": "string", "enum": ["code"]},
    redirect_uri=_STRING,
    scope=_STRING,
    state=_STRING,
    nonce=_STRING,
    code_challenge=_STRING,
    code_challenge_method={"type": "string", "enum": ["S256"]},
)
REGISTRATION_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["client_name", "scope_purposes"],
                    "properties": {
                        "client_name": _STRING,
                        "redirect_uris": {"type": "array", "items": _STRING},
                        "grant_types": {"type": "array", "items": _STRING},
                        "token_endpoint_auth_method": _STRING,
                        "scope": _STRING,
                        "scope_purposes": {
                            "type": "object",
                            "additionalProperties": _STRING,
                            "description": "why the client asks for each scope",
                        },
                        "jwks": {"type": "object"},
                        "id_token_signed_response_alg": {
                            "type": "string",
                            "enum": ["EdDSA", "ES256", "RS256"],
                        },
                    },
                }
            }
        },
    }
}
USERINFO_BODY: dict[str, Any] = {
    "requestBody": {
        "required": False,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {"type": "object", "properties": {"access_token": _STRING}}
            }
        },
    }
}
