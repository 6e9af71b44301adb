"""The hub's draws in the draw registry on chain: which key, which values, and what the
export's ``chain.json`` says about them (``docs/draw-algorithm.md`` §6.1, "The chain
record", defines ``drawKey`` and ``sourcesHash`` byte for byte).

The registry (:mod:`evidence.draw.registry`, ``DrawRegistry.sol``) is the state machine;
this module decides what the hub writes to it:

- ``drawKey`` (§6.1): one record per draw;
- ``sourcesHash`` (§6.1): the configuration's randomness sources as declared;
- the commitment's other values are the configuration's (§3.1), the candidate root and
  count.

A commit that reached the chain but not the hub's database (a crash between the two) is
adopted on the next try when the record on chain is this very commitment; a result the
same way. Anything else the contract refuses reaches the caller as its error.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from evidence.draw.config import DrawConfig, canonical_json
from evidence.draw.drand import BeaconConfig
from evidence.draw.registry import DrawCommitment, DrawRegistry, DrawResult
from evidence.draw.registry_errors import DrawAlreadyCommitted, DrawAlreadyPublished

DRAW_KEY_TAG = b"notary-hub-draw/1 draw"


def draw_key(draw_id: str) -> bytes:
    """§6.1: ``H("notary-hub-draw/1 draw" ‖ utf8(drawId))``, no length prefix."""
    return hashlib.sha256(DRAW_KEY_TAG + draw_id.encode("utf-8")).digest()


def sources_hash(config: DrawConfig) -> bytes:
    """§6.1: ``H(JCS({"beacon", "notaryCommitment", "publicValues"}))`` of the config."""
    document = config.document
    sources = {
        "beacon": document["beacon"],
        "notaryCommitment": document["notaryCommitment"],
        "publicValues": document["publicValues"],
    }
    return hashlib.sha256(canonical_json(sources)).digest()


def beacon_of(config: DrawConfig) -> BeaconConfig:
    return BeaconConfig.from_config(config.document["beacon"])


def commitment_of(config: DrawConfig, candidate_root: bytes, count: int) -> DrawCommitment:
    return DrawCommitment.for_beacon(
        beacon_of(config),
        config_hash=config.config_hash,
        candidate_root=candidate_root,
        count=count,
        sources_hash=sources_hash(config),
        notary_commitment=config.notary_commitment,
    )


@dataclass(frozen=True)
class ChainPlace:
    """Where the records are: the chain's id and the registry's address."""

    chain_id: int
    contract: str


class DrawChainRecords:
    """The hub's writes of its draws' records, each once."""

    def __init__(self, registry: DrawRegistry, chain_id: int) -> None:
        self.registry = registry
        self.place = ChainPlace(chain_id, registry.address)

    def commit(self, config: DrawConfig, candidate_root: bytes, count: int) -> dict[str, Any]:
        """The draw committed on chain: ``chain.json``'s members so far."""
        key = draw_key(config.draw_id)
        commitment = commitment_of(config, candidate_root, count)
        self.registry.ensure_network(beacon_of(config))
        try:
            receipt = self.registry.commit(key, commitment)
        except DrawAlreadyCommitted:
            record = self.registry.record(key)
            if record is None or record.commitment != commitment:
                raise
            return self._chain_json(key, None, record.committed_block)
        return self._chain_json(key, receipt.transaction_hash, receipt.block_number)

    def publish(self, draw_id: str, result: DrawResult) -> str | None:
        """The result on chain; its transaction (None when it was already there)."""
        key = draw_key(draw_id)
        try:
            receipt = self.registry.publish_result(key, result)
            return str(receipt.transaction_hash)
        except DrawAlreadyPublished:
            record = self.registry.record(key)
            if record is None or record.result is None or not _same(record.result, result):
                raise
            return None

    def _chain_json(self, key: bytes, tx: str | None, block: int) -> dict[str, Any]:
        return {
            "chainId": self.place.chain_id,
            "contract": self.place.contract,
            "drawKey": key.hex(),
            "commitTx": tx,
            "commitBlock": block,
        }


def _same(on_chain: DrawResult, ours: DrawResult) -> bool:
    fields = ("used_round", "beacon_randomness", "notary_secret", "seed", "result_root", "winners")
    return all(getattr(on_chain, f) == getattr(ours, f) for f in fields)
