"""Group commit: every caller returns once its own item is written, concurrent items
share writes, and a bad item fails only its own caller."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest

from hub_kernel.group_commit import GroupCommit


class Store:
    def __init__(self, delay: float = 0.0) -> None:
        self.batches: list[list[int]] = []
        self.written: set[int] = set()
        self.delay = delay
        self.lock = threading.Lock()

    def write_many(self, items: Sequence[int]) -> None:
        time.sleep(self.delay)  # a transaction's round trips
        if any(item < 0 for item in items):
            raise ValueError("a negative item spoils the batch")
        with self.lock:
            self.batches.append(list(items))
            self.written.update(items)

    def write_one(self, item: int) -> None:
        self.write_many([item])


def test_one_caller_writes_its_item_alone() -> None:
    store = Store()
    group = GroupCommit(store.write_many, store.write_one)
    group.submit(1)
    group.submit(2)
    assert store.batches == [[1], [2]]


def test_concurrent_callers_share_writes_and_return_only_once_written() -> None:
    store = Store(delay=0.02)
    group = GroupCommit(store.write_many, store.write_one)
    unwritten_on_return: list[int] = []

    def caller(item: int) -> None:
        group.submit(item)
        if item not in store.written:
            unwritten_on_return.append(item)

    threads = [threading.Thread(target=caller, args=(item,)) for item in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.written == set(range(40)) and not unwritten_on_return
    assert sorted(item for batch in store.batches for item in batch) == list(range(40))
    assert len(store.batches) < 40  # some callers shared a transaction


def test_a_bad_item_fails_only_its_own_caller() -> None:
    store = Store(delay=0.02)
    group = GroupCommit(store.write_many, store.write_one)
    errors: dict[int, BaseException] = {}

    def caller(item: int) -> None:
        try:
            group.submit(item)
        except ValueError as error:
            errors[item] = error

    threads = [threading.Thread(target=caller, args=(item,)) for item in (-1, *range(1, 20))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert list(errors) == [-1]
    assert store.written == set(range(1, 20))


def test_batches_are_bounded() -> None:
    store = Store(delay=0.02)
    group = GroupCommit(store.write_many, store.write_one, max_batch=3)
    threads = [threading.Thread(target=group.submit, args=(item,)) for item in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.written == set(range(12))
    assert max(len(batch) for batch in store.batches) <= 3


def test_an_interrupted_write_leaves_the_group_usable() -> None:
    store = Store()
    calls: list[int] = []

    def interrupted_once(items: Sequence[int]) -> None:
        calls.append(len(items))
        if len(calls) == 1:
            raise KeyboardInterrupt
        store.write_many(items)

    group = GroupCommit(interrupted_once, store.write_one)
    with pytest.raises(KeyboardInterrupt):
        group.submit(1)
    group.submit(2)
    assert store.written == {2}
