"""did:ethr changes through the hub's relay, and a hub that lies about what to sign.

The wallet recomputes every ERC-1056 digest itself before signing; a hub that asks for
a signature over another operation (a change of owner to itself, say), over another
registry, or for another owner gets nothing signed and nothing relayed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request

from did_registry.registrar.operations import ChangeOwner
from did_registry.registrar.signatures import meta_digest
from testkit.serving import serve_app
from tests.fixtures.wallet_hub import WalletHub
from wallet.chain_view import ChainView
from wallet.did_operations import DidOperations, HubLied, NotController, create_ethr
from wallet.hub_client import HubClient, HubRefused
from wallet.wallet import Wallet

ATTACKER = "0x000000000000000000000000000000000000dEaD"
Lie = Callable[[dict[str, Any]], dict[str, Any]]


def test_add_key_service_rotate_change_owner_and_deactivate(
    wallet_hub: WalletHub, hub_wallet: Wallet, chain: ChainView
) -> None:
    record = create_ethr(hub_wallet, chain.chain_id)
    with HubClient(wallet_hub.url, wallet_hub.token) as hub:
        operations = DidOperations(hub_wallet, hub, chain)
        record, document = operations.add_key(None, "assertion")
        (name,) = record.signing_keys
        method = record.verification_methods[name]
        assert method in document["assertionMethod"]
        assert method not in document["authentication"]

        record, document = operations.add_service(None, "LinkedDomains", "https://holder.example")
        assert document["service"][0]["serviceEndpoint"] == "https://holder.example"

        record, document = operations.rotate_key(None, name)
        (new,) = record.signing_keys
        assert new != name
        methods = {m["id"] for m in document["verificationMethod"]}
        assert method not in methods
        assert record.verification_methods[new] in document["assertionMethod"]

        owner = hub_wallet.derive_key("secp256k1")
        record, document = operations.change_owner(None, to_key=owner.name)
        assert record.controller_key == owner.name
        assert document["verificationMethod"][0]["blockchainAccountId"].endswith(owner.address)
        # The new owner signs the next change; the old one no longer can.
        operations.add_service(None, "Messaging", "https://holder.example/inbox")

        record, document = operations.deactivate(None)
        assert document["verificationMethod"] == []
    assert chain.resolver.resolve(record.did).did_document_metadata.get("deactivated") is True


@contextmanager
def lying_hub(
    hub: WalletHub, lie: Lie, relayed: list[Any], *, forward: bool = False
) -> Iterator[str]:
    """The real hub behind a proxy that rewrites its digest answers and records what it is
    asked to relay (and, if ``forward``, relays it)."""
    app = FastAPI()
    headers = {"authorization": f"Bearer {hub.token}"}

    @app.post("/1.0/registrar/operations/digest")
    async def digest(request: Request) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=hub.url, headers=headers) as client:
            answer = await client.post(request.url.path, json=await request.json())
        return lie(answer.json())

    @app.post("/1.0/registrar/operations")
    async def submit(request: Request) -> dict[str, Any]:
        relayed.append(await request.json())
        if not forward:
            return {"state": "pending", "transactionHash": "0x" + "00" * 32}
        async with httpx.AsyncClient(base_url=hub.url, headers=headers) as client:
            answer = await client.post(request.url.path, json=relayed[-1])
        body: dict[str, Any] = answer.json()
        return body

    with serve_app(app) as served:
        yield served.url


def _owner_to_attacker(answer: dict[str, Any]) -> dict[str, Any]:
    identity = answer["did"].rsplit(":", 1)[1]
    swapped = meta_digest(answer["registry"], answer["nonce"], identity, ChangeOwner(ATTACKER))
    return {**answer, "digest": "0x" + swapped.hex()}


def _another_registry(answer: dict[str, Any]) -> dict[str, Any]:
    identity = answer["did"].rsplit(":", 1)[1]
    op = ChangeOwner(ATTACKER)
    return {
        **answer,
        "registry": ATTACKER,
        "digest": "0x" + meta_digest(ATTACKER, 0, identity, op).hex(),
    }


def _another_owner(answer: dict[str, Any]) -> dict[str, Any]:
    return {**answer, "owner": ATTACKER}


@pytest.mark.parametrize(
    ("lie", "refusal", "reason"),
    [
        (_owner_to_attacker, HubLied, "not the ERC-1056 digest"),
        (_another_registry, HubLied, "not an ERC-1056 registry"),
        (_another_owner, NotController, "owned by"),
    ],
)
def test_a_lying_hub_gets_no_signature(
    wallet_hub: WalletHub,
    hub_wallet: Wallet,
    chain: ChainView,
    lie: Lie,
    refusal: type[Exception],
    reason: str,
) -> None:
    record = create_ethr(hub_wallet, chain.chain_id)
    before = chain.document(record.did)
    relayed: list[Any] = []
    with lying_hub(wallet_hub, lie, relayed) as url, HubClient(url, None) as hub:
        operations = DidOperations(hub_wallet, hub, chain)
        with pytest.raises(refusal, match=reason):
            operations.change_owner(None, to_key=hub_wallet.derive_key("secp256k1").name)
    assert relayed == []  # no signature ever left the wallet
    assert chain.document(record.did) == before
    assert hub_wallet.did().controller_key == record.controller_key


def test_a_relayed_signature_cannot_be_replayed(
    wallet_hub: WalletHub, hub_wallet: Wallet, chain: ChainView
) -> None:
    """The signature commits to the owner's nonce: sent again, the hub refuses it."""
    record = create_ethr(hub_wallet, chain.chain_id)
    relayed: list[Any] = []
    honest = lying_hub(wallet_hub, lambda answer: answer, relayed, forward=True)
    with honest as url, HubClient(url, None) as hub:
        DidOperations(hub_wallet, hub, chain).add_service(None, "Inbox", "https://a.example")
    (signed,) = relayed
    after = chain.document(record.did)
    with HubClient(wallet_hub.url, wallet_hub.token) as hub, pytest.raises(HubRefused) as replay:
        hub.submit_operation(record.did, signed["operation"], signed["signature"], signed["nonce"])
    assert replay.value.hub_code == "invalidNonce"
    assert chain.document(record.did) == after
