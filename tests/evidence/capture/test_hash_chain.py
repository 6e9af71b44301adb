"""The capture hash chain (docs/capture-hash-chain.md) with the hub's real embedded TSA:
entries recorded and reopened, periodic and final stamps, a crash's torn tail dropped
(also after a real ``kill -9``), and every attack refused with the failing entry named."""

from __future__ import annotations

import hashlib
import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
import rfc8785
from cryptography import x509

from evidence.capture.chain_checkpoints import Checkpointer
from evidence.capture.chain_entry import ZERO_HASH, ChainEntry, make_entry, parse_line
from evidence.capture.chain_verify import verify_chain
from evidence.capture.errors import (
    CaptureChainBroken,
    CaptureChainCorrupt,
    CaptureError,
    InvalidCaptureItem,
)
from evidence.capture.hash_chain import HashChain, read_chain
from evidence.timestamping import EmbeddedTimestampAuthority
from tests.evidence.timestamping_support import CustomPki, hub_tsa


def _now() -> datetime:
    return datetime.now(UTC)


ITEMS = [
    ("preflight", b"pre-flight report"),
    ("screenshot", b"\x89PNG first screenshot"),
    ("warc-record", b"WARC/1.1 response"),
    ("action", b'{"click":"#accept"}'),
]


@pytest.fixture(scope="module")
def tsa(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[EmbeddedTimestampAuthority, x509.Certificate]:
    authority, material = hub_tsa(tmp_path_factory.mktemp("tsa"))
    return authority, material.root_certificate


def _record(chain: HashChain, items: list[tuple[str, bytes]]) -> None:
    for kind, data in items:
        chain.append(kind, hashlib.sha256(data).digest(), ref=f"{kind}.bin")


@pytest.fixture
def sealed_chain(tmp_path: Path, tsa: tuple[EmbeddedTimestampAuthority, x509.Certificate]) -> Path:
    """seq 0-1 items, 2 token over 1, 3-4 items, 5 token over 4 (the final stamp)."""
    path = tmp_path / "chain.jsonl"
    with HashChain.open(path) as chain:
        checkpoints = Checkpointer(chain, tsa[0])
        _record(chain, ITEMS[:2])
        assert checkpoints.stamp() is not None
        assert checkpoints.stamp() is None  # nothing new: no second token over the same head
        _record(chain, ITEMS[2:])
        final = checkpoints.finish()
        assert final is not None and final.stamp is not None and final.stamp.head_seq == 4
    return path


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def _refused(path: Path, root: x509.Certificate) -> CaptureChainBroken:
    with pytest.raises(CaptureChainBroken) as caught:
        verify_chain(read_chain(path), [root])
    return caught.value


def test_a_sealed_chain_verifies(
    sealed_chain: Path, tsa: tuple[EmbeddedTimestampAuthority, x509.Certificate]
) -> None:
    report = verify_chain(read_chain(sealed_chain), [tsa[1]])
    assert (report.length, report.sealed) == (6, True)
    assert [(s.seq, s.head_seq) for s in report.stamps] == [(2, 1), (5, 4)]
    assert report.stamps[0].gen_time <= report.stamps[1].gen_time
    entries = list(read_chain(sealed_chain))
    assert entries[0].prev == ZERO_HASH
    assert all(b.prev == a.hash for a, b in itertools.pairwise(entries))
    assert entries[1].sha256 == hashlib.sha256(ITEMS[1][1]).hexdigest()


def test_reopening_continues_the_chain(
    sealed_chain: Path, tsa: tuple[EmbeddedTimestampAuthority, x509.Certificate]
) -> None:
    with HashChain.open(sealed_chain) as chain:
        assert len(chain) == 6
        with pytest.raises(CaptureError, match="open elsewhere"):
            HashChain.open(sealed_chain)
        chain.append("note", hashlib.sha256(b"resumed").digest())
        Checkpointer(chain, tsa[0]).finish()
    assert verify_chain(read_chain(sealed_chain), [tsa[1]]).length == 8


def test_the_periodic_checkpointer_stamps_while_items_arrive(
    tmp_path: Path, tsa: tuple[EmbeddedTimestampAuthority, x509.Certificate]
) -> None:
    with HashChain.open(tmp_path / "chain.jsonl") as chain:
        checkpoints = Checkpointer(chain, tsa[0], interval=0.02)
        checkpoints.start()
        for kind, data in ITEMS:
            chain.append(kind, hashlib.sha256(data).digest())
            time.sleep(0.06)
        checkpoints.finish()
        assert checkpoints.last_error is None
    report = verify_chain(read_chain(tmp_path / "chain.jsonl"), [tsa[1]])
    assert report.sealed and len(report.stamps) >= 3


# -- crashes -------------------------------------------------------------------------------


def test_a_torn_last_line_is_dropped_and_the_rest_verifies(
    sealed_chain: Path, tsa: tuple[EmbeddedTimestampAuthority, x509.Certificate]
) -> None:
    whole = sealed_chain.read_bytes()
    next_line = make_entry(6, "note", bytes(32), _now(), "0" * 64).line()
    sealed_chain.write_bytes(whole + next_line[:40])  # the crash hit mid-write
    with pytest.raises(CaptureChainBroken, match="entry 6: a torn last line"):
        list(read_chain(sealed_chain))
    with HashChain.open(sealed_chain) as chain:
        assert len(chain) == 6
    assert sealed_chain.read_bytes() == whole
    assert verify_chain(read_chain(sealed_chain), [tsa[1]]).length == 6


def test_damage_before_the_last_line_is_never_repaired(sealed_chain: Path) -> None:
    lines = _lines(sealed_chain)
    lines[3] = lines[3][:20] + b"\n"
    sealed_chain.write_bytes(b"".join(lines))
    with pytest.raises(CaptureChainCorrupt, match="entry 3: not a line of JSON"):
        HashChain.open(sealed_chain)
    assert _lines(sealed_chain) == lines


_WRITER = """
import hashlib, sys
from pathlib import Path
from evidence.capture.hash_chain import HashChain
chain = HashChain.open(Path(sys.argv[1]))
for n in range(100000):
    entry = chain.append("warc-record", hashlib.sha256(str(n).encode()).digest())
    print(entry.seq, flush=True)
"""


def test_kill_9_keeps_every_acknowledged_entry(tmp_path: Path) -> None:
    path = tmp_path / "chain.jsonl"
    writer = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path)],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[3])},
    )
    assert writer.stdout is not None
    acknowledged = [int(writer.stdout.readline()) for _ in range(30)]
    writer.send_signal(signal.SIGKILL)
    writer.wait(10)
    with HashChain.open(path) as chain:  # the killed writer's flock is gone with it
        assert len(chain) >= acknowledged[-1] + 1
        chain.append("note", hashlib.sha256(b"after the crash").digest())
        length = len(chain)
    assert len(list(read_chain(path))) == length


# -- attacks -------------------------------------------------------------------------------


def test_an_altered_entry_is_named(
    sealed_chain: Path, tsa: tuple[EmbeddedTimestampAuthority, x509.Certificate]
) -> None:
    lines = _lines(sealed_chain)
    entry = parse_line(lines[3], 3)
    lines[3] = replace(entry, sha256=hashlib.sha256(b"another page").hexdigest()).line()
    sealed_chain.write_bytes(b"".join(lines))
    error = _refused(sealed_chain, tsa[1])
    assert error.seq == 3 and "hash mismatch" in error.message


@pytest.mark.parametrize(
    ("edit", "seq", "reason"),
    [
        (lambda lines: lines[:3] + lines[4:], 3, "says seq 4"),  # removed
        (lambda lines: [*lines[:3], lines[4], lines[3], *lines[5:]], 3, "says seq 4"),  # reordered
        (lambda lines: lines[:-1], 4, "not sealed"),  # the final token removed
    ],
    ids=["removed", "reordered", "final-token-removed"],
)
def test_a_removed_or_reordered_entry_is_named(
    sealed_chain: Path,
    tsa: tuple[EmbeddedTimestampAuthority, x509.Certificate],
    edit: Callable[[list[bytes]], list[bytes]],
    seq: int,
    reason: str,
) -> None:
    sealed_chain.write_bytes(b"".join(edit(_lines(sealed_chain))))
    error = _refused(sealed_chain, tsa[1])
    assert error.seq == seq and reason in error.message


def test_an_inserted_entry_is_named(
    sealed_chain: Path, tsa: tuple[EmbeddedTimestampAuthority, x509.Certificate]
) -> None:
    lines = _lines(sealed_chain)
    previous = parse_line(lines[2], 2)
    forged = make_entry(3, "screenshot", hashlib.sha256(b"planted").digest(), _now(), previous.hash)
    sealed_chain.write_bytes(b"".join([*lines[:3], forged.line(), *lines[3:]]))
    error = _refused(sealed_chain, tsa[1])
    assert error.seq == 4 and "says seq 3" in error.message


def _rechain(entries: list[ChainEntry]) -> list[ChainEntry]:
    """What an attacker who rewrites the file can do: every link recomputed."""
    out: list[ChainEntry] = []
    for entry in entries:
        draft = replace(entry, prev=out[-1].hash if out else ZERO_HASH)
        out.append(replace(draft, hash=hashlib.sha256(_jcs(draft)).hexdigest()))
    return out


def _jcs(entry: ChainEntry) -> bytes:
    return rfc8785.dumps(entry.body())


def test_a_rewritten_history_is_caught_by_its_tokens(
    sealed_chain: Path, tsa: tuple[EmbeddedTimestampAuthority, x509.Certificate]
) -> None:
    entries = list(read_chain(sealed_chain))
    entries[1] = replace(entries[1], sha256=hashlib.sha256(b"another screenshot").hexdigest())
    forged = _rechain(entries)
    sealed_chain.write_bytes(b"".join(e.line() for e in forged))
    error = _refused(sealed_chain, tsa[1])
    assert error.seq == 2 and "head is not the hash of entry 1" in error.message
    # ... and with the token entry's head rewritten too, the token itself refuses.
    assert forged[2].stamp is not None
    forged[2] = replace(forged[2], stamp=replace(forged[2].stamp, head=forged[1].hash))
    sealed_chain.write_bytes(b"".join(e.line() for e in _rechain(forged)))
    error = _refused(sealed_chain, tsa[1])
    assert error.seq == 2 and "message imprint mismatch" in error.message


def test_a_token_moved_to_another_head_is_named(
    sealed_chain: Path, tsa: tuple[EmbeddedTimestampAuthority, x509.Certificate]
) -> None:
    entries = list(read_chain(sealed_chain))
    stamp = entries[2].stamp
    assert stamp is not None
    # The first token now claims to stamp entry 0 instead of entry 1.
    entries[2] = replace(entries[2], stamp=replace(stamp, head_seq=0, head=entries[0].hash))
    sealed_chain.write_bytes(b"".join(e.line() for e in _rechain(entries)))
    error = _refused(sealed_chain, tsa[1])
    assert (
        error.seq == 2
        and "the token over entry 0: invalid timestamp token: message imprint mismatch"
        in error.message
    )


def test_tokens_of_an_untrusted_tsa_are_refused(sealed_chain: Path) -> None:
    error = _refused(sealed_chain, CustomPki.create("Another Root").root)
    assert error.seq == 2 and "invalid timestamp token" in error.message


def test_items_that_cannot_enter_the_chain(tmp_path: Path) -> None:
    with HashChain.open(tmp_path / "chain.jsonl") as chain:
        with pytest.raises(InvalidCaptureItem, match="unknown item kind"):
            chain.append("rumour", bytes(32))
        with pytest.raises(InvalidCaptureItem, match="32 bytes"):
            chain.append("note", b"short")
        with pytest.raises(InvalidCaptureItem, match="append_stamp"):
            chain.append("timestamp", bytes(32))
        assert len(chain) == 0
    with pytest.raises(CaptureChainBroken, match="empty"):
        verify_chain([], [])
