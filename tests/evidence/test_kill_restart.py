"""Kill the serving hub at random points while it takes deposits; every accepted deposit
is certified exactly once (issue 5, "Reliability": "Kill the serving process at random
points during deposit processing: after restart every accepted deposit reaches
certified, none twice").

Two feeders stream deposits over HTTP into a real ``notary-hub serve`` process: files
(multipart), digests (JSON), and a few shared files that several depositors deposit.
The process is SIGKILLed at random moments, several times, then once more while it is
issuing custody letters (signed, status entry allocated, not yet stored), and restarted.
Afterwards
every deposit that got a 201 (and any the hub committed without answering) is
certified with one letter that verifies, its SHA-256 is anchored by exactly one anchor
item in exactly one batch, one status entry was handed out per letter, and each
content is stored once in the blob store however many depositors it has.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, create_engine, text

from evidence.blob_store import BlobNames
from testkit.waiting import wait_until
from tests.evidence.deposit_support import new_did_key
from tests.fixtures.database import create_postgres_database, drop_postgres_database
from tests.fixtures.hub_process import HubProcess, run_cli

pytestmark = pytest.mark.slow

ROUNDS = 4
SEED = 20261124
DEPOSITS = "/evidence/deposits"
# Each shared content is deposited by several depositors (one blob, a row each).
SHARED = [f"shared contract {i}\n".encode() * 500 for i in range(3)]
# A killed process's claims lapse after the pipeline's lease (EvidencePipeline's
# lease_seconds, 60 s by default): the restarted hub waits that long for them. Shorter
# here once the hub reads it from NOTARY_HUB_EVIDENCE_LEASE_SECONDS.
LEASE_SECONDS = 10
HUB_ENV = {
    "NOTARY_HUB_LOG_FORMAT": "json",
    "NOTARY_HUB_EVIDENCE_LEASE_SECONDS": str(LEASE_SECONDS),
    "NOTARY_HUB_EVIDENCE_POLL_SECONDS": "0.1",
    "NOTARY_HUB_ANCHORING_BATCH_INTERVAL_SECONDS": "0.1",
    "NOTARY_HUB_ANCHORING_BATCH_MAX_ITEMS": "25",
    # The test checks every letter from one address, faster than the public budget allows.
    "NOTARY_HUB_EVIDENCE_PUBLIC_BURST": "100000",
}


@dataclass(frozen=True)
class Accepted:
    """A deposit the hub answered 201 for."""

    id: str
    depositor: str
    sha256: bytes
    content: bytes | None  # None: a digest-only deposit


def headers(depositor: str) -> dict[str, str]:
    return {"Depositor": depositor}


def post_deposit(
    client: httpx.Client, depositor: str, content: bytes, *, as_file: bool
) -> httpx.Response:
    if as_file:
        return client.post(
            DEPOSITS,
            headers=headers(depositor),
            files={"file": ("contract.pdf", content, "application/pdf")},
            data={"title": "Contract"},
        )
    digest = hashlib.sha256(content).hexdigest()
    return client.post(
        DEPOSITS, headers=headers(depositor), json={"sha256": digest, "title": "Digest only"}
    )


class Feeder(threading.Thread):
    """Deposits until stopped or the hub goes away; remembers what got a 201."""

    def __init__(
        self, hub: HubProcess, depositors: list[str], seed: int, accepted: list[Accepted]
    ) -> None:
        super().__init__(daemon=True)
        self.hub = hub
        self.depositors = depositors
        self.rng = random.Random(seed)
        self.accepted = accepted
        self.stop = threading.Event()
        self.refused: list[str] = []

    def run(self) -> None:
        with self.hub.client() as client:
            while not self.stop.is_set():
                depositor = self.rng.choice(self.depositors)
                pick = self.rng.random()
                if pick < 0.3:
                    content, as_file = self.rng.choice(SHARED), True
                elif pick < 0.65:
                    content, as_file = os.urandom(self.rng.randint(1, 50_000)), True
                else:
                    content, as_file = os.urandom(64), False
                try:
                    response = post_deposit(client, depositor, content, as_file=as_file)
                except httpx.HTTPError:
                    return  # the process was killed under us
                if response.status_code != 201:
                    self.refused.append(f"{response.status_code} {response.text[:200]}")
                    continue
                body = response.json()
                self.accepted.append(
                    Accepted(
                        body["id"],
                        depositor,
                        bytes.fromhex(body["sha256"]),
                        content if as_file else None,
                    )
                )


def database_url(hub: HubProcess) -> str:
    return hub.env.get(
        "NOTARY_HUB_DATABASE_URL", f"sqlite:///{hub.workdir / '.notary-hub' / 'hub.sqlite3'}"
    )


def reader(hub: HubProcess) -> Engine:
    """An engine to watch the hub's tables (plain reads: WAL readers never block the hub)."""
    return create_engine(database_url(hub))


def states(engine: Engine) -> dict[str, int]:
    with engine.connect() as db:
        rows = db.execute(text("SELECT state, COUNT(*) FROM evidence_deposits GROUP BY state"))
        return {str(state): int(count) for state, count in rows}


def unkept_status_entries(engine: Engine) -> int:
    """Status entries handed out for letters not (yet) stored on a deposit."""
    with engine.connect() as db:
        entries = db.execute(text("SELECT COUNT(*) FROM status_entries")).scalar_one()
        kept = db.execute(
            text("SELECT COUNT(*) FROM evidence_deposits WHERE letter IS NOT NULL")
        ).scalar_one()
    return int(entries) - int(kept)


def wait_until_all_certified(engine: Engine, timeout: float) -> dict[str, int]:
    """The deposits' states once every deposit is certified."""

    def certified() -> dict[str, int] | None:
        current = states(engine)
        return current if set(current) == {"certified"} else None

    return wait_until(
        certified,
        timeout=timeout,
        interval=0.25,
        message=lambda: f"not all certified: {states(engine)}",
    )


def random_kills(
    hub: HubProcess, depositors: list[str], accepted: list[Accepted], rng: random.Random
) -> list[str]:
    """Feed deposits and SIGKILL the hub ``ROUNDS`` times at random moments; the refusals."""
    refused: list[str] = []
    for round_ in range(ROUNDS):
        hub.start()
        feeders = [Feeder(hub, depositors, SEED + 10 * round_ + i, accepted) for i in range(2)]
        for feeder in feeders:
            feeder.start()
        time.sleep(rng.uniform(0.5, 3.0))
        hub.kill()
        for feeder in feeders:
            feeder.stop.set()
            feeder.join(30)
            refused += feeder.refused
    return refused


def kill_while_certifying(
    hub: HubProcess, engine: Engine, depositors: list[str], accepted: list[Accepted]
) -> None:
    """Restart, deposit a burst, and SIGKILL the hub while letters are issued but unstored."""
    baseline = unkept_status_entries(engine)
    hub.start()
    feeder = Feeder(hub, depositors, SEED - 1, accepted)
    feeder.start()
    # Batch issuance makes the window (entries allocated, letters not yet stored) a few
    # milliseconds wide; on a loaded machine the poll can miss it. The kill then lands
    # elsewhere in the pipeline, and the end-state checks hold either way.
    try:
        with contextlib.suppress(AssertionError):  # missed: the kill lands elsewhere
            wait_until(lambda: unkept_status_entries(engine) > baseline, timeout=60, interval=0.002)
    finally:
        hub.kill()
        feeder.stop.set()
        feeder.join(30)
    assert not feeder.refused, feeder.refused[:5]


@pytest.fixture(params=["sqlite", "postgresql"])
def served_hub(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HubProcess]:
    """A hub process in ``tmp_path`` on the embedded chain, with SQLite (the embedded
    default) or a throwaway PostgreSQL database migrated by ``notary-hub db upgrade``."""
    hub = HubProcess(tmp_path, HUB_ENV)
    if request.param == "sqlite":
        yield hub
        hub.kill()
        return
    admin = request.getfixturevalue("postgres_admin")
    name, url = create_postgres_database(admin)
    try:
        hub.env["NOTARY_HUB_DATABASE_URL"] = url
        upgrade = run_cli("db", "upgrade", env=hub.env, cwd=tmp_path)
        assert upgrade.returncode == 0, upgrade.stderr
        yield hub
    finally:
        hub.kill()
        drop_postgres_database(admin, name)


def test_every_accepted_deposit_is_certified_once_across_kills(served_hub: HubProcess) -> None:
    hub = served_hub
    depositors = [new_did_key() for _ in range(4)]
    accepted: list[Accepted] = []
    refused = random_kills(hub, depositors, accepted, random.Random(SEED))
    assert not refused, refused[:5]
    assert len(accepted) > 40, "the feeders should have got deposits accepted"
    engine = reader(hub)
    try:
        kill_while_certifying(hub, engine, depositors, accepted)
        hub.start()
        # The last kill's claims lapse after the lease before other processes take over.
        final = wait_until_all_certified(engine, timeout=LEASE_SECONDS + 110)
        assert set(final) == {"certified"}, final
        roots = check_letters(hub, accepted)
        hub.stop()
        check_tables(engine, accepted, roots)
        check_blob_store(hub.workdir / ".notary-hub" / "blobs", accepted)
        # Last, so that everything above is known to hold when this fails.
        assert unkept_status_entries(engine) == 0, (
            "custody letters were issued (signed, a status entry allocated) a second time "
            "for deposits whose first letter was lost with a killed process"
        )
    finally:
        engine.dispose()


def check_letters(hub: HubProcess, accepted: list[Accepted]) -> dict[str, str]:
    """Each accepted deposit is certified with a letter about it that verifies, with the
    file where there is one; the anchor root of each deposit's letter."""
    roots: dict[str, str] = {}
    verified_roots: set[str] = set()
    with hub.client() as client:
        for deposit in accepted:
            state = client.get(f"{DEPOSITS}/{deposit.id}", headers=headers(deposit.depositor))
            assert state.status_code == 200, state.text
            assert state.json()["state"] == "certified"
            response = client.get(
                f"{DEPOSITS}/{deposit.id}/credential", headers=headers(deposit.depositor)
            )
            assert response.status_code == 200, response.text
            letter = response.json()
            subject = letter["credentialSubject"]
            assert subject["depositId"] == deposit.id
            assert subject["id"] == deposit.depositor
            assert subject["contentStored"] is (deposit.content is not None)
            (receipt,) = [
                e["anchorReceipt"] for e in letter["evidence"] if "ChainAnchorEvidence" in e["type"]
            ]
            assert bytes.fromhex(receipt["leaf"].removeprefix("0x")) == deposit.sha256
            roots[deposit.id] = receipt["root"].removeprefix("0x")
            # Full verification (signature, status, timestamp, anchor on chain, file) of
            # every file deposit and of a digest deposit of every batch.
            if deposit.content is not None or roots[deposit.id] not in verified_roots:
                body = verify_letter(client, letter, deposit.content)
                expected = {"proof", "status", "timestamp", "anchor"}
                if deposit.content is not None:
                    expected.add("file")
                assert expected <= set(body["checks"]), body
                verified_roots.add(roots[deposit.id])
    return roots


def verify_letter(client: httpx.Client, letter: Any, content: bytes | None) -> dict[str, Any]:
    if content is None:
        response = client.post("/evidence/verify", json={"letter": letter})
    else:
        response = client.post(
            "/evidence/verify",
            data={"letter": json.dumps(letter)},
            files={"file": ("contract.pdf", content, "application/pdf")},
        )
    body: dict[str, Any] = response.json()
    assert response.status_code == 200, body
    return body


def check_tables(engine: Engine, accepted: list[Accepted], roots: dict[str, str]) -> None:
    with engine.connect() as db:
        rows = db.execute(
            text(
                "SELECT d.id, d.sha256, d.anchor_item_id, d.letter, i.data, i.kind, "
                "b.state AS batch_state, b.root "
                "FROM evidence_deposits d "
                "JOIN anchor_items i ON i.id = d.anchor_item_id "
                "JOIN anchor_batches b ON b.kind = i.kind "
                "AND i.id BETWEEN b.first_item_id AND b.last_item_id"
            )
        ).all()
        deposits = db.execute(text("SELECT COUNT(*) FROM evidence_deposits")).scalar_one()
        deposit_items = db.execute(
            text("SELECT COUNT(*) FROM anchor_items WHERE kind = 'deposit'")
        ).scalar_one()
        batches = db.execute(
            text("SELECT COUNT(*), COUNT(DISTINCT root), SUM(size) FROM anchor_batches")
        ).one()
        items = db.execute(text("SELECT COUNT(*) FROM anchor_items")).scalar_one()
        leaves = db.execute(
            text(
                "SELECT b.id, b.root, i.data FROM anchor_batches b "
                "JOIN anchor_items i ON i.kind = b.kind "
                "AND i.id BETWEEN b.first_item_id AND b.last_item_id"
            )
        ).all()

    # Every row (including any the hub committed but could not answer for) is anchored.
    assert len(rows) == deposits
    by_id = {row.id: row for row in rows}
    assert {d.id for d in accepted} <= by_id.keys()
    for deposit in accepted:
        row = by_id[deposit.id]
        assert bytes(row.sha256) == deposit.sha256
        assert bytes(row.root).hex() == roots[deposit.id], "the letter names another batch"
    for row in rows:
        assert row.kind == "deposit"
        assert bytes(row.data) == bytes(row.sha256), "the anchored leaf is the content's SHA-256"
        assert row.batch_state == "anchored"
        letter = json.loads(row.letter) if isinstance(row.letter, str) else row.letter
        assert letter["credentialSubject"]["depositId"] == row.id
    # One anchor item per deposit, none shared and none spare: anchored exactly once.
    assert len({row.anchor_item_id for row in rows}) == deposits
    assert deposit_items == deposits
    # The same file deposited by two depositors is the same leaf: two batches of exactly the
    # same leaves have the same root, and the second adopts the first's anchoring. Any other
    # pair of batches sharing a root would be one tree anchored twice.
    by_batch: dict[int, tuple[bytes, list[bytes]]] = {}
    for batch_id, root, data in leaves:
        by_batch.setdefault(batch_id, (bytes(root), []))[1].append(bytes(data))
    by_root: dict[bytes, set[tuple[bytes, ...]]] = {}
    for root, data in by_batch.values():
        by_root.setdefault(root, set()).add(tuple(sorted(data)))
    assert all(len(contents) == 1 for contents in by_root.values()), "two trees share a root"
    assert batches[1] == len(by_root)
    assert batches[2] == items, "an anchor item is counted in two batches or none"


def check_blob_store(blobs: Path, accepted: list[Accepted]) -> None:
    """One object per content, whoever deposited it; no upload left half-way."""
    # Objects are named by the keyed hash of their digest (issue 9 item 11).
    names_of = BlobNames.load(None, blobs.parent / "master.key", create=False)
    stored = {names_of.name(d.sha256) for d in accepted if d.content is not None}
    objects = [p for p in (blobs / "keyed").rglob("*") if p.is_file()]
    names = [p.name for p in objects]
    # Uploads the hub committed without answering may add objects, never copies.
    assert len(names) == len(set(names))
    assert stored <= set(names)
    shared = {hashlib.sha256(content).digest(): content for content in SHARED}
    depositors = Counter(
        d.sha256 for d in {(d.sha256, d.depositor): d for d in accepted if d.content}.values()
    )
    assert any(depositors[sha] > 1 for sha in shared), "a shared file had one depositor only"
    leftovers = [p for p in (blobs / "tmp").iterdir() if p.name != ".lock"]
    assert not leftovers, "the restarted store sweeps abandoned uploads"
