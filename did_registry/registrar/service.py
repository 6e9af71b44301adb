"""ERC-1056 registrar: owner changes, delegates, attributes and deactivation of did:ethr DIDs.

ERC-1056 (https://eips.ethereum.org/EIPS/eip-1056), "Identity Ownership", "Delegate
Management", "Attribute Management" and their ``...Signed`` forms; did:ethr method
specification, "Update" and "Delete (Revoke)" (deactivation = owner set to ``0x0``).

Two paths, one check list:

* :meth:`Registrar.execute`, for identities the hub's node account owns: a plain
  call whose ``msg.sender`` is the owner.
* :meth:`Registrar.digest` then :meth:`Registrar.relay`, for holders who keep their
  key and have no funds: the holder signs the meta-transaction digest
  ``keccak256(0x19 ‖ 0x00 ‖ registry ‖ nonce[identityOwner(identity)] ‖ identity ‖
  "<function>" ‖ args)`` (tightly packed, ERC-191 version 0 "intended validator")
  and the hub sends the ``...Signed`` call, paying the gas.

Operation syntax and sizes, the signer (= current owner), the nonce and
deactivation are all checked *before* anything is sent, and gas estimation then
refuses whatever the contract would still revert: bad input never costs a
transaction.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from eth_abi.packed import encode_packed
from eth_keys.datatypes import Signature
from eth_keys.exceptions import BadSignature
from eth_utils.address import is_checksum_address, is_hex_address, to_checksum_address
from eth_utils.crypto import keccak
from eth_utils.exceptions import ValidationError as EthKeysValidationError

from chain_adapter.contract import BoundContract, DecodedEvent
from chain_adapter.errors import ReceiptTimeout, TransactionRejected
from chain_adapter.protocol import Receipt
from chain_adapter.transactor import Transactor
from did_registry.errors import (
    Deactivated,
    InvalidAttribute,
    InvalidNonce,
    InvalidOperation,
    InvalidSignature,
    NotOwner,
)
from did_registry.ethr.attributes import to_bytes32, validate_attribute

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
YEAR = 31_557_600  # a Julian year (365.25 days) in seconds
MAX_VALIDITY = 100 * YEAR
# The only delegate types a did:ethr document shows; any other would be invisible.
DELEGATE_TYPES = ("veriKey", "sigAuth")
# secp256k1 group order (SEC 2 §2.4.1); EIP-2 makes s > n/2 non-canonical.
_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_REPLAY_WINDOW = 16  # earlier nonces tried to tell a replay from a wrong signer
_LOCK_STRIPES = 64


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


def meta_digest(registry: str, owner_nonce: int, identity: str, op: Operation) -> bytes:
    """The ERC-1056 meta-transaction digest the identity's owner signs for ``op``."""
    function, _, packed = encode_operation(op)
    head = encode_packed(
        ["bytes1", "bytes1", "address", "uint256", "address"],
        [b"\x19", b"\x00", registry, owner_nonce, identity],
    )
    return keccak(head + function.encode("ascii") + packed)


SignatureInput = bytes | str | tuple[int, int | bytes, int | bytes]


def parse_signature(signature: SignatureInput) -> tuple[int, int, int]:
    """(v in {27, 28}, r, s) from 65 bytes / hex ``r ‖ s ‖ v`` or a ``(v, r, s)`` tuple."""
    if isinstance(signature, str):
        text = signature.removeprefix("0x")
        try:
            signature = bytes.fromhex(text)
        except ValueError:
            raise InvalidSignature("the signature is not hex") from None
    if isinstance(signature, bytes | bytearray):
        if len(signature) != 65:
            raise InvalidSignature(f"a signature is 65 bytes (r ‖ s ‖ v), not {len(signature)}")
        v: object = signature[64]
        r: object = int.from_bytes(signature[:32], "big")
        s: object = int.from_bytes(signature[32:64], "big")
    elif isinstance(signature, tuple) and len(signature) == 3:
        v, r, s = (int.from_bytes(x, "big") if isinstance(x, bytes) else x for x in signature)
    else:
        raise InvalidSignature("a signature is 65 bytes or (v, r, s)")
    if isinstance(v, bool) or not isinstance(v, int) or v not in (0, 1, 27, 28):
        raise InvalidSignature(f"signature v must be 27 or 28 (or 0 or 1), not {v!r}")
    for label, value in (("r", r), ("s", s)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < _SECP256K1_N:
            raise InvalidSignature(f"signature {label} is out of range")
    assert isinstance(r, int) and isinstance(s, int)
    if s > _SECP256K1_N // 2:
        raise InvalidSignature("signature s is in the upper half of the order (EIP-2)")
    return (v if v >= 27 else v + 27), r, s


def recover_signer(digest: bytes, vrs: tuple[int, int, int]) -> str:
    """The address whose key made signature ``vrs`` over the 32-byte ``digest``."""
    v, r, s = vrs
    try:
        public = Signature(vrs=(v - 27, r, s)).recover_public_key_from_msg_hash(digest)
    except (BadSignature, EthKeysValidationError) as exc:
        raise InvalidSignature(f"the signature does not recover a key: {exc}") from None
    return str(public.to_checksum_address())


@dataclass(frozen=True, slots=True)
class SigningRequest:
    """What a holder signs for one operation, and against which state it was computed."""

    digest: bytes
    nonce: int
    owner: str
    identity: str
    registry: str


class OperationPending(ReceiptTimeout):
    """Sent, but not mined (or confirmed) in time; ``tx_hash`` is out there and may still land."""

    code = "operation_pending"

    def __init__(self, message: str, tx_hash: str) -> None:
        super().__init__(message)
        self.tx_hash = tx_hash


class Registrar:
    """ERC-1056 operations on one registry, sent and paid for by the hub's node account.

    Relays for one owner are serialised (check, send, wait) so that a replay cannot
    pass the nonce check while the original is still in flight.
    """

    def __init__(
        self, transactor: Transactor, registry: BoundContract, *, from_block: int = 0
    ) -> None:
        self._transactor = transactor
        self._registry = registry
        self._from_block = from_block  # the registry's deployment block: no events before it
        self._locks = [threading.Lock() for _ in range(_LOCK_STRIPES)]

    @property
    def address(self) -> str:
        """The node account that sends (and, for :meth:`execute`, owns)."""
        return self._transactor.address

    @property
    def registry(self) -> BoundContract:
        return self._registry

    @property
    def chain_id(self) -> int:
        return self._transactor.chain.chain_id

    def head_timestamp(self) -> int:
        """The latest block's time: what "still valid" is judged against on chain."""
        return self._transactor.chain.get_block("latest").timestamp

    def owner(self, identity: str) -> str:
        return to_checksum_address(self._registry.call("identityOwner", identity))

    def nonce(self, owner: str) -> int:
        return int(self._registry.call("nonce", owner))

    def events(self, identity: str, event_name: str) -> list[DecodedEvent]:
        """``identity``'s ``event_name`` events, oldest first."""
        found = self._registry.events(
            event_name, self._from_block, "latest", {"identity": identity}
        )
        return sorted(found, key=lambda e: (e.log.block_number, e.log.log_index))

    def is_deactivated(self, identity: str) -> bool:
        """True once the owner was ever set to 0x0: resolvers stop reading history there."""
        if int(self._registry.call("changed", identity)) == 0:
            return False
        return any(
            e.args["owner"] == ZERO_ADDRESS for e in self.events(identity, "DIDOwnerChanged")
        )

    def execute(self, identity: str, op: Operation) -> Receipt:
        """Apply ``op`` to an identity the node account owns."""
        identity = checked_address(identity, "identity")
        self._refuse_deactivated(identity)
        owner = self.owner(identity)
        if owner != self.address:
            raise NotOwner(f"{identity} is owned by {owner}, not by this hub's node {self.address}")
        function, args, _ = encode_operation(op)
        return self._send_and_wait(self._registry.encode(function, identity, *args))

    def signing_request(self, identity: str, op: Operation) -> SigningRequest:
        """The digest the current owner of ``identity`` must sign for ``op``, with its nonce."""
        identity = checked_address(identity, "identity")
        self._refuse_deactivated(identity)
        owner = self.owner(identity)
        nonce = self.nonce(owner)
        digest = meta_digest(self._registry.address, nonce, identity, op)
        return SigningRequest(digest, nonce, owner, identity, self._registry.address)

    def digest(self, identity: str, op: Operation) -> bytes:
        return self.signing_request(identity, op).digest

    def relay(
        self,
        identity: str,
        op: Operation,
        signature: SignatureInput,
        *,
        nonce: int | None = None,
    ) -> Receipt:
        """Check the owner's signature over ``op`` and send it as a meta-transaction.

        ``nonce`` is the nonce the holder signed over (as :meth:`signing_request` gave
        it); when given, any other value is refused as :class:`InvalidNonce` before the
        signature is even looked at.
        """
        identity = checked_address(identity, "identity")
        v, r, s = parse_signature(signature)
        with self._locks[int(self.owner(identity)[2:], 16) % _LOCK_STRIPES]:
            self._refuse_deactivated(identity)
            owner = self.owner(identity)
            current = self.nonce(owner)
            if nonce is not None and nonce != current:
                raise InvalidNonce(
                    f"signed over nonce {nonce}, but the owner's nonce is {current}: "
                    f"{'a replay or stale' if nonce < current else 'not yet valid'}"
                )
            digest = meta_digest(self._registry.address, current, identity, op)
            signer = recover_signer(digest, (v, r, s))
            if signer != owner:
                self._explain_wrong_signer(identity, op, (v, r, s), owner, current, signer)
            function, args, _ = encode_operation(op)
            data = self._registry.encode(
                function + "Signed",
                identity,
                v,
                r.to_bytes(32, "big"),
                s.to_bytes(32, "big"),
                *args,
            )
            return self._send_and_wait(data)

    # -- internals --------------------------------------------------------------------

    def _refuse_deactivated(self, identity: str) -> None:
        if self.is_deactivated(identity):
            raise Deactivated(f"{identity} is deactivated; its DID can no longer change")

    def _explain_wrong_signer(
        self,
        identity: str,
        op: Operation,
        vrs: tuple[int, int, int],
        owner: str,
        current: int,
        signer: str,
    ) -> None:
        # The owner's signature over an earlier nonce recovers another address at the
        # current one; recognising it turns "wrong signer" into the truer "replay".
        for earlier in range(current - 1, max(-1, current - 1 - _REPLAY_WINDOW), -1):
            digest = meta_digest(self._registry.address, earlier, identity, op)
            try:
                if recover_signer(digest, vrs) == owner:
                    raise InvalidNonce(
                        f"signed over nonce {earlier}, but the owner's nonce is {current}: "
                        "a replay or stale signature"
                    )
            except InvalidSignature:
                continue
        raise InvalidSignature(f"signed by {signer}, but {identity} is owned by {owner}")

    def _send_and_wait(self, data: bytes) -> Receipt:
        to = self._registry.address
        for retry in (False, True):
            # build() estimates gas first: what the contract would revert stops here.
            signed = self._transactor.build(to, data)
            try:
                tx_hash = self._transactor.send(signed)
                break
            except TransactionRejected:
                # Our node nonce was taken (another process of this hub sent); the
                # rejected bytes were not taken, so re-signing cannot execute twice.
                if retry:
                    raise
        try:
            return self._transactor.wait(tx_hash)
        except ReceiptTimeout as exc:
            raise OperationPending(exc.message, tx_hash) from None
