"""The hub's own clients skip the consent page, and only they do (``decide``)."""

from __future__ import annotations

import pytest

from oauth_server.authorize import AuthorizationRequest, AuthorizeRedirectError, decide
from oauth_server.clients import ClientStore
from oauth_server.first_party import WALLET_CLIENT_ID, FirstPartyClients, wallet_client_spec
from oauth_server.parts import OAuthParts
from testkit.oauth import pkce_pair


def _request(oauth: OAuthParts, prompt: frozenset[str] = frozenset()) -> AuthorizationRequest:
    client = oauth.first_party.ensure(WALLET_CLIENT_ID, wallet_client_spec())
    return AuthorizationRequest(
        client=client,
        redirect_uri=client.redirect_uris[0],
        scopes=("openid", "evidence:deposit"),
        code_challenge=pkce_pair()[1],
        state="s",
        prompt=prompt,
    )


def test_a_first_party_client_gets_a_code_without_a_consent_page(oauth: OAuthParts) -> None:
    asked = _request(oauth)
    assert decide(asked, "acct", frozenset(), first_party=True) == "issue"
    assert decide(_request(oauth, frozenset({"consent"})), "acct", frozenset(),
                  first_party=True) == "issue"  # fmt: skip
    # Still, no one signed in is sent to sign in first.
    assert decide(asked, None, frozenset(), first_party=True) == "signin"
    with pytest.raises(AuthorizeRedirectError) as passive:
        decide(_request(oauth, frozenset({"none"})), None, frozenset(), first_party=True)
    assert passive.value.code == "login_required"
    # The same request from any other client asks the person.
    assert decide(asked, "acct", frozenset()) == "consent"


def test_only_clients_ensured_by_this_hub_are_first_party(oauth: OAuthParts) -> None:
    other = FirstPartyClients(ClientStore(oauth.clients._sessions))
    assert WALLET_CLIENT_ID not in other and WALLET_CLIENT_ID not in oauth.first_party
    oauth.first_party.ensure(WALLET_CLIENT_ID, wallet_client_spec())
    assert WALLET_CLIENT_ID in oauth.first_party and WALLET_CLIENT_ID not in other
