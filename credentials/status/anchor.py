"""Status list versions published on chain: the ``statusListAnchor`` term and the registry.

Every version of a Bitstring Status List (https://www.w3.org/TR/vc-bitstring-status-list/)
the hub serves is first published in the ``StatusListRegistry`` contract
(``chain_adapter/contracts/StatusListRegistry.sol``): per (publisher, listId), the
latest digest, a version counter, the block time and block number in storage, and the
list itself (its GZIP bytes, §3.3) in the version's event log. A verifier holding a
list from any mirror checks it is the latest one (§2.2 ``ttl`` caching becomes
safe); a verifier holding nothing reads the latest one from any chain node
(:mod:`credentials.status.mirror`):

* ``listId`` = sha256 of the list credential's URL (its ``id``, UTF-8);
* ``digest`` = sha256 of the *uncompressed* bitstring, independent of gzip settings;
* ``encodedList`` = the credential's ``encodedList`` after multibase decoding, at most
  :data:`MAX_ENCODED_LIST` bytes (the contract's cap);
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
from credentials.errors import StatusError
from credentials.status.bitstring import Bitstring, MalformedStatusValue, expand_bits
from did_registry.errors import DidError
from did_registry.ethr.did import parse_ethr_did

ANCHOR_TERM = "statusListAnchor"
PUBLISHED_EVENT = "StatusListPublished"
MAX_ENCODED_LIST = 65_536  # StatusListRegistry.MAX_ENCODED_LIST: the GZIP bytes of one version
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
    updated_block: int  # the block whose log carries this version's list


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

    def publish(self, list_id: bytes, encoded_list: bytes) -> PublishedVersion:
        """Publish one version: its GZIP bytes ``encoded_list`` and their bits' digest.

        The digest is computed here, from the very bytes sent, so the chain's copy
        always hashes to the digest it is published with. One transaction; returns
        the version the registry assigned (from its event). A list over
        :data:`MAX_ENCODED_LIST` bytes, or one that does not inflate, is refused
        before anything is sent.
        """
        if not 0 < len(encoded_list) <= MAX_ENCODED_LIST:
            raise StatusError(
                f"a status list version is 1 to {MAX_ENCODED_LIST} GZIP bytes on chain, "
                f"not {len(encoded_list)}"
            )
        try:
            digest = bits_digest(expand_bits(encoded_list))
        except MalformedStatusValue as exc:
            raise StatusError(f"the status list to publish is not a GZIP bitstring: {exc}") from exc
        receipt = self.registry.transact(self.transactor, "publish", list_id, digest, encoded_list)
        for event in self.registry.decode_logs(receipt, PUBLISHED_EVENT):
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
    digest, version, updated_at, updated_block = registry.call("latest", publisher, list_id)
    return AnchoredVersion(bytes(digest), int(version), int(updated_at), int(updated_block))
