"""Receiving credentials: verified over the chain, stored only if they pass; status on demand."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.fixtures.wallet_hub import WalletHub
from wallet.chain_view import ChainView
from wallet.errors import CredentialRejected
from wallet.receiving import Receiver
from wallet.wallet import Wallet


def issue(hub: WalletHub, subject: str) -> dict[str, Any]:
    """A credential the hub's notary issues, with a revocation entry on chain."""
    with hub.process.client() as client:
        response = client.post(
            "/credentials/issue",
            json={
                "credential": {
                    "@context": ["https://www.w3.org/ns/credentials/v2"],
                    "type": ["VerifiableCredential"],
                    "credentialSubject": {"id": subject},
                },
                "options": {},
            },
        )
    assert response.status_code == 201, response.text
    credential: dict[str, Any] = response.json()["verifiableCredential"]
    return credential


def revoke(hub: WalletHub, credential: dict[str, Any]) -> None:
    with hub.process.client() as client:
        response = client.post(
            "/credentials/status",
            json={
                "credentialId": credential["id"],
                "credentialStatus": {
                    "type": "BitstringStatusListEntry",
                    "statusPurpose": "revocation",
                },
                "status": True,
            },
        )
    assert response.status_code == 200, response.text


def test_a_credential_is_stored_once_and_its_revocation_seen_on_chain(
    wallet_hub: WalletHub, hub_wallet: Wallet, chain: ChainView
) -> None:
    receiver = Receiver(chain)
    credential = issue(wallet_hub, "did:example:holder")
    stored = receiver.receive(hub_wallet, credential)
    assert stored.status == "valid"
    assert receiver.receive(hub_wallet, credential) == stored  # the held copy, not a second one
    assert len(hub_wallet.credentials.list()) == 1
    assert receiver.refresh_status(hub_wallet, stored.id).status == "valid"
    revoke(wallet_hub, credential)
    assert receiver.refresh_status(hub_wallet, stored.id[:20]).status == "revoked"
    assert hub_wallet.credentials.get(stored.id).status == "revoked"


def test_a_tampered_or_revoked_credential_is_refused_and_nothing_stored(
    wallet_hub: WalletHub, hub_wallet: Wallet, chain: ChainView
) -> None:
    receiver = Receiver(chain)
    credential = issue(wallet_hub, "did:example:holder")
    tampered = copy.deepcopy(credential)
    tampered["credentialSubject"]["id"] = "did:example:mallory"
    with pytest.raises(CredentialRejected, match="proof"):
        receiver.receive(hub_wallet, tampered)
    revoke(wallet_hub, credential)
    with pytest.raises(CredentialRejected, match="revoked"):
        receiver.receive(hub_wallet, credential)
    assert hub_wallet.credentials.list() == []
