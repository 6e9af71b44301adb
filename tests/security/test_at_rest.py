"""What someone who can read the hub's disk learns (issue 9 item 11), on a real hub.

A real embedded-default hub (SQLite file, embedded chain, key store, local blob store)
behind its HTTP app takes a deposit; then the data directory is inspected as another
user of the machine, or a backup reader, would: every directory is 0700 and every
SQLite file 0600, also after a restart on a directory whose modes were loosened (the
hub tightens them and says so in its log, without secrets); no file name shows a
deposited file's SHA-256 or SM3; the file's bytes are nowhere in clear, while its
metadata is plaintext in the database, as the README says. A blob store laid out the
old way (digest names) is renamed on the next start and its deposits still download.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from did_registry.did_key import did_key
from evidence.digests import MultiDigest
from hub_kernel.multiformats import ED25519
from notary_hub.app import create_app
from notary_hub.db import create_db_engine
from notary_hub.hub import Hub, open_hub
from notary_hub.settings import ServerSettings, Settings

TOKEN = "r" * 40
DEPOSITOR = did_key(ED25519, bytes(range(32)))  # a valid point (the attack suite's)
CONTENT = b"%PDF-1.7\n confidential settlement between two parties\n" + os.urandom(5000)
TITLE = "Settlement agreement, Dupont v. Durand"


@contextmanager
def served(data_dir: Path) -> Iterator[tuple[Hub, TestClient]]:
    settings = Settings(data_dir=data_dir, server=ServerSettings(api_tokens=[SecretStr(TOKEN)]))
    hub = open_hub(settings)
    try:
        with TestClient(create_app(hub, run_background=False)) as client:
            client.headers.update({"authorization": f"Bearer {TOKEN}", "Depositor": DEPOSITOR})
            yield hub, client
    finally:
        hub.close()


def deposit(client: TestClient) -> str:
    response = client.post(
        "/evidence/deposits",
        files={"file": ("settlement-dupont-durand.pdf", CONTENT, "application/pdf")},
        data={"title": TITLE, "tags": "litigation"},
    )
    assert response.status_code == 201, response.text
    deposit_id: str = response.json()["id"]
    return deposit_id


def modes(data_dir: Path) -> dict[str, int]:
    """Every path under the data directory (and itself) with its permission bits."""
    found = {".": stat.S_IMODE(data_dir.stat().st_mode)}
    for path in data_dir.rglob("*"):
        found[str(path.relative_to(data_dir))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def assert_private(data_dir: Path) -> None:
    for name, mode in modes(data_dir).items():
        path = data_dir / name
        if path.is_dir():
            assert mode == 0o700, (name, oct(mode))
        elif name.endswith((".sqlite3", ".sqlite3-wal", ".sqlite3-shm")):
            assert mode == 0o600, (name, oct(mode))


@pytest.fixture
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)  # the usual umask: what a careless open would leave readable
    yield
    os.umask(previous)


@pytest.mark.usefixtures("umask_022")
def test_a_deposit_leaves_nothing_readable_or_recognisable(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with served(data_dir) as (hub, client):
        deposit_id = deposit(client)
        assert client.get(f"/evidence/deposits/{deposit_id}/content").content == CONTENT
        hub.engine.dispose()  # flush the WAL into the database file
    assert_private(data_dir)
    assert (data_dir / "hub.sqlite3").stat().st_mode & 0o777 == 0o600
    assert (data_dir / "chain" / "chain.sqlite3").stat().st_mode & 0o777 == 0o600

    digests = MultiDigest()
    digests.update(CONTENT)
    sm3 = digests.finalize().sm3.hex()
    names = [str(path.relative_to(data_dir)) for path in data_dir.rglob("*")]
    assert any(name.startswith("blobs/keyed/") for name in names)
    for digest in (hashlib.sha256(CONTENT).hexdigest(), sm3):
        assert not any(digest in name.lower() for name in names), digest

    # The bytes are encrypted wherever they are; the metadata is plaintext in the database.
    secret = CONTENT[:60]
    for path in data_dir.rglob("*"):
        if path.is_file():
            assert secret not in path.read_bytes(), path
    with sqlite3.connect(data_dir / "hub.sqlite3") as database:
        row = database.execute(
            "SELECT title, file_name, depositor FROM evidence_deposits WHERE id = ?", (deposit_id,)
        ).fetchone()
    assert row == (TITLE, "settlement-dupont-durand.pdf", DEPOSITOR)


@pytest.mark.usefixtures("umask_022")
def test_looser_modes_are_tightened_on_open_and_logged_without_secrets(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data_dir = tmp_path / "data"
    with served(data_dir) as (_hub, client):
        deposit_id = deposit(client)
    loosened = []
    for name, mode in modes(data_dir).items():
        path = data_dir / name
        if path.is_dir() or name.endswith(".sqlite3"):
            path.chmod(mode | 0o055)  # group and others may read (and list)
            loosened.append(name)
    assert "blobs/keyed" in loosened and "hub.sqlite3" in loosened and "keys" in loosened

    caplog.set_level(logging.DEBUG)
    with served(data_dir) as (_hub, client):
        assert client.get(f"/evidence/deposits/{deposit_id}/content").content == CONTENT
    assert_private(data_dir)
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    told = "\n".join(w for w in warnings if w.startswith("tightened"))
    for name in (".", "keys", "chain", "blobs", "hub.sqlite3", "chain/chain.sqlite3"):
        path = (data_dir / name).resolve() if name == "." else data_dir / name
        assert str(path) in told, name
    everything = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    master = (data_dir / "master.key").read_bytes().strip()
    assert master.decode("latin-1") not in everything and master.hex() not in everything
    assert TOKEN not in everything and CONTENT[:60].decode("latin-1") not in everything


@pytest.mark.usefixtures("umask_022")
def test_a_blob_store_with_digest_names_is_renamed_on_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data_dir = tmp_path / "data"
    with served(data_dir) as (_hub, client):
        deposit_id = deposit(client)
    # Lay the blob out as stores before keyed names did: objects/ab/cd/<sha256 hex>.
    (stored,) = [p for p in (data_dir / "blobs" / "keyed").rglob("*") if p.is_file()]
    sha256 = hashlib.sha256(CONTENT).hexdigest()
    legacy = data_dir / "blobs" / "objects" / sha256[:2] / sha256[2:4] / sha256
    legacy.parent.mkdir(parents=True)
    stored.rename(legacy)

    with caplog.at_level(logging.WARNING), served(data_dir) as (_hub, client):
        assert client.get(f"/evidence/deposits/{deposit_id}/content").content == CONTENT
        again = deposit(client)  # the same file again: stored once
    assert "moved 1 blob(s) from digest names to keyed names" in caplog.text
    assert stored.is_file() and not (data_dir / "blobs" / "objects").exists()
    assert [p for p in (data_dir / "blobs" / "keyed").rglob("*") if p.is_file()] == [stored]
    assert again != deposit_id


def test_a_new_sqlite_database_is_private_from_the_start(tmp_path: Path, umask_022: None) -> None:
    path = tmp_path / "fresh" / "hub.sqlite3"
    engine = create_db_engine(f"sqlite:///{path}")
    try:
        assert path.stat().st_mode & 0o777 == 0o600  # before SQLite ever opened it
        assert path.parent.stat().st_mode & 0o777 == 0o700
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE t (x TEXT)")
            connection.exec_driver_sql("INSERT INTO t VALUES ('metadata')")
        for suffix in ("", "-wal", "-shm"):
            companion = Path(f"{path}{suffix}")
            assert companion.stat().st_mode & 0o777 == 0o600, suffix
    finally:
        engine.dispose()
