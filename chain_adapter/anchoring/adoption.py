"""A root already on chain is adopted, never anchored twice: shared by every anchorer.

Rule 3 of the batcher's exactly-once argument (``chain_adapter.anchoring.batcher``): the
registry refuses a root it holds, and a batch whose root is found there (sent before a
crash, or by a twin batch) takes that anchoring's receipt instead of failing. The primary
batcher and each extra chain's anchorer (``extra_chains``) ask the same two questions.
"""

from __future__ import annotations

from chain_adapter.contract import BoundContract
from chain_adapter.errors import TransactionReverted
from chain_adapter.protocol import Chain, Receipt


def anchored_block(registry: BoundContract, root: bytes) -> int | None:
    """The block the registry recorded ``root`` in, or ``None``."""
    block_number = int(registry.call("lookup", root)[0])
    return block_number or None


def adopt_existing(registry: BoundContract, chain: Chain, root: bytes) -> Receipt:
    """The receipt of the transaction that anchored ``root`` already."""
    block_number = anchored_block(registry, root)
    if block_number is None:
        raise TransactionReverted("the anchor registry refused a root it does not hold")
    events = registry.events(
        "RootAnchored", block_number, block_number, argument_filters={"root": root}
    )
    if not events:
        raise TransactionReverted(f"no RootAnchored event for the root in block {block_number}")
    receipt = chain.get_receipt(events[0].log.transaction_hash)
    assert receipt is not None
    return receipt
