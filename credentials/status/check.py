"""The verifier side of Bitstring Status Lists, with each list version checked on chain.

https://www.w3.org/TR/vc-bitstring-status-list/ §3.2 Validate Algorithm (steps 3-10),
strengthened by the hub's anchor (:mod:`credentials.status.anchor`). Two ways in:

* :func:`check_status` with a list credential fetched from anywhere (the hub, a
  mirror, the holder): it is accepted only when signed by the credential's issuer,
  naming a registry whose code is exactly the StatusListRegistry on the verifier's
  own chain, and holding the latest version the issuer published there; an old copy
  (stale), an altered one (tampered) and one never published are refused;
* :func:`check_status_on_chain` with nothing but a chain node: the latest version is
  read from the registry's log (:mod:`credentials.status.mirror`).

Both read the same on-chain copy and evaluate the bit in it, so the two cannot
disagree. Every problem is a :class:`credentials.errors.StatusError` (the spec's
error names as codes); a set bit is not a problem here: :class:`StatusCheck`
reports it.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from chain_adapter.protocol import Chain
from credentials.status.anchor import (
    StatusListAnchor,
    anchor_list_id,
    bits_digest,
    publisher_address,
)
from credentials.status.bitstring import (
    REVOCATION,
    SUSPENSION,
    StatusEntry,
    StatusList,
    StatusVerificationError,
    lookup,
    parse_entry,
    parse_list_credential,
)
from credentials.status.mirror import (
    AmbiguousStatusRegistry,
    ChainListVersion,
    StatusDigestMismatch,
    StatusListNeverPublished,
    StatusRetrievalError,
    read_chain_copy,
)
from credentials.verification import VerificationResult


@dataclass(frozen=True, slots=True)
class StatusCheck:
    purpose: str
    index: int
    list_url: str
    set: bool  # the entry's bit: revoked / suspended when True
    version: int  # the list version, as anchored
    anchored_at: int  # block timestamp of that version, seconds
    anchored_block: int  # block number of that version (its log is there)
    registry: str  # the StatusListRegistry that holds it, checksummed

    @property
    def revoked(self) -> bool:
        return self.set and self.purpose == REVOCATION

    @property
    def suspended(self) -> bool:
        return self.set and self.purpose == SUSPENSION

    @property
    def valid(self) -> bool:
        """§3.2 step 13: valid when the bit is 0."""
        return not self.set

    def to_json(self) -> dict[str, Any]:
        return {
            "purpose": self.purpose,
            "index": self.index,
            "statusListCredential": self.list_url,
            "status": int(self.set),
            "valid": self.valid,
            "listVersion": self.version,
            "anchoredAt": self.anchored_at,
            "anchoredBlock": self.anchored_block,
            "registry": self.registry,
        }


def check_status(
    entry: Mapping[str, Any],
    list_credential: Mapping[str, Any],
    *,
    chain: Chain,
    issuer_did: str,
    verify_list: Callable[[dict[str, Any]], VerificationResult],
) -> StatusCheck:
    """The status of a credential of ``issuer_did`` given its entry and a fetched list."""
    status_entry = parse_entry(entry)
    status_list = parse_list_credential(list_credential)
    if status_list.url != status_entry.list_url:
        raise StatusVerificationError(
            f"the status list credential is {status_list.url!r}, "
            f"not the entry's {status_entry.list_url}"
        )
    if status_list.issuer != issuer_did:
        raise StatusVerificationError(
            f"the status list is issued by {status_list.issuer}, not by the credential's "
            f"issuer {issuer_did}"
        )

    verified = verify_list(dict(list_credential))  # §3.2 step 4: every proof verifies
    if not verified.verified:
        reasons = "; ".join(p.message for p in verified.errors) or "no check passed"
        raise StatusVerificationError(f"the status list credential does not verify: {reasons}")

    anchor = StatusListAnchor.from_credential(list_credential)
    if anchor.chain_id != chain.chain_id:
        raise StatusVerificationError(
            f"the status list is anchored on chain {anchor.chain_id}, not on this chain "
            f"({chain.chain_id})"
        )
    if not hmac.compare_digest(anchor.list_id, anchor_list_id(status_entry.list_url)):
        raise StatusVerificationError("the status list's anchor names another list")
    publisher = publisher_address(issuer_did, chain.chain_id)
    latest = read_chain_copy(chain, status_entry.list_url, publisher, registry=anchor.registry)
    if not hmac.compare_digest(latest.digest, bits_digest(status_list.bits)):
        raise StatusVerificationError(
            f"status list {status_entry.list_url} is not its latest version "
            f"(version {latest.version}, anchored at block time {latest.updated_at}): "
            "it is stale or altered"
        )
    return _result(status_entry, status_list, latest)


def check_status_on_chain(
    entry: Mapping[str, Any], *, chain: Chain, issuer_did: str, registry: str | None = None
) -> StatusCheck:
    """The status of a credential of ``issuer_did`` from its entry and a chain node alone.

    The caller has verified the credential holding ``entry`` (so its issuer vouches
    for the list URL and the purpose: the chain's copy carries neither). The list is
    the latest version ``issuer_did``'s did:ethr identity published in ``registry``,
    or in the one StatusListRegistry on the chain that holds it.
    """
    status_entry = parse_entry(entry)
    publisher = publisher_address(issuer_did, chain.chain_id)
    latest = read_chain_copy(chain, status_entry.list_url, publisher, registry=registry)
    # The issuer publishes one purpose per list URL, and signed the entry naming both.
    status_list = StatusList(
        url=status_entry.list_url,
        issuer=issuer_did,
        purposes=(status_entry.purpose,),
        bits=latest.bits,
    )
    return _result(status_entry, status_list, latest)


def _result(entry: StatusEntry, status_list: StatusList, latest: ChainListVersion) -> StatusCheck:
    """§3.2 step 10 on the chain's bits (the same as the list's, when one was given)."""
    on_chain = StatusList(status_list.url, status_list.issuer, status_list.purposes, latest.bits)
    return StatusCheck(
        purpose=entry.purpose,
        index=entry.index,
        list_url=entry.list_url,
        set=lookup(entry, on_chain),
        version=latest.version,
        anchored_at=latest.updated_at,
        anchored_block=latest.updated_block,
        registry=latest.registry,
    )


__all__ = [
    "AmbiguousStatusRegistry",
    "StatusCheck",
    "StatusDigestMismatch",
    "StatusListNeverPublished",
    "StatusRetrievalError",
    "check_status",
    "check_status_on_chain",
]
