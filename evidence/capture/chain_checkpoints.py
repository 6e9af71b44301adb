"""Checkpoints of a capture's hash chain: its head time-stamped every minute and at the
end, each RFC 3161 token recorded as a chain entry itself.

Spec: ``docs/capture-hash-chain.md`` §3; RFC 3161 (https://www.rfc-editor.org/rfc/rfc3161)
through any :class:`~evidence.timestamping.protocol.TimestampAuthority`. The token is
requested over the head entry's hash, itself a SHA-256 digest (§1).

The periodic pass runs on a :class:`hub_kernel.worker.Worker`: an authority that does
not answer is retried at the next tick (the worker backs off and keeps the reason); the
final stamp, at :meth:`Checkpointer.finish`, raises instead.
"""

from __future__ import annotations

import threading

from evidence.capture.chain_entry import TIMESTAMP, ChainEntry
from evidence.capture.hash_chain import HashChain
from evidence.timestamping.protocol import TimestampAuthority
from hub_kernel.worker import Worker

__all__ = ["DEFAULT_INTERVAL", "Checkpointer"]

#: Issue 15: "The chain's head is RFC 3161-timestamped every minute and at the end".
DEFAULT_INTERVAL = 60.0


def _sealed(head: ChainEntry) -> bool:
    # An item appended while a token was being fetched sits between the token and the
    # head it stamps: such a token entry still needs a stamp of its own.
    return head.kind == TIMESTAMP and head.stamp is not None and head.stamp.head_seq == head.seq - 1


class Checkpointer:
    """Stamps ``chain``'s head every ``interval`` seconds while started, and at the end."""

    def __init__(
        self,
        chain: HashChain,
        authority: TimestampAuthority,
        *,
        interval: float = DEFAULT_INTERVAL,
    ) -> None:
        self._chain = chain
        self._authority = authority
        self._worker = Worker(f"capture-checkpoints-{chain.path.stem}", self.stamp, interval)
        # One stamp at a time: the periodic pass and finish() must not both stamp a head.
        self._lock = threading.Lock()

    @property
    def last_error(self) -> str | None:
        """Why the last periodic stamp failed, None once one succeeds."""
        return self._worker.last_error

    def start(self) -> None:
        self._worker.start()

    def stamp(self) -> ChainEntry | None:
        """Stamp the head now, unless the chain is empty or already sealed (its head a
        token over the entry just before: nothing was added since); the token's entry,
        or None."""
        with self._lock:
            head = self._chain.head
            if head is None or _sealed(head):
                return None
            token = self._authority.timestamp(bytes.fromhex(head.hash), hash_algorithm="sha256")
            return self._chain.append_stamp(head, token)

    def stop(self) -> None:
        """Stop the periodic stamps without a final one (a session that failed)."""
        self._worker.stop()

    def finish(self) -> ChainEntry | None:
        """Stop the periodic stamps and stamp the final head: afterwards the chain is
        sealed (§4). Raises what the authority raised if it does not answer."""
        self._worker.stop()
        return self.stamp()
