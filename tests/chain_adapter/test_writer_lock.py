"""One writer per embedded chain and consistent copies of it (issue 11).

The lock is an ``flock`` on an open file description, so a second open in the same
process conflicts exactly as another process's would.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from eth_account import Account

from chain_adapter.embedded import EmbeddedChain
from chain_adapter.embedded_copy import CopyExists, NoChain, export_chain, stored_chain_id
from chain_adapter.writer_lock import LOCK_NAME, ChainLocked, WriterLock, holder_command

CHAIN_ID = 4242


def test_a_second_opener_is_refused_naming_the_holder(tmp_path: Path) -> None:
    chain = EmbeddedChain.open(tmp_path / "chain", chain_id=CHAIN_ID)
    try:
        holder = json.loads((tmp_path / "chain" / LOCK_NAME).read_text())
        assert holder["pid"] == os.getpid()
        with pytest.raises(ChainLocked) as refused:
            EmbeddedChain.open(tmp_path / "chain", chain_id=CHAIN_ID)
        assert refused.value.code == "chain_locked"
        assert refused.value.message == (
            f"the embedded chain in {tmp_path / 'chain'} is in use by "
            f"{holder['command']} (pid {os.getpid()})"
        )
    finally:
        chain.close()
    EmbeddedChain.open(tmp_path / "chain", chain_id=CHAIN_ID).close()  # free again


def test_a_failed_open_releases_the_lock(tmp_path: Path) -> None:
    EmbeddedChain.open(tmp_path, chain_id=CHAIN_ID).close()
    with pytest.raises(Exception, match="chain id"):
        EmbeddedChain.open(tmp_path, chain_id=CHAIN_ID + 1)
    WriterLock.acquire(tmp_path).release()


def test_the_holder_is_named_by_its_sub_command_never_its_options() -> None:
    assert holder_command(["/venv/bin/notary-hub", "serve", "--port", "1"]) == "notary-hub serve"
    assert holder_command(["/x/notary-hub", "keys", "rotate", "extra"]) == "notary-hub keys rotate"


def test_export_copies_a_consistent_chain_while_it_is_open(tmp_path: Path) -> None:
    account = Account.create()
    chain = EmbeddedChain.open(tmp_path / "chain", chain_id=CHAIN_ID, prefund={account.address: 7})
    try:
        copy = export_chain(tmp_path / "chain", tmp_path / "copy" / "chain")
        height, head = chain.block_number(), chain.get_block("latest")
        with pytest.raises(CopyExists):
            export_chain(tmp_path / "chain", tmp_path / "copy" / "chain")
    finally:
        chain.close()
    assert copy == tmp_path / "copy" / "chain" / "chain.sqlite3"
    assert sorted(p.name for p in copy.parent.iterdir()) == ["chain.sqlite3"]
    assert copy.stat().st_mode & 0o777 == 0o600
    assert stored_chain_id(copy.parent) == CHAIN_ID
    served = EmbeddedChain.open(copy.parent, chain_id=CHAIN_ID)
    try:
        assert served.block_number() == height
        assert served.get_block("latest") == head
        assert served.get_balance(account.address) == 7
    finally:
        served.close()


def test_no_chain_is_never_created_by_a_copy(tmp_path: Path) -> None:
    with pytest.raises(NoChain):
        export_chain(tmp_path / "nothing", tmp_path / "copy")
    assert not (tmp_path / "copy").exists()
