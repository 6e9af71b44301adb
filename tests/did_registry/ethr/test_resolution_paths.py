"""Property: every resolution path gives what the ``ethr-did-resolver`` npm package gives.

Hypothesis drives random sequences of registry operations (owner changes, delegates
added and revoked, attributes set and revoked, with validities as short as a second
so that they lapse as blocks advance) on a fresh embedded chain. Then every DID of
the example is resolved at the latest version and at every block, by the npm
resolver over ``/rpc`` (one node process per example) and by each of :data:`PATHS`.

A new path (the database index, say) is one more entry in :data:`PATHS`: a function
from the example's :class:`PathContext` to a :class:`DidResolver`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from eth_keys.datatypes import PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chain_adapter.embedded import EmbeddedChain
from chain_adapter.transactor import Transactor
from did_registry.errors import DidError
from did_registry.ethr.chain_walker import ChainWalkerSource
from did_registry.ethr.resolver import EthrResolver
from did_registry.resolution import DidResolver, ResolutionOptions
from tests.did_registry.ethr_npm import (
    ZERO,
    Registry,
    account,
    error_result,
    npm_available,
    npm_resolve,
    serve_rpc,
    versioned,
    without_message,
)
from tests.did_registry.registry_world import index_resolver

pytestmark = pytest.mark.skipif(not npm_available(), reason="node_modules missing: run `npm ci`")

CHAIN_ID = 1337


@dataclass(frozen=True)
class PathContext:
    """What a resolution path gets to build itself for one example."""

    chain: EmbeddedChain
    registry: str
    registry_block: int  # the block the registry was deployed in
    now: int  # the instant the latest version's expiries are judged at


def chain_walker(ctx: PathContext) -> DidResolver:
    source = ChainWalkerSource(ctx.chain, ctx.registry)
    return EthrResolver({CHAIN_ID: source}, clock=lambda: ctx.now)


def database_index(ctx: PathContext) -> DidResolver:
    # The hub's path: the registry indexed into SQLite by RegistryIndexer, read by IndexSource.
    return index_resolver(ctx.chain, ctx.registry, ctx.registry_block, clock=lambda: ctx.now)


# name -> factory; each is compared with the npm resolver on every example.
PATHS: dict[str, Callable[[PathContext], DidResolver]] = {
    "chain walker": chain_walker,
    "database index": database_index,
}


# -- the operations -----------------------------------------------------------------------------

FUNDER = account("paths:funder")
IDENTITIES = [account(f"paths:identity-{i}") for i in range(3)]
OUTSIDER = account("paths:outsider")
DELEGATES = [account(f"paths:delegate-{i}").address for i in range(3)]
HOLDERS = {a.address: a for a in [*IDENTITIES, OUTSIDER]}
NAMES = [
    "did/pub/Secp256k1/veriKey/hex",
    "did/pub/Ed25519/sigAuth/base64",
    "did/pub/X25519/enc/base58",
    "did/svc/Hub",
    "did/svc/Messaging",
]
VALUES = [
    bytes.fromhex("02" + "11" * 32),
    bytes(range(32)),
    b'{"uri":"https://hub.example","accept":["didcomm/v2"]}',
]

identity = st.integers(0, len(IDENTITIES) - 1)
validity = st.sampled_from([1, 2, 3, 5, 3600])
kind = st.sampled_from(["veriKey", "sigAuth", "other"])
delegate = st.integers(0, len(DELEGATES) - 1)
operation = st.one_of(
    st.tuples(st.just("owner"), identity, st.sampled_from([*HOLDERS, ZERO])),
    st.tuples(st.just("delegate"), identity, kind, delegate, validity),
    st.tuples(st.just("revoke-delegate"), identity, kind, delegate),
    st.tuples(
        st.just("attribute"),
        identity,
        st.integers(0, len(NAMES) - 1),
        st.integers(0, len(VALUES) - 1),
        validity,
    ),
    st.tuples(
        st.just("revoke-attribute"),
        identity,
        st.integers(0, len(NAMES) - 1),
        st.integers(0, len(VALUES) - 1),
    ),
    st.tuples(st.just("tick")),
)


def apply(reg: Registry, op: tuple[Any, ...]) -> None:
    if op[0] == "tick":
        reg.tick()
        return
    me = IDENTITIES[op[1]].address
    # The contract's identityOwner: an explicit owner, or the identity itself (also after 0x0).
    signer: LocalAccount = HOLDERS[reg.contract.call("identityOwner", me)]
    if op[0] == "owner":
        reg.change_owner(signer, me, op[2])
    elif op[0] == "delegate":
        reg.add_delegate(signer, me, op[2], DELEGATES[op[3]], op[4])
    elif op[0] == "revoke-delegate":
        reg.revoke_delegate(signer, me, op[2], DELEGATES[op[3]])
    elif op[0] == "attribute":
        reg.set_attribute(signer, me, NAMES[op[2]], VALUES[op[3]], op[4])
    else:
        reg.revoke_attribute(signer, me, NAMES[op[2]], VALUES[op[3]])


def dids() -> list[str]:
    network = hex(CHAIN_ID)
    key = PrivateKey(bytes(IDENTITIES[0].key)).public_key.to_compressed_bytes()
    return [f"did:ethr:{network}:{a.address}" for a in IDENTITIES] + [
        f"did:ethr:{network}:0x{key.hex()}"
    ]


def resolve(resolver: DidResolver, did: str, options: ResolutionOptions) -> dict[str, Any]:
    try:
        return resolver.resolve(did, options).to_json()
    except DidError as error:
        return error_result(error)


# -- the property -------------------------------------------------------------------------------


@settings(
    max_examples=15,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(operations=st.lists(operation, min_size=1, max_size=12))
def test_every_path_resolves_like_npm(operations: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        chain = EmbeddedChain.open(
            Path(data_dir),
            chain_id=CHAIN_ID,
            # Everyone holds funds from genesis, so no funding transfer adds blocks.
            prefund={a.address: 10**21 for a in [FUNDER, *HOLDERS.values()]},
        )
        try:
            reg = Registry.deploy(Transactor(chain, FUNDER, poll_interval=0.005))
            registry_block = chain.block_number()
            for op in operations:
                apply(reg, op)
            head = chain.get_block("latest")
            requests = [
                (did, ResolutionOptions(version_id=version))
                for did in dids()
                for version in [None, *range(registry_block - 1, head.number + 2)]
            ]
            with serve_rpc(chain) as url:
                npm = npm_resolve(
                    url,
                    CHAIN_ID,
                    reg.address,
                    [versioned(did, options) for did, options in requests],
                    now=head.timestamp,
                )
            ctx = PathContext(chain, reg.address, registry_block, head.timestamp)
            for name, factory in PATHS.items():
                resolver = factory(ctx)
                for did, options in requests:
                    url = versioned(did, options)
                    expected = npm[url]
                    if "error" in expected["didResolutionMetadata"]:
                        expected = without_message(expected)
                    assert resolve(resolver, did, options) == expected, (name, url, operations)
        finally:
            chain.close()
