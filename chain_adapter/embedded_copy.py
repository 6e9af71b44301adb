"""A consistent copy of the embedded chain, and what a copy needs to be served.

Issue 11, item 2: a court (or an auditor) gets the chain as a directory it can serve
with ``notary-hub node``. The copy is made with SQLite's online backup API
(https://www.sqlite.org/backup.html): it reads the source inside one read transaction,
so it is the chain as of one sealed block even while the hub keeps sealing (the
embedded chain commits once per block, ``chain_adapter.kvstore``), and it needs no
writer lock. The lock file and the WAL companions are not copied: the copy is one
self-contained SQLite file.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from chain_adapter.errors import ChainError

CHAIN_FILE = "chain.sqlite3"


class NoChain(ChainError):
    """No embedded chain where one was expected."""

    code = "no_chain"
    status_code = 404


class CopyExists(ChainError):
    """The target of a copy already holds a chain: never overwritten."""

    code = "copy_exists"
    status_code = 409


def _read_only(chain_dir: Path) -> sqlite3.Connection:
    path = chain_dir / CHAIN_FILE
    if not path.is_file():
        raise NoChain(f"there is no embedded chain in {chain_dir}")
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)


def stored_chain_id(chain_dir: Path) -> int:
    """The chain id the chain in ``chain_dir`` was created with."""
    conn = _read_only(chain_dir)
    try:
        row = conn.execute("SELECT value FROM meta WHERE name = 'chain_id'").fetchone()
    except sqlite3.Error as exc:
        raise NoChain(f"{chain_dir / CHAIN_FILE} is not an embedded chain: {exc}") from None
    finally:
        conn.close()
    if row is None:
        raise NoChain(f"{chain_dir / CHAIN_FILE} is not an embedded chain: no chain id")
    return int(row[0])


def export_chain(chain_dir: Path, out_dir: Path) -> Path:
    """Copy the chain in ``chain_dir`` to ``out_dir/chain.sqlite3``; the copy's path.

    ``out_dir`` is created (mode 0700); a chain already there is refused, not replaced.
    """
    stored_chain_id(chain_dir)  # what is copied is a chain
    target = out_dir / CHAIN_FILE
    if target.exists():
        raise CopyExists(f"{target} already exists")
    out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    source = _read_only(chain_dir)
    partial = out_dir / (CHAIN_FILE + ".partial")
    partial.unlink(missing_ok=True)
    partial.touch(mode=0o600)
    copy = sqlite3.connect(partial)
    try:
        source.backup(copy)  # all pages in one step: one read transaction, one block
        copy.execute("PRAGMA journal_mode=DELETE")  # one file, no -wal to hand over
    finally:
        copy.close()
        source.close()
    partial.rename(target)  # a copy that exists is a whole one
    return target
