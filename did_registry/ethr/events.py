"""ERC-1056 registry events, decoded from chain logs.

https://eips.ethereum.org/EIPS/eip-1056 ("Events"): every change to an identity
emits one of three events whose ``previousChange`` field links it to the block
of the identity's previous change, so all of an identity's history is reachable
from ``changed(identity)`` without scanning the chain.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_abi.abi import decode
from eth_abi.exceptions import DecodingError
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from eth_utils.hexadecimal import encode_hex

from chain_adapter.protocol import Log


@dataclass(frozen=True, slots=True)
class EventPosition:
    """Where an event happened: its total order is (block, log index)."""

    block_number: int
    log_index: int
    transaction_hash: str
    block_timestamp: int


@dataclass(frozen=True, slots=True)
class OwnerChanged:
    identity: str
    owner: str
    previous_change: int
    at: EventPosition


@dataclass(frozen=True, slots=True)
class DelegateChanged:
    identity: str
    delegate_type: bytes  # bytes32, right-padded with zeros
    delegate: str
    valid_to: int
    previous_change: int
    at: EventPosition


@dataclass(frozen=True, slots=True)
class AttributeChanged:
    identity: str
    name: bytes  # bytes32, right-padded with zeros
    value: bytes
    valid_to: int
    previous_change: int
    at: EventPosition


RegistryEvent = OwnerChanged | DelegateChanged | AttributeChanged
EVENT_NAMES = ("DIDOwnerChanged", "DIDDelegateChanged", "DIDAttributeChanged")


# topic0 -> (event name, ABI types of the non-indexed fields), per the ERC-1056 interface.
_SIGNATURES = {
    "DIDOwnerChanged": ("address,uint256", ("address", "uint256")),
    "DIDDelegateChanged": (
        "bytes32,address,uint256,uint256",
        ("bytes32", "address", "uint256", "uint256"),
    ),
    "DIDAttributeChanged": (
        "bytes32,bytes,uint256,uint256",
        ("bytes32", "bytes", "uint256", "uint256"),
    ),
}
TOPICS: dict[str, tuple[str, tuple[str, ...]]] = {
    encode_hex(keccak(text=f"{name}(address,{fields})")): (name, types)
    for name, (fields, types) in _SIGNATURES.items()
}


def decode_event(log: Log, block_timestamp: int) -> RegistryEvent:
    """Decode one registry log; ``ValueError`` if it is not one of the three events."""
    if len(log.topics) != 2 or log.topics[0] not in TOPICS:
        raise ValueError("not an ERC-1056 registry event")
    name, types = TOPICS[log.topics[0]]
    identity = to_checksum_address("0x" + log.topics[1][-40:])
    try:
        fields = decode(types, log.data)
    except DecodingError as exc:
        raise ValueError(f"malformed {name} event: {exc}") from None
    at = EventPosition(log.block_number, log.log_index, log.transaction_hash, block_timestamp)
    if name == "DIDOwnerChanged":
        owner, previous = fields
        return OwnerChanged(identity, to_checksum_address(owner), previous, at)
    if name == "DIDDelegateChanged":
        delegate_type, delegate, valid_to, previous = fields
        return DelegateChanged(
            identity, bytes(delegate_type), to_checksum_address(delegate), valid_to, previous, at
        )
    attribute, value, valid_to, previous = fields
    return AttributeChanged(identity, bytes(attribute), bytes(value), valid_to, previous, at)
