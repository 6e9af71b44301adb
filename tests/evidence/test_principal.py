"""The depositor of a request follows its token (issue 13 §8): person, platform, bootstrap."""

from __future__ import annotations

from typing import Literal

import pytest

from evidence.principal import (
    DepositorHeaderRefused,
    InvalidDepositor,
    NoDepositorDid,
    Principal,
    PrincipalResolver,
)
from oauth_server.caller import Caller
from tests.evidence.deposit_support import new_did_key
from tests.notary_hub.access_tokens import Accounts

NETWORKS: dict[str | int, int] = {1337: 1337}
ETHR = "did:ethr:0x539:0x" + "ab" * 20


def caller(
    kind: Literal["person", "platform", "bootstrap"],
    *,
    account: str | None = None,
    platform_did: str | None = None,
    client_id: str = "partner",
    first_party: bool = False,
) -> Caller:
    return Caller(
        subject=account or client_id,
        client_id=client_id,
        scopes=frozenset({"evidence:deposit"}),
        account_id=account,
        platform_did=platform_did,
        kind=kind,
        first_party=first_party,
    )


@pytest.fixture
def accounts() -> Accounts:
    return Accounts()


def test_a_person_deposits_as_the_did_linked_to_the_account(accounts: Accounts) -> None:
    did = new_did_key()
    account = accounts.account_for_did(did)
    resolver = PrincipalResolver(NETWORKS, accounts)
    assert resolver.principal(caller("person", account=account), None) == Principal(did, "partner")
    # The account links another DID (a new wallet): the same person deposits as it now.
    accounts.dids[account] = ETHR
    assert resolver.principal(caller("person", account=account), None).did == ETHR


def test_only_the_persons_first_party_wallet_reads_across_platforms(accounts: Accounts) -> None:
    did = new_did_key()
    account = accounts.account_for_did(did)
    resolver = PrincipalResolver(NETWORKS, accounts)
    wallet = resolver.principal(
        caller("person", account=account, client_id="notary-hub-wallet", first_party=True), None
    )
    assert wallet == Principal(did, "notary-hub-wallet", all_platforms=True)
    assert wallet.owns(did, "partner") and wallet.owns(did, "api-token")
    assert not wallet.owns(new_did_key(), "notary-hub-wallet")
    partner = resolver.principal(caller("person", account=account), None)
    assert partner.owns(did, "partner") and not partner.owns(did, "elsewhere")
    # A first-party client's own client-credentials token is a platform: its own deposits.
    platform = resolver.principal(
        caller("platform", platform_did=ETHR, client_id="hub-tool", first_party=True), None
    )
    assert not platform.all_platforms and not platform.owns(ETHR, "partner")


def test_a_platform_deposits_as_its_registered_did() -> None:
    resolver = PrincipalResolver(NETWORKS)
    principal = resolver.principal(caller("platform", platform_did=ETHR, client_id="acme"), None)
    assert principal == Principal(ETHR, "acme")


def test_the_depositor_header_is_the_dev_bootstraps_alone(accounts: Accounts) -> None:
    did = new_did_key()
    dev = PrincipalResolver(NETWORKS, accounts, dev=True)
    bootstrap = caller("bootstrap", client_id="api-token")
    assert dev.principal(bootstrap, did) == Principal(did, "api-token")
    with pytest.raises(InvalidDepositor, match="header must name"):
        dev.principal(bootstrap, None)
    # With an OAuth token the token names the depositor: a header asking otherwise is refused.
    account = accounts.account_for_did(new_did_key())
    for oauth in (caller("person", account=account), caller("platform", platform_did=ETHR)):
        with pytest.raises(DepositorHeaderRefused, match="the access token names"):
            dev.principal(oauth, did)
    # Outside dev mode even a bootstrap caller cannot name a depositor.
    with pytest.raises(DepositorHeaderRefused, match="dev mode only"):
        PrincipalResolver(NETWORKS, accounts).principal(bootstrap, did)


def test_a_token_with_no_did_behind_it_cannot_deposit(accounts: Accounts) -> None:
    resolver = PrincipalResolver(NETWORKS, accounts)
    with pytest.raises(NoDepositorDid, match="no DID is linked"):
        resolver.principal(caller("person", account="unknown-account"), None)
    with pytest.raises(NoDepositorDid, match="no DID is linked"):
        PrincipalResolver(NETWORKS).principal(caller("person", account="a"), None)
    with pytest.raises(NoDepositorDid, match="no DID registered"):
        resolver.principal(caller("platform"), None)
    assert NoDepositorDid.status_code == 403


def test_a_did_on_another_network_or_method_is_refused(accounts: Accounts) -> None:
    resolver = PrincipalResolver(NETWORKS, accounts)
    for did in ("did:ethr:0x1:0x" + "ab" * 20, "did:web:example.com", "not-a-did"):
        with pytest.raises(InvalidDepositor):
            resolver.principal(caller("platform", platform_did=did), None)
    with pytest.raises(InvalidDepositor, match="client id longer"):
        resolver.principal(caller("platform", platform_did=ETHR, client_id="c" * 129), None)
