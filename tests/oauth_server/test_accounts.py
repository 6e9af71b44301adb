"""Accounts keyed by an internal id, DIDs linked to them (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from oauth_server.accounts import AccountDirectory, AccountStore
from oauth_server.signin_errors import AccountNotFound, DidAlreadyLinked, SigninError

ALICE = "did:ethr:0x539:0x" + "a1" * 20
ALICE_KEY = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
BOB = "did:ethr:0x539:0x" + "b2" * 20


def test_a_did_finds_the_same_account_every_time(sessions: sessionmaker[Session]) -> None:
    store: AccountDirectory = AccountStore(sessions)
    first = store.account_for_did(ALICE)
    assert store.account_for_did(ALICE) == first
    assert store.account_for_did(BOB) != first
    assert store.did_of(first) == ALICE
    assert store.did_of("no-such-account") is None
    assert len(first) == 32 and int(first, 16) >= 0  # 128 random bits, nothing of the DID
    assert ALICE.lower() not in first


def test_a_second_did_joins_only_by_an_explicit_link(sessions: sessionmaker[Session]) -> None:
    store = AccountStore(sessions, clock=iter(range(1000, 2000)).__next__)
    alice = store.account_for_did(ALICE)
    store.link(alice, ALICE_KEY)
    store.link(alice, ALICE_KEY)  # linking again changes nothing
    assert store.account_for_did(ALICE_KEY) == alice
    assert store.dids_of(alice) == [ALICE, ALICE_KEY]
    assert store.did_of(alice) == ALICE  # the first linked stays the account's DID

    bob = store.account_for_did(BOB)
    with pytest.raises(DidAlreadyLinked):
        store.link(bob, ALICE)
    with pytest.raises(AccountNotFound):
        store.link("0" * 32, "did:key:z6Mkunknown")
    assert store.dids_of(bob) == [BOB]


@pytest.mark.parametrize("did", ["", "ethr:0x1", "did:" + "x" * 600, "did:ethr:\n0x1"])
def test_what_is_not_a_did_is_refused(sessions: sessionmaker[Session], did: str) -> None:
    with pytest.raises(SigninError):
        AccountStore(sessions).account_for_did(did)
