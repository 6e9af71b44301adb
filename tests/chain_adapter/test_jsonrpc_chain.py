"""What only the JSON-RPC backend has: a network, a node that restarts, credentials in URLs.

The shared behaviour is in ``test_chain_contract.py``; these tests use the real
Hardhat node of ``tests/fixtures/hardhat.py`` and, for HTTP failures, a tiny
local HTTP server that answers 500 or not at all.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from chain_adapter.errors import ChainUnavailable, WrongChainId
from chain_adapter.jsonrpc_chain import JsonRpcChain
from chain_adapter.protocol import Receipt
from chain_adapter.transactor import Transactor
from testkit.waiting import wait_until
from tests.fixtures.hardhat import HardhatNode, free_port

pytestmark = pytest.mark.hardhat

SECRETS = ("alice", "s3cr3t-pw", "KEY123", "tok456")


def _secret_url(port: int) -> str:
    return f"http://alice:s3cr3t-pw@127.0.0.1:{port}/v3/KEY123?token=tok456"


def _assert_no_secrets(exc: BaseException) -> None:
    text = str(exc)
    for secret in SECRETS:
        assert secret not in text
    # The transport error (whose text has the full URL) is not chained either.
    assert exc.__cause__ is None and exc.__suppress_context__


class _Misbehaving(BaseHTTPRequestHandler):
    mode = "500"
    hits = 0

    def do_POST(self) -> None:
        type(self).hits += 1
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.mode == "slow":
            time.sleep(2)
        self.send_response(500 if self.mode == "500" else 200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"upstream exploded")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def misbehaving() -> Iterator[tuple[int, type[_Misbehaving]]]:
    handler = type("Handler", (_Misbehaving,), {"hits": 0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server.server_address[1], handler
    finally:
        server.shutdown()
        server.server_close()


def test_wrong_chain_id_names_both_ids(hardhat_node: HardhatNode) -> None:
    hardhat_node.ensure_running()
    with pytest.raises(WrongChainId) as wrong:
        JsonRpcChain.connect(hardhat_node.url, expected_chain_id=1, timeout=5, retries=0)
    assert "31337" in wrong.value.message and "expected chain id 1" in wrong.value.message


def test_node_down_fails_fast_with_a_clear_message() -> None:
    port = free_port()
    started = time.monotonic()
    with pytest.raises(ChainUnavailable) as down:
        JsonRpcChain.connect(f"http://127.0.0.1:{port}", timeout=2, retries=1, backoff=0.05)
    assert time.monotonic() - started < 2
    assert f"http://127.0.0.1:{port}" in down.value.message
    assert "eth_chainId" in down.value.message and "2 attempt(s)" in down.value.message
    assert "cannot connect" in down.value.message


def test_secrets_never_reach_messages() -> None:
    port = free_port()
    with pytest.raises(ChainUnavailable) as down:
        JsonRpcChain.connect(_secret_url(port), timeout=2, retries=0)
    assert f"http://127.0.0.1:{port}/***" in down.value.message
    _assert_no_secrets(down.value)


def test_http_5xx_is_retried_then_unavailable(
    misbehaving: tuple[int, type[_Misbehaving]],
) -> None:
    port, handler = misbehaving
    with pytest.raises(ChainUnavailable) as failed:
        JsonRpcChain.connect(_secret_url(port), timeout=2, retries=2, backoff=0.01)
    assert handler.hits == 3
    assert "HTTP 500" in failed.value.message
    _assert_no_secrets(failed.value)


def test_read_timeout_is_unavailable(misbehaving: tuple[int, type[_Misbehaving]]) -> None:
    port, handler = misbehaving
    handler.mode = "slow"
    started = time.monotonic()
    with pytest.raises(ChainUnavailable) as slow:
        JsonRpcChain.connect(f"http://127.0.0.1:{port}", timeout=0.3, retries=0)
    assert time.monotonic() - started < 1.5
    assert "no answer within 0.3s" in slow.value.message


def test_garbage_answer_is_unavailable(misbehaving: tuple[int, type[_Misbehaving]]) -> None:
    port, handler = misbehaving
    handler.mode = "garbage"
    with pytest.raises(ChainUnavailable) as garbage:
        JsonRpcChain.connect(f"http://127.0.0.1:{port}", timeout=2, retries=0)
    assert "malformed JSON-RPC response" in garbage.value.message


@pytest.mark.slow
def test_node_restart_mid_session(hardhat_node: HardhatNode) -> None:
    hardhat_node.ensure_running()
    impatient = JsonRpcChain.connect(hardhat_node.url, expected_chain_id=31337, retries=0)
    patient = JsonRpcChain.connect(
        hardhat_node.url, expected_chain_id=31337, timeout=5, retries=10, backoff=0.2
    )
    try:
        impatient.block_number()
        hardhat_node.stop()
        with pytest.raises(ChainUnavailable):
            impatient.block_number()

        # A restart shorter than the retry budget is invisible to a patient reader.
        restarter = threading.Timer(0.5, hardhat_node.start)
        restarter.start()
        try:
            assert patient.get_block("latest").number >= 0
        finally:
            restarter.join()
        # The impatient one reconnects by itself once the node is back (a fresh chain).
        assert impatient.block_number() >= 0
        assert impatient.chain_id == 31337
    finally:
        hardhat_node.ensure_running()
        impatient.close()
        patient.close()


def test_wait_honours_the_confirmation_depth(
    hardhat_node: HardhatNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    hardhat_node.ensure_running()
    account: LocalAccount = Account.create()
    hardhat_node.fund(account.address, 10**19)
    chain = JsonRpcChain.connect(hardhat_node.url, expected_chain_id=31337)
    try:
        transactor = Transactor(
            chain, account, confirmations=3, receipt_timeout=30, poll_interval=0.02
        )
        tx_hash = transactor.send(transactor.build(Account.create().address, value=1))
        mined = chain.get_receipt(tx_hash)
        assert mined is not None  # auto-mined: depth 1 now

        heads: list[int] = []  # the chain head each time the waiter counted the depth
        block_number = chain.block_number

        def counted() -> int:
            head = block_number()
            heads.append(head)
            return head

        def seen(depth: int) -> bool:
            return heads.count(mined.block_number + depth - 1) >= 3

        monkeypatch.setattr(chain, "block_number", counted)
        result: list[Receipt] = []
        waiter = threading.Thread(target=lambda: result.append(transactor.wait(tx_hash)))
        waiter.start()
        wait_until(lambda: seen(1), timeout=10, message="the waiter never counted depth 1")
        assert not result  # depth 1 < 3
        hardhat_node.mine()
        wait_until(lambda: seen(2), timeout=10, message="the waiter never counted depth 2")
        assert not result  # depth 2 < 3
        hardhat_node.mine()
        waiter.join(timeout=10)
        assert result == [mined]
        assert chain.block_number() - result[0].block_number + 1 == 3
    finally:
        chain.close()
