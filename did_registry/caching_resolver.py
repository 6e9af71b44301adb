"""A per-process resolution cache that can never serve a stale document.

W3C DID Resolution §4 (https://w3c.github.io/did-resolution/#resolving): the same
DID with the same options at the same chain position resolves to the same result.
So each result is kept with the head it was resolved at and served only while the
head is still that one. The head is asked for on every resolution: for the index,
the cursor row the indexer commits, which may be in another process (issue 16), as
read at most ``head_max_age`` ago (``IndexSource.pinned_head``), so a change indexed
anywhere shows once that time has passed (at once with 0). What outlives its head:

- a past version that has a next one (W3C DID Core §7.1.3 ``nextVersionId``): its
  document and its first later change are history, and new blocks only add changes
  after them. A version without a next one (``versionId`` at the head, or past it
  only because nothing changed since) gains a ``nextVersionId`` with the next change,
  so it is kept for its head only; a ``versionId`` not indexed yet is an error, never
  kept. This relies on the indexer indexing confirmed blocks only (as the index does);
  a head that goes back (a reorganisation the indexer undid) empties the cache.
- nothing else: a latest version also expires by the clock (``valid_until``: the
  did:ethr resolver judges the latest version's expiries at the time of resolution).

Only successful resolutions are kept; errors are always retried. The cache is an LRU
bounded in entries and in bytes, so many distinct DIDs (unknown ones resolve to a
default document) evict each other instead of growing it. Results are kept pickled:
a caller gets its own copy (it may change it), and unpickling is several times faster
than ``copy.deepcopy``; the bytes are only ever the hub's own.
"""

from __future__ import annotations

import pickle
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

from did_registry.resolution import DidResolver, Head, ResolutionOptions, ResolutionResult

# The head for one resolution: a context in which the inner resolver reads at that head
# (IndexSource.pinned_head), or any head function wrapped by `unpinned`.
HeadContext = Callable[[], AbstractContextManager[Head]]

DEFAULT_ENTRIES = 8192
DEFAULT_BYTES = 64 * 2**20


def unpinned(head: Callable[[], Head]) -> HeadContext:
    """A head function as a :data:`HeadContext`, for a source that reads at its newest head.

    Right when the inner resolver reads at that head or a newer one (a chain walker):
    a result newer than its key is never stale.
    """
    return lambda: nullcontext(head())


@dataclass(frozen=True, slots=True)
class _Entry:
    blob: bytes  # the pickled ResolutionResult
    cost: int  # bytes counted against the cap: the blob and the DID in the key
    head: int | None  # the head block it holds at; None: final (a past version)
    valid_until: int | None  # the last unix second it holds by the clock


class CachingResolver:
    """``inner`` with its successful results kept, at most ``entries`` of ``max_bytes``."""

    def __init__(
        self,
        inner: DidResolver,
        head: HeadContext,
        *,
        entries: int = DEFAULT_ENTRIES,
        max_bytes: int = DEFAULT_BYTES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if entries < 1 or max_bytes < 1:
            raise ValueError("the cache needs room for at least one entry")
        self._inner = inner
        self._head = head
        self._entries_cap = entries
        self._bytes_cap = max_bytes
        self._clock = clock
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._bytes = 0
        self._newest_head = -1
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def resolve(self, did: str, options: ResolutionOptions | None = None) -> ResolutionResult:
        opts = options or ResolutionOptions()
        key = (did, opts.version_id, opts.version_time, opts.accept)
        with self._head() as head:
            now = int(self._clock())
            with self._lock:
                if head.block_number < self._newest_head:
                    self._clear()  # the index went back: a reorganisation was undone
                self._newest_head = head.block_number
                entry = self._entries.get(key)
                hit = entry is not None and _holds(entry, head, now)
                if hit:
                    self._entries.move_to_end(key)
            if hit:
                assert entry is not None
                cached: ResolutionResult = pickle.loads(entry.blob)  # noqa: S301 - our bytes
                return cached
            result = self._inner.resolve(did, opts)
        if result.did_document is not None and "error" not in result.did_resolution_metadata:
            self._keep(key, did, result, opts, head)
        return result

    def clear(self) -> None:
        with self._lock:
            self._clear()

    def _keep(
        self,
        key: Hashable,
        did: str,
        result: ResolutionResult,
        opts: ResolutionOptions,
        head: Head,
    ) -> None:
        versioned = opts.version_id is not None or opts.version_time is not None
        final = versioned and "nextVersionId" in result.did_document_metadata
        blob = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
        cost = len(blob) + len(did)
        if cost > self._bytes_cap:
            return
        entry = _Entry(blob, cost, None if final else head.block_number, result.valid_until)
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old.cost
            self._entries[key] = entry
            self._bytes += cost
            while len(self._entries) > self._entries_cap or self._bytes > self._bytes_cap:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= evicted.cost

    def _clear(self) -> None:
        self._entries.clear()
        self._bytes = 0


def _holds(entry: _Entry, head: Head, now: int) -> bool:
    if entry.head is not None and entry.head != head.block_number:
        return False
    return entry.valid_until is None or now <= entry.valid_until
