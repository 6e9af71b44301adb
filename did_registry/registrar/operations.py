"""ERC-1056 registrar operations: what a change of a did:ethr DID is, checked on construction.

ERC-1056 (https://eips.ethereum.org/EIPS/eip-1056), "Identity Ownership", "Delegate
Management" and "Attribute Management"; did:ethr method specification, "Update" and
"Delete (Revoke)" (deactivation = owner set to ``0x0``). Each operation refuses, when
built, what the registry or a did:ethr resolver could not carry
(:class:`~did_registry.errors.InvalidOperation`, :class:`~did_registry.errors.InvalidAttribute`);
:func:`encode_operation` gives the registry call and its tightly packed arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_abi.packed import encode_packed
from eth_utils.address import is_checksum_address, is_hex_address, to_checksum_address

from did_registry.errors import InvalidAttribute, InvalidOperation
from did_registry.ethr.attributes import to_bytes32, validate_attribute

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
YEAR = 31_557_600  # a Julian year (365.25 days) in seconds
MAX_VALIDITY = 100 * YEAR
# The only delegate types a did:ethr document shows; any other would be invisible.
DELEGATE_TYPES = ("veriKey", "sigAuth")


def checked_address(value: object, what: str) -> str:
    """``value`` as an EIP-55 address; mixed case must carry a correct checksum."""
    if not isinstance(value, str) or not is_hex_address(value) or not value.startswith("0x"):
        raise InvalidOperation(f"{what} {value!r} is not a 0x-prefixed Ethereum address")
    body = value[2:]
    if body not in (body.lower(), body.upper()) and not is_checksum_address(value):
        raise InvalidOperation(f"{what} {value} has a wrong EIP-55 checksum")
    return to_checksum_address(value)


def _validity(value: object) -> int:
    # Zero would be expired on arrival (the hub would pay for nothing); the upper bound
    # catches milliseconds sent as seconds and keeps validTo far from overflow.
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_VALIDITY:
        raise InvalidOperation(f"validity must be 1..{MAX_VALIDITY} seconds (100 years)")
    return value


def _delegate_type(value: object) -> str:
    if value not in DELEGATE_TYPES:
        raise InvalidAttribute(f"delegate type must be one of {DELEGATE_TYPES}, not {value!r}")
    return str(value)


def _delegate(value: object) -> str:
    address = checked_address(value, "delegate")
    if address == ZERO_ADDRESS:
        raise InvalidOperation("the zero address cannot be a delegate")
    return address


@dataclass(frozen=True, slots=True)
class ChangeOwner:
    new_owner: str

    def __post_init__(self) -> None:
        owner = checked_address(self.new_owner, "new owner")
        if owner == ZERO_ADDRESS:
            raise InvalidOperation("an owner of 0x0 deactivates the DID for good: use Deactivate")
        object.__setattr__(self, "new_owner", owner)


@dataclass(frozen=True, slots=True)
class Deactivate:
    """did:ethr "Delete": the owner becomes ``0x0`` and resolvers report the DID deactivated."""


@dataclass(frozen=True, slots=True)
class AddDelegate:
    delegate_type: str
    delegate: str
    validity: int

    def __post_init__(self) -> None:
        _delegate_type(self.delegate_type)
        object.__setattr__(self, "delegate", _delegate(self.delegate))
        _validity(self.validity)


@dataclass(frozen=True, slots=True)
class RevokeDelegate:
    delegate_type: str
    delegate: str

    def __post_init__(self) -> None:
        _delegate_type(self.delegate_type)
        object.__setattr__(self, "delegate", _delegate(self.delegate))


@dataclass(frozen=True, slots=True)
class SetAttribute:
    """``name`` is the text of the bytes32 name (``did/pub/...``, ``did/svc/...``, other)."""

    name: str
    value: bytes
    validity: int

    def __post_init__(self) -> None:
        validate_attribute(to_bytes32(self.name), self.value)
        object.__setattr__(self, "value", bytes(self.value))
        _validity(self.validity)


@dataclass(frozen=True, slots=True)
class RevokeAttribute:
    name: str
    value: bytes

    def __post_init__(self) -> None:
        validate_attribute(to_bytes32(self.name), self.value)
        object.__setattr__(self, "value", bytes(self.value))


Operation = ChangeOwner | Deactivate | AddDelegate | RevokeDelegate | SetAttribute | RevokeAttribute


def encode_operation(op: Operation) -> tuple[str, tuple[Any, ...], bytes]:
    """(ERC-1056 function name, its arguments after ``identity``, the same tightly packed)."""
    if isinstance(op, ChangeOwner | Deactivate):
        owner = op.new_owner if isinstance(op, ChangeOwner) else ZERO_ADDRESS
        return "changeOwner", (owner,), encode_packed(["address"], [owner])
    if isinstance(op, AddDelegate):
        args: tuple[Any, ...] = (to_bytes32(op.delegate_type), op.delegate, op.validity)
        return "addDelegate", args, encode_packed(["bytes32", "address", "uint256"], args)
    if isinstance(op, RevokeDelegate):
        args = (to_bytes32(op.delegate_type), op.delegate)
        return "revokeDelegate", args, encode_packed(["bytes32", "address"], args)
    if isinstance(op, SetAttribute):
        args = (to_bytes32(op.name), op.value, op.validity)
        return "setAttribute", args, encode_packed(["bytes32", "bytes", "uint256"], args)
    args = (to_bytes32(op.name), op.value)
    return "revokeAttribute", args, encode_packed(["bytes32", "bytes"], args)
