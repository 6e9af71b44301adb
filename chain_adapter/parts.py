"""``open_chain_adapter``: the chain, its transactor, the hub's contracts and batch anchoring.

Given an opened chain (embedded or JSON-RPC) and its deployment, this adds the durable
anchoring queue and the batcher that seals and anchors it, and one anchorer per extra
chain (issue 16), woken by each batch the batcher anchors. ``close`` closes the chain.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from eth_account.signers.local import LocalAccount
from sqlalchemy.orm import Session, sessionmaker

from chain_adapter.anchoring.batcher import Batcher
from chain_adapter.anchoring.extra_chains import ExtraChain, ExtraChainAnchorer
from chain_adapter.anchoring.extra_receipts import ExtraReceipts
from chain_adapter.anchoring.queue import AnchorQueue
from chain_adapter.deploy import Deployment
from chain_adapter.jsonrpc_chain import JsonRpcChain
from chain_adapter.protocol import Chain
from chain_adapter.transactor import Transactor
from hub_kernel.advisory_locks import PassGuard


@dataclass
class ChainParts:
    chain: Chain
    transactor: Transactor
    deployment: Deployment
    queue: AnchorQueue
    batcher: Batcher
    extra_anchorers: list[ExtraChainAnchorer] = field(default_factory=list)
    extra_receipts: ExtraReceipts | None = None

    def start(
        self, guard: PassGuard | None = None, guards: Callable[[str], PassGuard] | None = None
    ) -> None:
        """``guard``: the batcher's one pass at a time across processes; ``guards(name)``
        each extra chain's (``anchor-chain-ID``)."""
        self.batcher.start(guard)
        for anchorer in self.extra_anchorers:
            anchorer.start(guards(anchorer.name) if guards is not None else None)

    def stop(self) -> None:
        for anchorer in self.extra_anchorers:
            anchorer.stop()
        self.batcher.stop()

    def close(self) -> None:
        self.stop()
        self.chain.close()


def connect_extra_chain(timeout: float = 10.0, retries: int = 2) -> Callable[[ExtraChain], Chain]:
    """How an extra chain is reached: JSON-RPC, its node's chain id checked."""

    def connect(target: ExtraChain) -> Chain:
        return JsonRpcChain.connect(
            target.url, expected_chain_id=target.chain_id, timeout=timeout, retries=retries
        )

    return connect


def open_chain_adapter(
    *,
    sessions: sessionmaker[Session],
    chain: Chain,
    transactor: Transactor,
    deployment: Deployment,
    batch_max_items: int,
    batch_interval: float,
    extra_chains: Sequence[ExtraChain] = (),
    node: LocalAccount | None = None,
    connect: Callable[[ExtraChain], Chain] | None = None,
    extra_interval: float = 2.0,
) -> ChainParts:
    """``extra_chains`` are anchored on by ``node`` (the hub's account there too)."""
    queue = AnchorQueue(sessions)
    batcher = Batcher(
        sessions,
        queue,
        transactor,
        deployment.anchor_registry,
        max_items=batch_max_items,
        interval=batch_interval,
    )
    anchorers = []
    if extra_chains:
        assert node is not None, "anchoring on extra chains needs the node's account"
        for target in extra_chains:
            anchorer = ExtraChainAnchorer(
                sessions,
                target,
                node,
                connect=connect or connect_extra_chain(),
                interval=extra_interval,
            )
            batcher.subscribe_anchored(anchorer.wake)
            anchorers.append(anchorer)
    receipts = ExtraReceipts(sessions, [target.chain_id for target in extra_chains])
    return ChainParts(chain, transactor, deployment, queue, batcher, anchorers, receipts)
