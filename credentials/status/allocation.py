"""Choosing status list indexes, and checking what an allocation is asked for.

https://www.w3.org/TR/vc-bitstring-status-list/ §5.1 (privacy: an index says nothing
about when or to whom it was given, so indexes are drawn at random, in the order
drawn) and §2.1 (the status purposes an entry may have).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from credentials.errors import StatusError
from credentials.status.bitstring import PURPOSES, Bitstring

MAX_CREDENTIAL_ID = 512  # status_entries.credential_id
RANDOM_TRIES = 32  # misses in a row, then pick among the free indexes: a full list stays fast
_SYSTEM_RANDOM = secrets.SystemRandom()


def random_free_indexes(allocation: Bitstring, count: int) -> list[int]:
    """``count`` distinct free indexes, each uniformly random among those still free."""
    size = len(allocation)
    result: list[int] = []  # in the order drawn: a set's order would follow the index
    picked: set[int] = set()
    misses = 0
    while len(result) < count and misses < RANDOM_TRIES:
        index = secrets.randbelow(size)
        if allocation.get(index) or index in picked:
            misses += 1
            continue
        result.append(index)
        picked.add(index)
        misses = 0
    if len(result) < count:
        free = [i for i in allocation.unset_positions() if i not in picked]
        if len(free) < count - len(result):  # the caller only asks for the room left
            raise StatusError("the status list is full")
        result.extend(_SYSTEM_RANDOM.sample(free, count - len(result)))
    return result


def check_credential_id(credential_id: object) -> None:
    if not isinstance(credential_id, str) or not credential_id:
        raise StatusError("a credential id is a non-empty string")
    if len(credential_id) > MAX_CREDENTIAL_ID:
        raise StatusError(f"a credential id is at most {MAX_CREDENTIAL_ID} characters")


def check_purposes(purposes: Iterable[str]) -> list[str]:
    wanted = list(purposes)
    if not wanted or len(set(wanted)) != len(wanted):
        raise StatusError("give each status purpose once, and at least one")
    unknown = [p for p in wanted if p not in PURPOSES]
    if unknown:
        raise StatusError(f"unsupported status purpose {unknown[0]!r}: use one of {PURPOSES}")
    return wanted
