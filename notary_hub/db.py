"""Database engine and sessions (SQLAlchemy 2) for SQLite and PostgreSQL.

Every component declares its tables on a ``DeclarativeBase`` of its own;
:data:`METADATA` lists them all for Alembic and for the schema tests.

The database is not encrypted: deposit metadata (titles, file names, descriptions,
tags, depositor DIDs, digests) is in it as plaintext. So a SQLite file is the owner's
alone (issue 9 item 11): created mode 0o600 before SQLite opens it (SQLite gives its
``-wal`` / ``-shm`` files the database's mode), tightened to 0o600 if it (or those
files) already exist with looser modes, which is logged; a directory made for it is
0o700. :func:`tighten_mode` is also how the hub keeps its data directory private.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, MetaData, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from chain_adapter.extra_anchor_models import ExtraAnchor
from chain_adapter.models import ChainBase
from credentials.challenge_models import CHALLENGE_METADATA
from credentials.status.models import STATUS_METADATA
from did_registry.consortium.models import ConsortiumBase
from did_registry.ethr.models import DidIndexBase
from evidence.capture.models import CAPTURE_METADATA
from evidence.deposit.models import EvidenceBase
from evidence.draw.models import DRAW_METADATA
from oauth_server.account_models import ACCOUNT_METADATA
from oauth_server.models import OAUTH_METADATA

log = logging.getLogger(__name__)

SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")  # files SQLite keeps next to a database

# Imported for its table, which it adds to ChainBase's metadata (issue 16: extra chains).
_CHAIN_TABLES = (ExtraAnchor,)

METADATA: tuple[MetaData, ...] = (
    ChainBase.metadata,
    DidIndexBase.metadata,
    ConsortiumBase.metadata,
    STATUS_METADATA,
    EvidenceBase.metadata,
    DRAW_METADATA,  # issue 14: public draws
    CAPTURE_METADATA,  # issue 15: remote captures
    CHALLENGE_METADATA,
    ACCOUNT_METADATA,  # issue 13: accounts and wallet sign-in
    OAUTH_METADATA,
)


def create_db_engine(url: str, *, echo: bool = False, pool_size: int = 10) -> Engine:
    """An engine with the settings each backend needs for concurrent use."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            private_sqlite_file(Path(parsed.database))
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": 30},
        )
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(parsed, echo=echo, pool_size=pool_size, pool_pre_ping=True)


def tighten_mode(path: Path, allowed: int, *, warn: bool = True) -> bool:
    """Drop every permission bit of ``path`` outside ``allowed`` (never adds one).

    Returns whether it changed anything; says so in the log (the path and the modes,
    nothing of the content), as a warning unless ``warn`` is false (for what this
    process has just created).
    """
    current = stat.S_IMODE(os.stat(path).st_mode)
    tightened = current & allowed
    if tightened == current:
        return False
    os.chmod(path, tightened)
    log.log(
        logging.WARNING if warn else logging.DEBUG,
        "tightened permissions of %s from %o to %o",
        path,
        current,
        tightened,
    )
    return True


def private_sqlite_file(path: Path) -> None:
    """``path`` (and its -wal/-shm) mode 0o600, created so if missing; see the docstring."""
    if not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(path.parent, 0o700)  # mkdir's mode is filtered by the umask
    with suppress(FileExistsError):
        # An empty file is an empty SQLite database; made here so it is never world-readable.
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for each in (path, *(Path(f"{path}{suffix}") for suffix in SQLITE_COMPANIONS)):
        with suppress(FileNotFoundError):
            tighten_mode(each, 0o600)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling is off; _sqlite_on_begin takes over.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_on_begin(connection: Any) -> None:
    # IMMEDIATE takes the write lock up front, so two writers queue on
    # busy_timeout instead of failing with "database is locked" on upgrade.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work commits on success and rolls back on any error."""
    with factory() as session, session.begin():
        yield session


def ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
