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

from eth_utils.address import to_checksum_address

from chain_adapter.contract import BoundContract, DecodedEvent
from chain_adapter.errors import ReceiptTimeout, TransactionRejected
from chain_adapter.protocol import Chain, Receipt
from chain_adapter.transactor import Transactor
from did_registry.errors import Deactivated, InvalidNonce, InvalidSignature, NotOwner
from did_registry.registrar.operations import (
    ZERO_ADDRESS,
    Operation,
    checked_address,
    encode_operation,
)
from did_registry.registrar.signatures import (
    SignatureInput,
    meta_digest,
    parse_signature,
    recover_signer,
)

_REPLAY_WINDOW = 16  # earlier nonces tried to tell a replay from a wrong signer
_LOCK_STRIPES = 64


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

    @property
    def chain(self) -> Chain:
        """The chain the registry is on (what a chain walk reads)."""
        return self._transactor.chain

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
            try:
                with self._transactor.sending():
                    signed = self._transactor.build(to, data)
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
