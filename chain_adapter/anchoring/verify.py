"""Verify an anchor receipt with nothing but a chain node.

Checks, in order (each failure is reported, none assumed):

1. the audit path leads from ``H(0x00 || leaf)`` to the root (RFC 9162 §2.1.3.2);
2. the node serves the receipt's chain id;
3. the registry address holds contract code, and the registry says the root was
   anchored in the receipt's block, with the receipt's tree size and kind;
4. the block at that number has the receipt's hash and timestamp;
5. the anchoring transaction was mined in that block and emitted ``RootAnchored``
   for this root from this registry.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from typing import Any

from chain_adapter.anchoring.receipt import AnchorReceipt
from chain_adapter.artifacts import load_artifact
from chain_adapter.contract import BoundContract
from chain_adapter.errors import BlockNotFound, ChainError, ContractNotFound
from chain_adapter.merkle import leaf_hash, verify_inclusion
from chain_adapter.protocol import Chain


@dataclass
class ReceiptVerification:
    valid: bool = False
    errors: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    block_timestamp: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "errors": self.errors,
            "checks": self.checks,
            "blockTimestamp": self.block_timestamp,
        }


def verify_receipt(receipt: AnchorReceipt, chain: Chain) -> ReceiptVerification:
    result = ReceiptVerification()
    if not verify_inclusion(
        leaf_hash(receipt.leaf),
        receipt.leaf_index,
        receipt.tree_size,
        list(receipt.audit_path),
        receipt.root,
    ):
        result.errors.append("the audit path does not lead from the leaf to the root")
        return result
    result.checks.append("inclusion proof")
    try:
        _check_chain(receipt, chain, result)
    except ChainError as exc:
        result.errors.append(f"{exc.code}: {exc.message}")
    result.valid = not result.errors
    return result


def _check_chain(receipt: AnchorReceipt, chain: Chain, result: ReceiptVerification) -> None:
    if chain.chain_id != receipt.chain_id:
        result.errors.append(
            f"the receipt is for chain {receipt.chain_id}, the node serves {chain.chain_id}"
        )
        return
    try:
        registry = BoundContract.attach(
            chain, load_artifact("AnchorRegistry").abi, receipt.registry
        )
    except ContractNotFound:
        result.errors.append(f"no contract at the registry address {receipt.registry}")
        return
    block_number, timestamp, leaf_count, kind, _anchorer = registry.call("lookup", receipt.root)
    if block_number == 0:
        result.errors.append("the registry has no record of this root")
        return
    if block_number != receipt.block_number:
        result.errors.append(
            f"the root was anchored in block {block_number}, not {receipt.block_number}"
        )
    if leaf_count != receipt.tree_size:
        result.errors.append(f"the registry records {leaf_count} leaves, not {receipt.tree_size}")
    if bytes(kind).rstrip(b"\x00") != receipt.kind.encode():
        result.errors.append("the registry records another kind for this root")
    if timestamp != receipt.block_timestamp:
        result.errors.append("the registry's anchoring time differs from the receipt's")
    result.checks.append("registry record")

    try:
        block = chain.get_block(receipt.block_number)
    except BlockNotFound:
        result.errors.append(f"the node has no block {receipt.block_number}")
        return
    if not hmac.compare_digest(block.hash, receipt.block_hash):
        result.errors.append("the block hash differs from the receipt's")
    if block.timestamp != receipt.block_timestamp:
        result.errors.append("the block timestamp differs from the receipt's")
    result.block_timestamp = block.timestamp
    result.checks.append("block")

    tx = chain.get_receipt(receipt.transaction_hash)
    if tx is None or tx.block_number != receipt.block_number or not tx.succeeded:
        result.errors.append("the anchoring transaction is not mined successfully in that block")
        return
    events = registry.decode_logs(tx, "RootAnchored")
    if not any(bytes(event.args["root"]) == receipt.root for event in events):
        result.errors.append("the anchoring transaction did not anchor this root")
        return
    result.checks.append("transaction")
