"""Staff grants (SQLite and PostgreSQL): held through any DID of an account, refused for
scopes that are not staff scopes, and the only way a person's code carries one."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from oauth_server.accounts import AccountStore
from oauth_server.clients import ClientSpec
from oauth_server.errors import OAuthError
from oauth_server.parts import OAuthParts
from oauth_server.staff import split_scopes
from testkit.oauth import REDIRECT, pkce_pair

ALICE, ALICE_NEW, BOB = "did:key:z6MkAlice", "did:key:z6MkAliceNew", "did:key:z6MkBob"


def test_scopes_split_into_granted_and_refused() -> None:
    split = split_scopes(
        ("openid", "admin", "registrar:relay", "consortium:vote"), frozenset({"admin"})
    )
    assert split.granted == ("openid", "admin", "registrar:relay")
    assert split.refused == ("consortium:vote",)


def test_a_grant_is_held_through_every_did_of_the_account(
    oauth: OAuthParts, sessions: sessionmaker[Session]
) -> None:
    accounts = AccountStore(sessions)
    alice = accounts.account_for_did(ALICE)
    accounts.link(alice, ALICE_NEW)
    oauth.staff.grant(ALICE, ["admin"])
    oauth.staff.grant(ALICE_NEW, ["admin", "credentials:issue"])
    assert oauth.staff.held_by_account(alice) == {"admin", "credentials:issue"}
    assert oauth.staff.held_by_account(accounts.account_for_did(BOB)) == frozenset()
    # Revoking one DID's grant leaves what the other DID still backs.
    oauth.staff.revoke(ALICE, ["admin"])
    assert oauth.staff.held_by_account(alice) == {"admin", "credentials:issue"}
    oauth.staff.revoke(ALICE_NEW, ["admin"])
    assert oauth.staff.held_by_account(alice) == {"credentials:issue"}


@pytest.mark.parametrize("scopes", [["evidence:read"], ["registrar:relay"], []])
def test_only_staff_scopes_are_granted(oauth: OAuthParts, scopes: list[str]) -> None:
    with pytest.raises(OAuthError, match="staff scopes are") as refused:
        oauth.staff.grant(ALICE, scopes)
    assert refused.value.code == "invalid_scope"
    with pytest.raises(OAuthError):
        oauth.staff.grant("not a DID", ["admin"])


def test_a_persons_code_carries_a_staff_scope_only_with_a_grant(
    oauth: OAuthParts, sessions: sessionmaker[Session]
) -> None:
    client, _ = oauth.clients.create(
        ClientSpec(
            name="Staff portal",
            auth_method="client_secret_basic",
            grant_types=["authorization_code"],
            scope_purposes={"openid": "sign you in", "admin": "operate the hub"},
            redirect_uris=[REDIRECT],
        )
    )
    bob = AccountStore(sessions).account_for_did(BOB)
    _, challenge = pkce_pair()
    with pytest.raises(OAuthError, match="does not hold admin") as refused:
        oauth.codes.issue_code(client, bob, ["openid", "admin"], REDIRECT, challenge)
    assert refused.value.code == "invalid_scope"
    assert oauth.codes.issue_code(client, bob, ["openid"], REDIRECT, challenge).code
    oauth.staff.grant(BOB, ["admin"])
    assert oauth.codes.issue_code(client, bob, ["openid", "admin"], REDIRECT, challenge).code
