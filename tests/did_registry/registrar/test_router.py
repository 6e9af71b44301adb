"""The registrar's HTTP routes over a real registry, with the hub's error handlers and auth.

A holder with no funds asks for the digest, signs it with its own key and posts
the signed operation; the answer carries the transaction and the DID document as
of its block, resolved by the chain-walking did:ethr resolver. Every refusal is a
machine-readable error and sends nothing.
"""

# The chain fixtures are imported by name; their use as parameters is not a redefinition.
# ruff: noqa: F811

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from fastapi import FastAPI
from fastapi.testclient import TestClient

from chain_adapter.contract import BoundContract
from chain_adapter.protocol import Chain
from chain_adapter.transactor import Transactor
from did_registry.ethr.chain_walker import ChainWalkerSource
from did_registry.ethr.did import ethr_did_for
from did_registry.ethr.events import RegistryEvent
from did_registry.ethr.resolver import EthrResolver
from did_registry.registrar.router import registrar_router
from did_registry.registrar.service import Registrar
from did_registry.resolution import DidResolver, Head
from notary_hub.errors import install_error_handlers
from notary_hub.identity import API_SCOPES, REGISTRAR_RELAY, Authenticator
from notary_hub.static_tokens import StaticTokens
from tests.did_registry.registrar_fixtures import (  # noqa: F401 (fixtures)
    backend,
    chain,
    node,
    nothing_sent,
    registrar,
    registry,
    transactor,
)

TOKEN = "r" * 40


def relay_scope() -> Callable[..., Any]:
    """The hub's dependency for the registrar's routes, with ``TOKEN`` as dev bootstrap."""
    return Authenticator(None, StaticTokens([TOKEN], API_SCOPES)).require_scope(REGISTRAR_RELAY)


AUTH = {"authorization": f"Bearer {TOKEN}"}
DAY = 86_400
ED_KEY = bytes(range(32))
SET_KEY = {
    "type": "setAttribute",
    "name": "did/pub/Ed25519/veriKey/base64",
    "value": "0x" + ED_KEY.hex(),
    "validity": DAY,
}


class Resolvers:
    """What the router's ``resolver_provider`` returns; None until a test sets one."""

    current: DidResolver | None = None


@pytest.fixture
def resolvers(chain: Chain, registry: BoundContract) -> Resolvers:
    resolvers = Resolvers()
    resolvers.current = EthrResolver({chain.chain_id: ChainWalkerSource(chain, registry.address)})
    return resolvers


@pytest.fixture
def client(registrar: Registrar, resolvers: Resolvers) -> Iterator[TestClient]:
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(
        registrar_router(
            registrar,
            lambda: resolvers.current,
            relay_scope(),
            network_names={"notary": registrar.chain_id, "elsewhere": registrar.chain_id + 1},
        )
    )
    with TestClient(app) as client:
        yield client


def did_of(holder: LocalAccount, chain: Chain) -> str:
    return ethr_did_for(holder.address, chain.chain_id)


def signed_body(
    client: TestClient, holder: LocalAccount, did: str, operation: dict[str, Any]
) -> dict[str, Any]:
    answer = client.post(
        "/1.0/registrar/operations/digest", json={"did": did, "operation": operation}, headers=AUTH
    )
    assert answer.status_code == 200, answer.text
    request = answer.json()
    signed = Account.unsafe_sign_hash(bytes.fromhex(request["digest"][2:]), holder.key)
    return {
        "did": did,
        "operation": operation,
        "signature": signed.signature.to_0x_hex(),
        "nonce": request["nonce"],
    }


def test_a_holder_without_funds_changes_its_did_through_the_hub(
    client: TestClient, chain: Chain, registry: BoundContract
) -> None:
    holder = Account.create()
    did = did_of(holder, chain)
    digest = client.post(
        "/1.0/registrar/operations/digest", json={"did": did, "operation": SET_KEY}, headers=AUTH
    ).json()
    assert digest["nonce"] == 0 and digest["owner"] == holder.address
    assert (digest["registry"], digest["chainId"]) == (registry.address, chain.chain_id)

    answer = client.post(
        "/1.0/registrar/operations", json=signed_body(client, holder, did, SET_KEY), headers=AUTH
    )
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["state"] == "mined"
    receipt = chain.get_receipt(body["transactionHash"])
    assert receipt is not None and receipt.block_number == body["blockNumber"]
    document = body["didDocument"]
    assert document["id"] == did
    (key,) = [m for m in document["verificationMethod"] if m["id"] == f"{did}#delegate-1"]
    assert key["type"] == "Ed25519VerificationKey2018"
    assert key["id"] in document["assertionMethod"]
    assert body["didDocumentMetadata"]["versionId"] == str(receipt.block_number)
    assert chain.get_balance(holder.address) == 0


def test_a_did_may_name_the_chain_by_a_configured_name(client: TestClient, chain: Chain) -> None:
    holder = Account.create()
    did = f"did:ethr:notary:{holder.address}"
    body = signed_body(client, holder, did, SET_KEY)
    answer = client.post("/1.0/registrar/operations", json=body, headers=AUTH)
    assert answer.status_code == 202, answer.text
    assert answer.json()["did"] == did


def test_a_signature_may_come_as_v_r_s(client: TestClient, chain: Chain) -> None:
    holder, delegate = Account.create(), Account.create()
    did = did_of(holder, chain)
    operation = {
        "type": "addDelegate",
        "delegateType": "sigAuth",
        "delegate": delegate.address,
        "validity": DAY,
    }
    body = signed_body(client, holder, did, operation)
    signature = bytes.fromhex(body["signature"][2:])
    body["signature"] = {
        "v": signature[64],
        "r": "0x" + signature[:32].hex(),
        "s": "0x" + signature[32:64].hex(),
    }
    answer = client.post("/1.0/registrar/operations", json=body, headers=AUTH)
    assert answer.status_code == 202, answer.text
    assert f"{did}#delegate-1" in answer.json()["didDocument"]["authentication"]


def test_without_a_resolver_the_answer_is_the_transaction(
    client: TestClient, chain: Chain, resolvers: Resolvers
) -> None:
    resolvers.current = None
    holder = Account.create()
    body = signed_body(client, holder, did_of(holder, chain), SET_KEY)
    answer = client.post("/1.0/registrar/operations", json=body, headers=AUTH)
    assert answer.status_code == 202
    assert answer.json()["state"] == "mined" and "didDocument" not in answer.json()


def test_refusals_are_machine_readable_and_send_nothing(
    client: TestClient, chain: Chain, registrar: Registrar
) -> None:
    holder, intruder = Account.create(), Account.create()
    did = did_of(holder, chain)
    good = signed_body(client, holder, did, SET_KEY)
    assert client.post("/1.0/registrar/operations", json=good, headers=AUTH).status_code == 202
    forged = signed_body(client, intruder, did, SET_KEY)
    stale = signed_body(client, holder, did, SET_KEY) | {"nonce": 0}
    too_long = SET_KEY | {"name": "did/pub/Ed25519/veriKey/base64/x"}
    too_big = SET_KEY | {"name": "opaque", "value": "0x" + "00" * 1025}
    cases = [
        (good, 422, "invalidNonce"),  # replayed as is
        (good | {"nonce": None}, 422, "invalidNonce"),
        (stale, 422, "invalidNonce"),
        (forged, 422, "invalidSignature"),
        (good | {"signature": "0x" + "00" * 65}, 422, "invalidSignature"),
        (good | {"operation": too_long}, 422, "invalidAttribute"),
        (good | {"operation": too_big}, 422, "invalidAttribute"),
        (good | {"operation": SET_KEY | {"validity": 0}}, 422, "invalidOperation"),
        (good | {"operation": SET_KEY | {"value": "0x0102"}}, 422, "invalidAttribute"),
        (good | {"did": did.replace("did:ethr", "did:ETHR")}, 400, "invalidDid"),
        (good | {"did": did + "#frag"}, 400, "invalidDid"),
        (good | {"did": f"did:ethr:0x1:{holder.address}"}, 501, "unknownNetwork"),
        (good | {"did": f"did:ethr:{holder.address}"}, 501, "unknownNetwork"),
        (good | {"did": f"did:ethr:elsewhere:{holder.address}"}, 501, "unknownNetwork"),
        (good | {"did": "did:key:z6Mk"}, 501, "methodNotSupported"),
        (good | {"operation": {"type": "burn"}}, 422, "invalid_request"),
        (good | {"operation": SET_KEY | {"validity": "86400"}}, 422, "invalid_request"),
        (good | {"operation": SET_KEY | {"value": "0xabc"}}, 422, "invalid_request"),
        (good | {"signature": "0x1234"}, 422, "invalid_request"),
    ]
    with nothing_sent(chain, registrar.address):
        for body, status, code in cases:
            answer = client.post("/1.0/registrar/operations", json=body, headers=AUTH)
            assert (answer.status_code, answer.json()["error"]) == (status, code), body
            assert answer.json()["message"]
        assert client.post("/1.0/registrar/operations", json=good).status_code == 401
        digest = client.post(
            "/1.0/registrar/operations/digest",
            json={"did": did, "operation": too_long},
            headers=AUTH,
        )
        assert (digest.status_code, digest.json()["error"]) == (422, "invalidAttribute")
        assert (
            client.post(
                "/1.0/registrar/operations/digest", json={"did": did, "operation": SET_KEY}
            ).status_code
            == 401
        )


def test_a_deactivated_did_is_gone(client: TestClient, chain: Chain) -> None:
    holder = Account.create()
    did = did_of(holder, chain)
    body = signed_body(client, holder, did, {"type": "deactivate"})
    answer = client.post("/1.0/registrar/operations", json=body, headers=AUTH)
    assert answer.status_code == 202
    assert answer.json()["didDocumentMetadata"]["deactivated"] is True
    again = client.post(
        "/1.0/registrar/operations/digest", json={"did": did, "operation": SET_KEY}, headers=AUTH
    )
    assert (again.status_code, again.json()["error"]) == (410, "deactivated")


def test_an_operation_not_confirmed_in_time_is_pending(
    chain: Chain, registry: BoundContract, node: LocalAccount, resolvers: Resolvers
) -> None:
    # Three confirmations on a chain that only mines on demand: the wait runs out.
    slow = Transactor(chain, node, confirmations=3, receipt_timeout=0.2, poll_interval=0.02)
    app = FastAPI()
    app.include_router(
        registrar_router(Registrar(slow, registry), lambda: resolvers.current, relay_scope())
    )
    holder = Account.create()
    with TestClient(app) as client:
        body = signed_body(client, holder, did_of(holder, chain), SET_KEY)
        answer = client.post("/1.0/registrar/operations", json=body, headers=AUTH)
    assert answer.status_code == 202
    assert answer.json()["state"] == "pending" and "didDocument" not in answer.json()
    assert chain.get_receipt(answer.json()["transactionHash"]) is not None


class LaggingSource:
    """An event source stuck at ``head`` (an index that has not caught up yet)."""

    def __init__(self, inner: ChainWalkerSource, head: int) -> None:
        self._inner = inner
        self._head = head
        self.chain_id = inner.chain_id
        self.registry = inner.registry

    def head(self) -> Head:
        block = self._inner.block(self._head)
        assert block is not None
        return block

    def history(self, identity: str) -> list[RegistryEvent]:
        return [e for e in self._inner.history(identity) if e.at.block_number <= self._head]

    def block(self, number: int) -> Head | None:
        return self._inner.block(number) if number <= self._head else None

    def block_at_time(self, timestamp: int) -> Head | None:
        return self._inner.block_at_time(timestamp)


def test_a_relayed_operation_reports_its_block_even_when_the_index_lags(
    client: TestClient, chain: Chain, registry: BoundContract, resolvers: Resolvers
) -> None:
    walker = ChainWalkerSource(chain, registry.address)
    lagging = LaggingSource(walker, chain.block_number())
    resolvers.current = EthrResolver({chain.chain_id: lagging})
    holder = Account.create()
    did = did_of(holder, chain)
    answer = client.post(
        "/1.0/registrar/operations", json=signed_body(client, holder, did, SET_KEY), headers=AUTH
    )
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["state"] == "mined" and "didResolutionMetadata" not in body, body
    assert body["blockNumber"] > lagging.head().block_number  # the index is behind it
    assert body["didDocumentMetadata"]["versionId"] == str(body["blockNumber"])
    assert f"{did}#delegate-1" in body["didDocument"]["assertionMethod"]
