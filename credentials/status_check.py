"""The verifier side of Bitstring Status Lists, with each list version checked on chain.

https://www.w3.org/TR/vc-bitstring-status-list/ §3.2 Validate Algorithm (steps 4-10),
strengthened by the hub's anchor (:mod:`credentials.status_anchor`): a list is
accepted only when it is signed by the credential's issuer, names a registry whose
code is exactly the StatusListRegistry on the verifier's own chain, and its
bitstring's sha256 is the latest digest the issuer published there. Where the list
came from (the hub, a mirror, the holder) does not matter; an old copy (stale), an
altered one (tampered) and one never published (unanchored) are refused.

Every problem is a :class:`credentials.errors.StatusError` (the spec's error names as
codes); a set bit is not a problem here: :class:`StatusCheck` reports it.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from chain_adapter.deploy import attach_status_lists
from chain_adapter.errors import ChainError, ContractNotFound
from chain_adapter.protocol import Chain
from credentials.bitstring_status_list import (
    REVOCATION,
    SUSPENSION,
    StatusVerificationError,
    lookup,
    parse_entry,
    parse_list_credential,
)
from credentials.errors import StatusError
from credentials.status_anchor import (
    StatusListAnchor,
    anchor_list_id,
    bits_digest,
    publisher_address,
    read_latest,
)
from credentials.verification import VerificationResult


class StatusRetrievalError(StatusError):
    """§3.5 STATUS_RETRIEVAL_ERROR: the chain could not be asked."""

    code = "STATUS_RETRIEVAL_ERROR"


@dataclass(frozen=True, slots=True)
class StatusCheck:
    purpose: str
    index: int
    list_url: str
    set: bool  # the entry's bit: revoked / suspended when True
    version: int  # the list version, as anchored
    anchored_at: int  # block timestamp of that version, seconds

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
    try:
        registry = attach_status_lists(chain, anchor.registry)
        latest = read_latest(registry, publisher, anchor.list_id)
    except ContractNotFound as exc:
        raise StatusVerificationError(
            f"the status list's anchor registry {anchor.registry} is not a StatusListRegistry: "
            f"{exc.message}"
        ) from exc
    except ChainError as exc:
        raise StatusRetrievalError(f"the status list anchor could not be read: {exc}") from exc
    if latest.version == 0:
        raise StatusVerificationError(
            f"status list {status_entry.list_url} was never anchored by {publisher}"
        )
    if not hmac.compare_digest(latest.digest, bits_digest(status_list.bits)):
        raise StatusVerificationError(
            f"status list {status_entry.list_url} is not its latest version "
            f"(version {latest.version}, anchored at block time {latest.updated_at}): "
            "it is stale or altered"
        )
    return StatusCheck(
        purpose=status_entry.purpose,
        index=status_entry.index,
        list_url=status_entry.list_url,
        set=lookup(status_entry, status_list),
        version=latest.version,
        anchored_at=latest.updated_at,
    )


__all__ = ["StatusCheck", "StatusRetrievalError", "check_status"]
