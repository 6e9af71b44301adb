"""A deployed ERC-1056 registry with a few identities, and its events decoded straight from logs.

Used by the index tests: the indexer's tables and the index source are compared
with :func:`chain_events`, which reads every registry log with ``eth_getLogs``
and decodes it on its own, block timestamps included.
"""

from __future__ import annotations

import random
import shutil
import tempfile
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from chain_adapter.artifacts import load_artifact
from chain_adapter.contract import BoundContract
from chain_adapter.deploy import DID_REGISTRY
from chain_adapter.embedded import EmbeddedChain
from chain_adapter.protocol import Chain, LogFilter, Receipt
from chain_adapter.transactor import Transactor
from did_registry.ethr.events import RegistryEvent, decode_event
from did_registry.ethr.index_source import IndexSource
from did_registry.ethr.indexer import RegistryIndexer
from did_registry.ethr.models import EVENT_COLUMNS, IndexedEvent, event_from_row
from did_registry.ethr.resolver import EthrResolver
from did_registry.resolution import DidResolver
from notary_hub import migrate
from notary_hub.db import create_db_engine, session_factory

EMBEDDED_CHAIN_ID = 1337
DAY = 86_400


def b32(text: str) -> bytes:
    return text.encode().ljust(32, b"\x00")


@dataclass
class RegistryWorld:
    """A registry on ``chain`` and identities that each send their own transactions."""

    chain: Chain
    registry: BoundContract
    deploy_block: int
    identities: list[LocalAccount]
    transactors: dict[str, Transactor] = field(default_factory=dict)

    @classmethod
    def deploy(cls, chain: Chain, identities: list[LocalAccount]) -> RegistryWorld:
        world = cls(chain, None, 0, identities)  # type: ignore[arg-type]
        artifact = load_artifact(DID_REGISTRY)
        receipt = world.transactor(identities[0]).deploy(artifact.bytecode)
        assert receipt.contract_address is not None
        world.registry = BoundContract.attach(chain, artifact.abi, receipt.contract_address)
        world.deploy_block = receipt.block_number
        return world

    def transactor(self, who: LocalAccount) -> Transactor:
        if who.address not in self.transactors:
            self.transactors[who.address] = Transactor(
                self.chain, who, receipt_timeout=30.0, poll_interval=0.02
            )
        return self.transactors[who.address]

    def forget_nonces(self) -> None:
        """After the chain was rewound (evm_revert) every cached nonce is wrong."""
        self.transactors.clear()

    # -- ERC-1056 operations, each by the identity on itself ----------------------------

    def set_attribute(
        self, who: LocalAccount, name: str, value: bytes, validity: int = DAY
    ) -> Receipt:
        return self.registry.transact(
            self.transactor(who), "setAttribute", who.address, b32(name), value, validity
        )

    def revoke_attribute(self, who: LocalAccount, name: str, value: bytes) -> Receipt:
        return self.registry.transact(
            self.transactor(who), "revokeAttribute", who.address, b32(name), value
        )

    def add_delegate(
        self, who: LocalAccount, delegate: str, kind: str = "veriKey", validity: int = DAY
    ) -> Receipt:
        return self.registry.transact(
            self.transactor(who), "addDelegate", who.address, b32(kind), delegate, validity
        )

    def revoke_delegate(self, who: LocalAccount, delegate: str, kind: str = "veriKey") -> Receipt:
        return self.registry.transact(
            self.transactor(who), "revokeDelegate", who.address, b32(kind), delegate
        )

    def change_owner(self, who: LocalAccount, new_owner: str) -> Receipt:
        return self.registry.transact(self.transactor(who), "changeOwner", who.address, new_owner)

    def random_operations(self, rng: random.Random, count: int) -> None:
        """``count`` operations by random identities (each keeps its own ownership)."""
        for _ in range(count):
            who = rng.choice(self.identities)
            choice = rng.randrange(4)
            if choice == 0:
                value = rng.randbytes(rng.choice([0, 1, 32, 33, 200]))
                self.set_attribute(who, "did/svc/HubService", value, rng.choice([1, DAY, 2**200]))
            elif choice == 1:
                self.add_delegate(who, Account.create().address, validity=rng.choice([1, DAY]))
            elif choice == 2:
                self.revoke_attribute(who, "did/pub/Ed25519/veriKey/base64", rng.randbytes(32))
            else:
                self.change_owner(who, who.address)  # an owner event that keeps control


def chain_events(chain: Chain, registry: str, up_to: int | None = None) -> list[RegistryEvent]:
    """Every event of ``registry`` up to block ``up_to`` (default: head), oldest first."""
    last = chain.block_number() if up_to is None else up_to
    logs = chain.get_logs(LogFilter(from_block=0, to_block=last, address=registry))
    timestamps: dict[int, int] = {}
    for entry in logs:
        if entry.block_number not in timestamps:
            timestamps[entry.block_number] = chain.get_block(entry.block_number).timestamp
    return [decode_event(entry, timestamps[entry.block_number]) for entry in logs]


def open_embedded(path: Path, identities: list[LocalAccount]) -> EmbeddedChain:
    return EmbeddedChain.open(
        path,
        chain_id=EMBEDDED_CHAIN_ID,
        prefund={who.address: 10**24 for who in identities},
    )


def new_identities(count: int) -> list[LocalAccount]:
    return [Account.create() for _ in range(count)]


def indexed_events(
    sessions: sessionmaker[Session], chain_id: int, registry: str
) -> list[RegistryEvent]:
    """What the index holds for ``registry``, in chain order, read straight from the table."""
    with sessions() as session:
        rows = session.execute(
            select(*EVENT_COLUMNS)
            .where(IndexedEvent.chain_id == chain_id, IndexedEvent.registry_address == registry)
            .order_by(IndexedEvent.block_number, IndexedEvent.log_index)
        ).all()
    return [event_from_row(row) for row in rows]


def index_resolver(
    chain: Chain, registry: str, start_block: int, *, clock: Callable[[], float]
) -> DidResolver:
    """The hub's index path over ``chain``: a fresh SQLite index, caught up, as a resolver.

    For tests that build a resolver per example (the resolution-paths property): the
    database lives in a temporary directory removed when the resolver is collected.
    """
    directory = tempfile.mkdtemp(prefix="did-index-")
    engine = create_db_engine(f"sqlite:///{directory}/index.sqlite3")
    migrate.upgrade(engine)
    sessions = session_factory(engine)
    indexer = RegistryIndexer(chain, registry, sessions, confirmations=0, start_block=start_block)
    indexer.catch_up()
    source = IndexSource(sessions, chain.chain_id, registry, indexer.head, chain=chain)
    resolver = EthrResolver({chain.chain_id: source}, clock=clock)

    def release() -> None:
        source.close()
        engine.dispose()
        shutil.rmtree(directory, ignore_errors=True)

    weakref.finalize(resolver, release)
    return resolver
