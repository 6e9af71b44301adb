"""prompt=login and max_age (OpenID Connect Core §3.1.2.1, §3.1.2.3): when the hub asks
for a fresh sign-in, and that a fresh one is never asked for again (``auth_after``)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from oauth_server.authorize import (
    AuthorizationRequest,
    AuthorizeRedirectError,
    decide,
    parse_request,
    sign_in_stale,
)
from oauth_server.clients import Client
from oauth_server.errors import OAuthError
from oauth_server.parts import OAuthParts
from testkit.oauth import REDIRECT, pkce_pair, secret_client

NOW = 1_800_000_000


@pytest.fixture
def client(oauth: OAuthParts) -> Client:
    client_id, _ = secret_client(
        oauth, grant_types=("authorization_code",), scopes=("openid", "evidence:read")
    )
    found = oauth.clients.get(client_id)
    assert found is not None
    return found


def _parse(client: Client, **extra: str) -> AuthorizationRequest:
    pairs = [("client_id", client.client_id), ("response_type", "code"),
             ("redirect_uri", REDIRECT), ("scope", "openid"), ("state", "s"),
             ("code_challenge", pkce_pair()[1]), ("code_challenge_method", "S256"),
             *extra.items()]  # fmt: skip

    def no_pushed(_uri: str, _client: str) -> list[tuple[str, str]]:
        raise OAuthError("invalid_request_uri", "none pushed")

    return parse_request(pairs, lambda _id: client, no_pushed)


def test_prompt_login_always_wants_a_new_sign_in_until_one_follows(client: Client) -> None:
    asked = _parse(client, prompt="login")
    assert asked.wants_fresh_sign_in
    assert sign_in_stale(asked, NOW - 1, NOW) and sign_in_stale(asked, NOW, NOW)
    # Back from the sign-in the hub sent them to: a session begun since counts.
    again = replace(asked, prompt=frozenset(), auth_after=NOW)
    assert not sign_in_stale(again, NOW, NOW + 3)
    assert sign_in_stale(again, NOW - 1, NOW + 3)  # an older session does not


def test_max_age_counts_from_the_sign_in(client: Client) -> None:
    asked = _parse(client, max_age="300")
    assert asked.max_age == 300
    assert not sign_in_stale(asked, NOW - 300, NOW)
    assert sign_in_stale(asked, NOW - 301, NOW)
    assert sign_in_stale(asked, None, NOW)  # no session age known: sign in
    # max_age=0 cannot loop: the request after the sign-in carries auth_after instead.
    zero = _parse(client, max_age="0")
    assert sign_in_stale(zero, NOW - 1, NOW)
    assert not sign_in_stale(replace(zero, max_age=None, auth_after=NOW), NOW, NOW + 1)


def test_a_stale_sign_in_is_sent_to_sign_in_or_refused_without_a_page(client: Client) -> None:
    asked = _parse(client, max_age="60")
    assert decide(asked, "acct", frozenset({"openid"}), stale=True) == "signin"
    assert decide(asked, "acct", frozenset({"openid"})) == "issue"
    passive = replace(asked, prompt=frozenset({"none"}))
    with pytest.raises(AuthorizeRedirectError) as refused:
        decide(passive, "acct", frozenset({"openid"}), stale=True)
    assert refused.value.code == "login_required" and "max_age" in refused.value.message


@pytest.mark.parametrize(
    ("extra", "why"),
    [
        ({"prompt": "none login"}, "prompt"),
        ({"prompt": "select_account"}, "prompt"),
        ({"max_age": "-1"}, "max_age"),
        ({"max_age": "ten"}, "max_age"),
        ({"max_age": "1" * 20}, "max_age"),
        ({"auth_after": "yesterday"}, "auth_after"),
    ],
)
def test_bad_prompt_or_max_age_goes_back_as_invalid_request(
    client: Client, extra: dict[str, str], why: str
) -> None:
    with pytest.raises(AuthorizeRedirectError) as refused:
        _parse(client, **extra)
    assert refused.value.code == "invalid_request" and why in refused.value.message
    assert refused.value.redirect_uri == REDIRECT and refused.value.state == "s"
