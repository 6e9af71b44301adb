"""``open_chain_adapter``: the chain, its transactor, the hub's contracts and batch anchoring.

Given an opened chain (embedded or JSON-RPC) and its deployment, this adds the durable
anchoring queue and the batcher that seals and anchors it. ``close`` closes the chain.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from chain_adapter.anchoring.batcher import Batcher
from chain_adapter.anchoring.queue import AnchorQueue
from chain_adapter.deploy import Deployment
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

    def start(self, guard: PassGuard | None = None) -> None:
        self.batcher.start(guard)

    def stop(self) -> None:
        self.batcher.stop()

    def close(self) -> None:
        self.stop()
        self.chain.close()


def open_chain_adapter(
    *,
    sessions: sessionmaker[Session],
    chain: Chain,
    transactor: Transactor,
    deployment: Deployment,
    batch_max_items: int,
    batch_interval: float,
) -> ChainParts:
    queue = AnchorQueue(sessions)
    batcher = Batcher(
        sessions,
        queue,
        transactor,
        deployment.anchor_registry,
        max_items=batch_max_items,
        interval=batch_interval,
    )
    return ChainParts(chain, transactor, deployment, queue, batcher)
