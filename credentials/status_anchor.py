"""Status list versions anchored on chain: the ``statusListAnchor`` term and the registry.

Every version of a Bitstring Status List (https://www.w3.org/TR/vc-bitstring-status-list/)
the hub serves is first published in the ``StatusListRegistry`` contract
(``chain_adapter/contracts/StatusListRegistry.sol``): per (publisher, listId), the
latest digest, a version counter and the block time. A verifier holding a list from
any mirror then checks it is the latest one (§2.2 ``ttl`` caching becomes safe):

* ``listId`` = sha256 of the list credential's URL (its ``id``, UTF-8);
* ``digest`` = sha256 of the *uncompressed* bitstring, independent of gzip settings;
* the publisher is the issuer's did:ethr identity address (the hub's node account).

The list credential names the registry at top level, as the hub context's @json term
(https://w3id.org/notary-hub/v1):
``"statusListAnchor": {"chainId": 1337, "registry": "0x…", "listId": "0x…"}``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eth_utils.address import is_checksum_address, to_checksum_address

from chain_adapter.contract import BoundContract
from chain_adapter.transactor import Transactor
from credentials.bitstring_status_list import Bitstring, MalformedStatusValue
from credentials.errors import StatusError
from did_registry.errors import DidError
from did_registry.ethr_did import parse_ethr_did

ANCHOR_TERM = "statusListAnchor"
_BYTES32_HEX = re.compile(r"0x[0-9a-f]{64}")


def anchor_list_id(list_url: str) -> bytes:
    """The registry's ``listId`` of the list credential at ``list_url``."""
    return hashlib.sha256(list_url.encode("utf-8")).digest()


def publisher_address(issuer_did: str, chain_id: int) -> str:
    """The registry publisher of ``issuer_did``'s lists: its did:ethr identity on ``chain_id``."""
    try:
        did = parse_ethr_did(issuer_did, networks={chain_id: chain_id})
    except DidError as exc:
        raise StatusError(
            f"status lists are anchored by a did:ethr issuer on chain {chain_id}; "
            f"{issuer_did!r} is not one: {exc}"
        ) from exc
    return did.address


def bits_digest(bits: Bitstring) -> bytes:
    """The registry's ``digest`` of a list version: sha256 of the uncompressed bitstring."""
    return hashlib.sha256(bytes(bits)).digest()


@dataclass(frozen=True, slots=True)
class StatusListAnchor:
    chain_id: int
    registry: str  # EIP-55 checksummed
    list_id: bytes  # 32 bytes

    @classmethod
    def for_list(cls, list_url: str, *, chain_id: int, registry: str) -> StatusListAnchor:
        return cls(chain_id, to_checksum_address(registry), anchor_list_id(list_url))

    def to_json(self) -> dict[str, Any]:
        return {
            "chainId": self.chain_id,
            "registry": self.registry,
            "listId": "0x" + self.list_id.hex(),
        }

    @classmethod
    def from_credential(cls, credential: Mapping[str, Any]) -> StatusListAnchor:
        """The anchor a list credential names; MALFORMED_VALUE_ERROR when absent or malformed."""
        value = credential.get(ANCHOR_TERM)
        if value is None:
            raise MalformedStatusValue(
                f"the status list credential has no {ANCHOR_TERM}: it is not anchored on chain"
            )
        if not isinstance(value, Mapping) or set(value) != {"chainId", "registry", "listId"}:
            raise MalformedStatusValue(
                f"{ANCHOR_TERM} must be an object with exactly chainId, registry and listId"
            )
        chain_id, registry, list_id = value["chainId"], value["registry"], value["listId"]
        if isinstance(chain_id, bool) or not isinstance(chain_id, int) or chain_id <= 0:
            raise MalformedStatusValue(f"{ANCHOR_TERM}.chainId must be a positive integer")
        if not isinstance(registry, str) or not is_checksum_address(registry):
            raise MalformedStatusValue(f"{ANCHOR_TERM}.registry must be a checksummed address")
        if not isinstance(list_id, str) or not _BYTES32_HEX.fullmatch(list_id):
            raise MalformedStatusValue(f"{ANCHOR_TERM}.listId must be 0x and 64 lowercase hex")
        return cls(chain_id, registry, bytes.fromhex(list_id[2:]))


@dataclass(frozen=True, slots=True)
class AnchoredVersion:
    """What the registry holds for one list: version 0 means never published."""

    digest: bytes
    version: int
    updated_at: int  # block timestamp, seconds


@dataclass(frozen=True, slots=True)
class PublishedVersion:
    version: int
    digest: bytes
    tx_hash: str
    block_number: int


class RegistryPublisher:
    """Publishes list versions in a StatusListRegistry from the hub's node account."""

    def __init__(self, transactor: Transactor, registry: BoundContract) -> None:
        self.transactor = transactor
        self.registry = registry

    @property
    def address(self) -> str:
        return self.transactor.address

    @property
    def chain_id(self) -> int:
        return self.transactor.chain.chain_id

    def anchor_for(self, list_url: str) -> StatusListAnchor:
        return StatusListAnchor.for_list(
            list_url, chain_id=self.chain_id, registry=self.registry.address
        )

    def publish(self, list_id: bytes, digest: bytes) -> PublishedVersion:
        """One transaction; returns the version the registry assigned (from its event)."""
        receipt = self.registry.transact(self.transactor, "publish", list_id, digest)
        for event in self.registry.decode_logs(receipt, "StatusListPublished"):
            if event.args["listId"] == list_id and event.args["publisher"] == self.address:
                return PublishedVersion(
                    version=int(event.args["version"]),
                    digest=bytes(event.args["digest"]),
                    tx_hash=receipt.transaction_hash,
                    block_number=receipt.block_number,
                )
        raise StatusError(
            f"transaction {receipt.transaction_hash} published no status list version"
        )

    def latest(self, list_id: bytes) -> AnchoredVersion:
        return read_latest(self.registry, self.address, list_id)


def read_latest(registry: BoundContract, publisher: str, list_id: bytes) -> AnchoredVersion:
    digest, version, updated_at = registry.call("latest", publisher, list_id)
    return AnchoredVersion(bytes(digest), int(version), int(updated_at))
