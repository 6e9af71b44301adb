"""The anchor receipt: proof that an item is in a Merkle tree whose root is on chain.

A receipt carries the item (``leaf``), its position and audit path in an
RFC 9162 tree (https://www.rfc-editor.org/rfc/rfc9162#section-2.1.3), and where
the root was anchored: chain id, registry contract, transaction, block number,
hash and timestamp. Everything in it can be checked with a chain node alone
(:mod:`chain_adapter.anchoring.verify`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from eth_utils.address import is_address, to_checksum_address

from chain_adapter.errors import InvalidReceipt

RECEIPT_TYPE = "MerkleAnchorReceipt"
RECEIPT_VERSION = 1
MAX_AUDIT_PATH = 64  # a tree of 2**64 leaves is beyond any batch
MAX_LEAF_BYTES = 1024

_HASH = re.compile(r"^0x[0-9a-f]{64}$")
_HEX = re.compile(r"^0x(?:[0-9a-f]{2})*$")


@dataclass(frozen=True, slots=True)
class AnchorReceipt:
    leaf: bytes
    leaf_index: int
    tree_size: int
    audit_path: tuple[bytes, ...]
    root: bytes
    kind: str
    chain_id: int
    registry: str
    transaction_hash: str
    block_number: int
    block_hash: str
    block_timestamp: int

    def to_json(self) -> dict[str, Any]:
        return {
            "type": RECEIPT_TYPE,
            "version": RECEIPT_VERSION,
            "hashAlgorithm": "sha-256",
            "treeAlgorithm": "rfc9162",
            "leaf": "0x" + self.leaf.hex(),
            "leafIndex": self.leaf_index,
            "treeSize": self.tree_size,
            "auditPath": ["0x" + node.hex() for node in self.audit_path],
            "root": "0x" + self.root.hex(),
            "kind": self.kind,
            "chainId": self.chain_id,
            "registry": self.registry,
            "transactionHash": self.transaction_hash,
            "blockNumber": self.block_number,
            "blockHash": self.block_hash,
            "blockTimestamp": self.block_timestamp,
        }

    @classmethod
    def from_json(cls, value: Any) -> AnchorReceipt:
        """Parse and structurally validate a receipt; :class:`InvalidReceipt` says what is wrong."""
        if not isinstance(value, dict):
            raise InvalidReceipt("an anchor receipt must be a JSON object")
        if value.get("type") != RECEIPT_TYPE:
            raise InvalidReceipt(f"type must be {RECEIPT_TYPE!r}")
        if value.get("version") != RECEIPT_VERSION:
            raise InvalidReceipt(f"unsupported receipt version {value.get('version')!r}")
        if value.get("hashAlgorithm") != "sha-256" or value.get("treeAlgorithm") != "rfc9162":
            raise InvalidReceipt("only sha-256 RFC 9162 trees are supported")
        tree_size = _int(value, "treeSize", minimum=1)
        leaf_index = _int(value, "leafIndex", minimum=0)
        if leaf_index >= tree_size:
            raise InvalidReceipt("leafIndex must be smaller than treeSize")
        path = value.get("auditPath")
        if not isinstance(path, list) or len(path) > MAX_AUDIT_PATH:
            raise InvalidReceipt("auditPath must be a list of at most 64 hashes")
        leaf = _bytes(value, "leaf")
        if len(leaf) > MAX_LEAF_BYTES:
            raise InvalidReceipt(f"leaf is longer than {MAX_LEAF_BYTES} bytes")
        kind = value.get("kind")
        if not isinstance(kind, str) or not 0 < len(kind.encode()) <= 32:
            raise InvalidReceipt("kind must be a string of 1 to 32 bytes")
        registry = value.get("registry")
        if not isinstance(registry, str) or not is_address(registry):
            raise InvalidReceipt("registry must be an Ethereum address")
        return cls(
            leaf=leaf,
            leaf_index=leaf_index,
            tree_size=tree_size,
            audit_path=tuple(_hash_bytes(node, "auditPath element") for node in path),
            root=_hash_bytes(value.get("root"), "root"),
            kind=kind,
            chain_id=_int(value, "chainId", minimum=1),
            registry=str(to_checksum_address(registry)),
            transaction_hash=_hash_str(value.get("transactionHash"), "transactionHash"),
            block_number=_int(value, "blockNumber", minimum=0),
            block_hash=_hash_str(value.get("blockHash"), "blockHash"),
            block_timestamp=_int(value, "blockTimestamp", minimum=0),
        )


def _int(value: dict[str, Any], name: str, *, minimum: int) -> int:
    number = value.get(name)
    # bool is an int in Python, never in a receipt.
    if not isinstance(number, int) or isinstance(number, bool) or not minimum <= number < 2**64:
        raise InvalidReceipt(f"{name} must be an integer in [{minimum}, 2**64)")
    return number


def _bytes(value: dict[str, Any], name: str) -> bytes:
    text = value.get(name)
    if not isinstance(text, str) or not _HEX.match(text):
        raise InvalidReceipt(f"{name} must be 0x-prefixed lowercase hex")
    return bytes.fromhex(text[2:])


def _hash_str(text: Any, name: str) -> str:
    if not isinstance(text, str) or not _HASH.match(text):
        raise InvalidReceipt(f"{name} must be a 0x-prefixed lowercase 32-byte hex hash")
    return text


def _hash_bytes(text: Any, name: str) -> bytes:
    return bytes.fromhex(_hash_str(text, name)[2:])
