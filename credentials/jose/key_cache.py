"""Resolved verification keys, reused where that cannot change an answer, or for a set time.

Resolving the key behind a JWS ``kid`` (:func:`resolve_verification_key`) costs far more
than the signature check (a did:key expansion checks the point's order in Python; a
did:ethr chain walk reads the registry's events), so a verifier of many tokens reuses
resolutions:

- ``did:key`` methods always: the document is a pure function of the DID (did:key v0.7
  §3.1.1), there is no later version to miss;
- other methods only with ``ttl_seconds > 0``, for that long, keyed by (kid, purpose,
  the resolution time rounded down to ``ttl_seconds``). This is the one trade-off: a key
  revoked on chain keeps verifying for up to ``ttl_seconds`` in this process. For a
  signer-claimed time (``iat``) it adds nothing a signer could not already do by
  claiming an earlier time. The default instance does not take it.

Only successes are kept (a failure is resolved again), per resolver object (weakly, so
a verifier configured to refuse did:key is never answered from another's entries).
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable

from credentials.keys.verification_methods import VerificationKey, resolve_verification_key
from did_registry.resolution import DidResolver

_Slot = tuple[str, str, int | None]


class KeyCache:
    def __init__(
        self,
        *,
        ttl_seconds: float = 0.0,
        max_entries: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl_seconds
        self._max = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._by_resolver: weakref.WeakKeyDictionary[
            DidResolver, OrderedDict[_Slot, tuple[float, VerificationKey]]
        ] = weakref.WeakKeyDictionary()

    def resolve(
        self, resolver: DidResolver, kid: str, purpose: str, *, at: int | None = None
    ) -> VerificationKey:
        """:func:`resolve_verification_key`, answered from the cache when allowed."""
        immutable = kid.startswith("did:key:")
        if not immutable and self._ttl <= 0:
            return resolve_verification_key(resolver, kid, purpose, at=at)
        bucket = None if immutable or at is None else int(at // self._ttl)
        slot: _Slot = (kid, purpose, bucket)
        now = self._clock()
        entries = self._entries(resolver)
        if entries is not None:
            with self._lock:
                hit = entries.get(slot)
                if hit is not None and hit[0] > now:
                    entries.move_to_end(slot)
                    return hit[1]
        key = resolve_verification_key(resolver, kid, purpose, at=at)
        if entries is not None:
            expires = float("inf") if immutable else now + self._ttl
            with self._lock:
                entries[slot] = (expires, key)
                entries.move_to_end(slot)
                while len(entries) > self._max:
                    entries.popitem(last=False)
        return key

    def _entries(
        self, resolver: DidResolver
    ) -> OrderedDict[_Slot, tuple[float, VerificationKey]] | None:
        with self._lock:
            try:
                return self._by_resolver.setdefault(resolver, OrderedDict())
            except TypeError:  # not weakly referenceable / hashable: do not cache
                return None


DEFAULT_KEY_CACHE = KeyCache()
