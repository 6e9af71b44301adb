"""The dev bootstrap tokens, and the authenticator that tries them before OAuth tokens."""

from __future__ import annotations

import pytest

from notary_hub.identity import API_SCOPES, Authenticator
from notary_hub.identity_errors import InvalidToken
from notary_hub.static_tokens import BOOTSTRAP_CLIENT_ID, StaticTokens
from tests.notary_hub.access_tokens import AccessTokens

TOKEN = "b" * 40


def test_a_bootstrap_token_is_the_operator_with_every_scope() -> None:
    tokens = StaticTokens([TOKEN, "c" * 64], API_SCOPES)
    caller = tokens.match(TOKEN)
    assert caller is not None
    assert (caller.kind, caller.client_id, caller.scopes) == (
        "bootstrap",
        BOOTSTRAP_CLIENT_ID,
        API_SCOPES,
    )
    assert tokens.match("c" * 64) == caller
    for near in (TOKEN[:-1], TOKEN + "b", TOKEN.upper(), "", "b" * 39 + "\x00"):
        assert tokens.match(near) is None, near
    assert not StaticTokens([], API_SCOPES)


def test_the_authenticator_tries_the_bootstrap_then_the_validator() -> None:
    oauth = AccessTokens()
    auth = Authenticator(oauth, StaticTokens([TOKEN], API_SCOPES))
    assert auth.authenticate(TOKEN).kind == "bootstrap"
    assert oauth.validated == 0  # a bootstrap token never reaches the validator
    person = auth.authenticate(oauth.issue("evidence:read", account="acct-1"))
    assert (person.kind, person.account_id, person.scopes) == (
        "person",
        "acct-1",
        frozenset({"evidence:read"}),
    )
    with pytest.raises(InvalidToken) as refused:
        auth.authenticate("nonsense")
    assert refused.value.status_code == 401
    assert 'error="invalid_token"' in refused.value.headers["WWW-Authenticate"]
    with pytest.raises(InvalidToken):
        Authenticator().authenticate(TOKEN)  # no bootstrap, no validator: nothing is valid
