"""The chain as a mirror of every status list: the latest version read from any node.

https://www.w3.org/TR/vc-bitstring-status-list/ §3.2 Validate Algorithm, step 3
("dereference" the status list) done without the list's server: each version the
hub publishes in the StatusListRegistry (:mod:`credentials.status.anchor`) carries
the list's GZIP bytes (§3.3) in its ``StatusListPublished`` event, and ``latest()``
names the block of the latest version's log. So a verifier with a JSON-RPC URL reads
``latest()``, fetches that one block's log, inflates the list (§3.4) and checks its
sha256 against the digest in storage.

Which registry: given, or found like the DID registry is
(:mod:`did_registry.ethr.registry_discovery`): one ``eth_getLogs`` over the chain for the
event, the publisher and the list (no address), keeping only contracts whose code
is exactly the StatusListRegistry. A look-alike emitting the same event is ignored,
and a genuine copy holds the publisher's lists only if the publisher sent them,
because the registry keys lists by ``msg.sender``. Two genuine registries holding
the same list are ambiguous: the caller names one.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from eth_utils.abi import event_abi_to_log_topic
from eth_utils.address import to_checksum_address

from chain_adapter.artifacts import load_artifact
from chain_adapter.contract import BoundContract
from chain_adapter.deploy import STATUS_LIST_REGISTRY, attach_status_lists
from chain_adapter.errors import ChainError, ContractNotFound
from chain_adapter.protocol import Chain, LogFilter
from credentials.errors import StatusError
from credentials.status.anchor import (
    PUBLISHED_EVENT,
    anchor_list_id,
    bits_digest,
    read_latest,
)
from credentials.status.bitstring import (
    MIN_ENTRIES,
    Bitstring,
    MalformedStatusValue,
    StatusListLengthError,
    StatusVerificationError,
    expand_bits,
)


class StatusRetrievalError(StatusError):
    """§3.5 STATUS_RETRIEVAL_ERROR: the chain could not be asked, or did not answer fully."""

    code = "STATUS_RETRIEVAL_ERROR"


class StatusListNeverPublished(StatusVerificationError):
    """The issuer never published the list on this chain (or not in the registry named)."""


class AmbiguousStatusRegistry(StatusError):
    """Several genuine registries hold the list: the verifier must name the one to trust."""

    code = "AMBIGUOUS_STATUS_REGISTRY"
    status_code = 409


class StatusDigestMismatch(StatusVerificationError):
    """The chain's copy of a version is not the bitstring its digest names."""


@dataclass(frozen=True, slots=True)
class ChainListVersion:
    """The latest version of one list, as published on chain, its bits checked."""

    registry: str
    version: int
    digest: bytes
    updated_at: int  # block timestamp, seconds
    updated_block: int
    bits: Bitstring


def published_topic() -> str:
    """topic0 of ``StatusListPublished``, from the registry's own ABI."""
    event = load_artifact(STATUS_LIST_REGISTRY).event_abi(PUBLISHED_EVENT)
    return "0x" + event_abi_to_log_topic(event).hex()  # type: ignore[arg-type]


def find_status_registries(chain: Chain, publisher: str, list_id: bytes) -> list[str]:
    """Genuine StatusListRegistry contracts where ``publisher`` published list ``list_id``."""
    publisher_topic = "0x" + to_checksum_address(publisher)[2:].lower().rjust(64, "0")
    logs = chain.get_logs(
        LogFilter(
            from_block=0,
            to_block="latest",
            topics=(published_topic(), publisher_topic, "0x" + list_id.hex()),
        )
    )
    code = load_artifact(STATUS_LIST_REGISTRY).deployed_bytecode
    emitters = sorted({to_checksum_address(log.address) for log in logs})
    return [address for address in emitters if chain.get_code(address) == code]


def read_chain_copy(
    chain: Chain, list_url: str, publisher: str, *, registry: str | None = None
) -> ChainListVersion:
    """The latest version of ``publisher``'s list at ``list_url``, from the chain alone.

    ``registry`` (a checksummed or lowercase address) skips discovery. Raises
    :class:`StatusListNeverPublished`, :class:`AmbiguousStatusRegistry`,
    :class:`StatusDigestMismatch`, :class:`StatusRetrievalError`, or
    :class:`StatusVerificationError` when ``registry`` is not a StatusListRegistry.
    """
    list_id = anchor_list_id(list_url)
    try:
        bound = _registry(chain, list_url, publisher, list_id, registry)
        latest = read_latest(bound, publisher, list_id)
        if latest.version == 0:
            raise StatusListNeverPublished(
                f"status list {list_url} was never published by {publisher} in the "
                f"StatusListRegistry at {bound.address} on chain {chain.chain_id}"
            )
        events = bound.events(
            PUBLISHED_EVENT,
            from_block=latest.updated_block,
            to_block=latest.updated_block,
            argument_filters={"publisher": publisher, "listId": list_id},
        )
    except ChainError as exc:
        raise StatusRetrievalError(
            f"status list {list_url} could not be read from chain {chain.chain_id}: {exc}"
        ) from exc
    logged = [e for e in events if int(e.args["version"]) == latest.version]
    if not logged:
        # A genuine registry always logs the version it stores: the node lost the log.
        raise StatusRetrievalError(
            f"the node has no log of version {latest.version} of status list {list_url} in "
            f"block {latest.updated_block} (does it prune logs?); ask another node"
        )
    where = f"version {latest.version} of status list {list_url} on chain {chain.chain_id}"
    bits = _expand(bytes(logged[-1].args["encodedList"]), where)
    if not hmac.compare_digest(bits_digest(bits), latest.digest):
        raise StatusDigestMismatch(
            f"the on-chain copy of {where} does not hash to its published digest "
            f"0x{latest.digest.hex()}"
        )
    return ChainListVersion(
        registry=bound.address,
        version=latest.version,
        digest=latest.digest,
        updated_at=latest.updated_at,
        updated_block=latest.updated_block,
        bits=bits,
    )


def _registry(
    chain: Chain, list_url: str, publisher: str, list_id: bytes, registry: str | None
) -> BoundContract:
    if registry is not None:
        try:
            return attach_status_lists(chain, registry)
        except ContractNotFound as exc:
            raise StatusVerificationError(
                f"{registry} is not a StatusListRegistry: {exc.message}"
            ) from exc
    found = find_status_registries(chain, publisher, list_id)
    if not found:
        raise StatusListNeverPublished(
            f"status list {list_url} was never published by {publisher} on chain "
            f"{chain.chain_id}: no StatusListRegistry holds it"
        )
    if len(found) > 1:
        raise AmbiguousStatusRegistry(
            f"status list {list_url} of {publisher} is published in {len(found)} "
            f"StatusListRegistry contracts on chain {chain.chain_id} ({', '.join(found)}): "
            "name the registry to trust"
        )
    return attach_status_lists(chain, found[0])


def _expand(encoded: bytes, where: str) -> Bitstring:
    try:  # inflating is bounded by expand_bits' own limit
        bits = expand_bits(encoded)
    except MalformedStatusValue as exc:
        raise StatusDigestMismatch(
            f"the on-chain copy of {where} is not a GZIP bitstring: {exc}"
        ) from exc
    if len(bits) < MIN_ENTRIES:  # §3.2 step 9, with statusSize 1
        raise StatusListLengthError(
            f"{where} has {len(bits)} entries, fewer than the minimum {MIN_ENTRIES}"
        )
    return bits
