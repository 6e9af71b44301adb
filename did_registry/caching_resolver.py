"""A resolution cache that can never serve a stale document.

W3C DID Resolution §4 (https://w3c.github.io/did-resolution/#resolving): the same
DID with the same options at the same chain position resolves to the same result.
So results are keyed by the chain head they were resolved at; and a version in
the past (``versionTime`` before the head's time, ``versionId`` below the head)
is history, which new blocks do not change, so it is kept regardless of the head.
Only successful resolutions are kept; errors are always retried.

Verifiers resolve each issuer as of its proofs' ``created``: past versions, the
case this cache makes cheap. ``head`` must be the position the inner resolver reads
at (the index's cursor for the index path, which may lag the chain), or a past
version could be cached before the source has seen all of it.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

from did_registry.resolution import DidResolver, Head, ResolutionOptions, ResolutionResult


class CachingResolver:
    def __init__(self, inner: DidResolver, head: Callable[[], Head], *, size: int = 8192) -> None:
        self._inner = inner
        self._head = head
        self._size = size
        self._entries: OrderedDict[Hashable, ResolutionResult] = OrderedDict()
        self._lock = threading.Lock()

    def resolve(self, did: str, options: ResolutionOptions | None = None) -> ResolutionResult:
        opts = options or ResolutionOptions()
        head = self._head()
        settled = (opts.version_time is not None and opts.version_time < head.timestamp) or (
            opts.version_id is not None and opts.version_id < head.block_number
        )
        key = (
            did,
            opts.version_id,
            opts.version_time,
            opts.accept,
            None if settled else head.block_number,
        )
        with self._lock:
            cached = self._entries.get(key)
            if cached is not None:
                self._entries.move_to_end(key)
                return copy.deepcopy(cached)
        result = self._inner.resolve(did, opts)
        if result.did_document is not None and "error" not in result.did_resolution_metadata:
            with self._lock:
                self._entries[key] = copy.deepcopy(result)
                while len(self._entries) > self._size:
                    self._entries.popitem(last=False)
        return result
