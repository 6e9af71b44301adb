"""``GET /readyz``: each dependency on its own, with its status and, when not ok, why.

Every entry is ``{"status": "ok" | "failing" | "degraded" | "unknown", "required": bool,
"reason": ...}`` plus its details. The hub is ready (200) when every required one is
ok; otherwise 503, ``reasons`` naming each required one that is not. Required: the
database, the chain node, the blob store, the evidence stages (not ready once one fails
repeatedly: issue 11) and the DID indexer (not ready once it is
``NOTARY_HUB_METRICS_INDEX_UNREADY_BLOCKS`` behind). Reported but not required:

- the timestamp authorities, as they answered the hub's last real request
  (:mod:`evidence.timestamping.health`: a probe token per readiness check would be
  charged or rate limited by an external TSA); a TSA down for long makes the timestamp
  stage fail repeatedly, which is required;
- anchoring's last error: the batcher retries, the chain's own entry says if it is down.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from chain_adapter.errors import ChainError
from evidence.local_blob_store import LocalBlobStore
from notary_hub.db import ping
from notary_hub.hub import Hub

Check = dict[str, Any]
PROBE_DIGEST = bytes(32)  # no content has it: a lookup that reaches the store


def ok(required: bool = True, **details: Any) -> Check:
    return {"status": "ok", "required": required, **details}


def not_ok(status: str, reason: str, required: bool = True, **details: Any) -> Check:
    return {"status": status, "required": required, "reason": reason, **details}


def readiness(hub: Hub) -> tuple[bool, dict[str, Any]]:
    """Whether the hub is ready, and the body: every dependency's check by name."""
    checks: dict[str, Check] = {}
    for name, check in _CHECKS.items():
        try:
            checks[name] = check(hub)
        except Exception as exc:  # a check that breaks is a dependency not known to work
            checks[name] = not_ok("failing", f"check failed: {type(exc).__name__}")
    reasons = {
        name: check.get("reason", check["status"])
        for name, check in checks.items()
        if check["required"] and check["status"] != "ok"
    }
    if reasons:
        return False, {"status": "unavailable", "error": "not_ready", "reasons": reasons, **checks}
    return True, {"status": "ready", **checks}


def _database(hub: Hub) -> Check:
    try:
        ping(hub.engine)
    except Exception as exc:  # any driver's error
        return not_ok("failing", f"unreachable: {type(exc).__name__}")
    return ok()


def _chain(hub: Hub) -> Check:
    try:
        return ok(chainId=hub.chain.chain_id, block=hub.chain.block_number())
    except ChainError as exc:
        return not_ok("failing", exc.message)


def _anchoring(hub: Hub) -> Check:
    error = hub.batcher.last_error
    if error:
        return not_ok("degraded", "the last batch failed; retrying", False, lastError=error)
    return ok(False)


def _timestamp_authorities(hub: Hub) -> Check:
    outcomes = hub.evidence.timestamps.health.outcomes()
    authorities = {
        name: {
            "status": "ok" if outcome.error is None else "failing",
            "at": datetime.fromtimestamp(outcome.at, UTC).isoformat(timespec="seconds"),
            **({"error": outcome.error} if outcome.error else {}),
        }
        for name, outcome in outcomes.items()
    }
    if not authorities:
        return not_ok("unknown", "not asked for a token yet", False)
    if all(entry["status"] == "failing" for entry in authorities.values()):
        return not_ok("failing", "every authority asked failed", False, authorities=authorities)
    return ok(False, authorities=authorities)


def _blob_store(hub: Hub) -> Check:
    blobs = hub.evidence.blobs
    if isinstance(blobs, LocalBlobStore):
        for directory in (blobs.objects_dir, blobs.tmp_dir):
            if not os.access(directory, os.W_OK | os.X_OK):
                return not_ok("failing", f"{directory.name} directory missing or not writable")
    try:
        blobs.exists(PROBE_DIGEST)  # S3: a HEAD, which needs the bucket and the credentials
    except Exception as exc:  # the store's errors and its client's
        return not_ok("failing", f"unreachable: {getattr(exc, 'message', type(exc).__name__)}")
    return ok()


def _evidence(hub: Hub) -> Check:
    """Stages failing now are reported; one failing repeatedly makes the hub not ready.

    A last error alone is not "not ready": a retried blip clears itself. A stage failing
    ``EVIDENCE_UNREADY_AFTER_FAILURES`` passes running, or for
    ``EVIDENCE_UNREADY_AFTER_SECONDS``, is: deposits are not being certified (issue 11).
    """
    pipeline = hub.evidence.pipeline
    cfg = hub.settings.evidence
    errors = pipeline.last_errors
    persistent = pipeline.persistent_errors(
        passes=cfg.unready_after_failures, seconds=cfg.unready_after_seconds
    )
    stages: dict[str, Any] = {}
    for stage in ("timestamp", "anchor", "certify"):
        if stage in persistent:
            stages[stage] = {"status": "failing", "lastError": persistent[stage]}
        elif stage in errors:
            stages[stage] = {"status": "retrying", "lastError": errors[stage]}
        else:
            stages[stage] = {"status": "ok"}
    details: dict[str, Any] = {"stages": stages, **({"lastErrors": errors} if errors else {})}
    if persistent:
        reason = "; ".join(
            f"{stage} stage failing repeatedly: {error}" for stage, error in persistent.items()
        )
        return not_ok("failing", reason, **details)
    return ok(**details)


def _did_index(hub: Hub) -> Check:
    cursor = hub.indexer.cursor()
    indexed = cursor.block_number if cursor is not None else None
    details: dict[str, Any] = {"block": indexed}
    if hub.indexer.last_error:
        details["lastError"] = hub.indexer.last_error
    try:
        head = hub.chain.block_number()
    except ChainError:
        return not_ok("unknown", "the chain's head is unknown", False, **details)
    confirmed = head - hub.settings.chain.confirmations
    if indexed is None:
        return not_ok("unknown", "nothing indexed yet", False, head=head, **details)
    behind = max(0, confirmed - indexed)
    limit = hub.settings.metrics.index_unready_blocks
    if behind >= limit:
        reason = f"{behind} blocks behind the chain (limit {limit})"
        return not_ok("failing", reason, head=head, behind=behind, **details)
    return ok(head=head, behind=behind, **details)


_CHECKS: dict[str, Callable[[Hub], Check]] = {
    "database": _database,
    "chain": _chain,
    "anchoring": _anchoring,
    "timestampAuthority": _timestamp_authorities,
    "blobStore": _blob_store,
    "evidence": _evidence,
    "didIndex": _did_index,
}
