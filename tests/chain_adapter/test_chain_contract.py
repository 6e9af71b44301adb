"""The Chain contract: one class of tests that every backend must pass identically.

``chain`` (tests/chain_adapter/conftest.py) is parametrised over the backends, so
each test runs as ``[embedded]`` and ``[jsonrpc]``. Together they pin down the
behaviour of the ``Chain`` protocol, ``Transactor`` and ``BoundContract`` that the
hub relies on, whichever chain it is configured with.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import replace
from typing import Any

import pytest
from eth_abi.abi import decode as abi_decode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak

from chain_adapter.artifacts import Artifact
from chain_adapter.contract import BoundContract
from chain_adapter.errors import (
    BlockNotFound,
    CallReverted,
    ContractNotFound,
    TransactionRejected,
    TransactionReverted,
)
from chain_adapter.protocol import CallRequest, Chain, LogFilter, Receipt
from chain_adapter.transactor import Transactor

FAIL_REASON = "probe: failed on purpose"
SET_TOPIC = "0x" + keccak(text="Set(address,uint256,bytes)").hex()
REFUSED_SELECTOR = keccak(text="Refused(address,uint256)")[:4]


def _random_address() -> str:
    acct: LocalAccount = Account.create()
    return str(acct.address)


def _address_topic(address: str) -> str:
    return "0x" + bytes.fromhex(address[2:]).rjust(32, b"\0").hex()


class TestChainContract:
    # -- chain and blocks ---------------------------------------------------------------

    def test_chain_id(self, chain: Chain, expected_chain_id: int) -> None:
        assert chain.chain_id == expected_chain_id

    def test_block_number_grows_after_a_transaction(
        self, chain: Chain, transactor: Transactor
    ) -> None:
        before = chain.block_number()
        receipt = transactor.transact(_random_address(), value=1)
        assert receipt.block_number > before
        assert chain.block_number() >= receipt.block_number

    def test_get_block_by_number_tag_and_hash(self, chain: Chain, transactor: Transactor) -> None:
        receipt = transactor.transact(_random_address(), value=1)
        latest = chain.get_block("latest")
        assert latest.number >= receipt.block_number >= 1
        assert chain.get_block(latest.number) == latest
        assert chain.get_block(latest.hash) == latest
        assert chain.get_block("pending").number >= latest.number

        mined = chain.get_block(receipt.block_number)
        assert receipt.transaction_hash in mined.transactions
        assert mined.hash == receipt.block_hash
        assert mined.gas_limit > 0 and mined.gas_used >= 21_000

        parent = chain.get_block(mined.number - 1)
        assert mined.parent_hash == parent.hash
        assert mined.timestamp >= parent.timestamp
        genesis = chain.get_block("earliest")
        assert genesis.number == 0 and chain.get_block(0) == genesis
        for block in (latest, genesis):
            assert block.hash.startswith("0x") and len(block.hash) == 66
            assert block.hash == block.hash.lower()

    def test_unknown_block_raises_block_not_found(self, chain: Chain) -> None:
        with pytest.raises(BlockNotFound):
            chain.get_block(chain.block_number() + 1000)
        with pytest.raises(BlockNotFound):
            chain.get_block("0x" + secrets.token_hex(32))

    # -- code and contracts -------------------------------------------------------------

    def test_deployed_probe_has_its_runtime_code(
        self, chain: Chain, probe: BoundContract, probe_artifact: Artifact
    ) -> None:
        assert chain.get_code(probe.address) == probe_artifact.deployed_bytecode
        assert (
            chain.get_code(probe.address, chain.get_block().hash)
            == probe_artifact.deployed_bytecode
        )

    def test_no_code_at_a_random_address(self, chain: Chain, probe_artifact: Artifact) -> None:
        address = _random_address()
        assert chain.get_code(address) == b""
        with pytest.raises(ContractNotFound):
            BoundContract.attach(chain, probe_artifact.abi, address)

    def test_attach_checks_the_expected_code(
        self, chain: Chain, probe: BoundContract, probe_artifact: Artifact
    ) -> None:
        with pytest.raises(ContractNotFound):
            BoundContract.attach(chain, probe_artifact.abi, probe.address, b"\x60\x00")

    def test_set_get_round_trip_and_history(
        self, chain: Chain, transactor: Transactor, probe: BoundContract
    ) -> None:
        assert probe.call("get") == 0
        receipt = probe.transact(transactor, "set", 42)
        assert receipt.succeeded and receipt.to_address == probe.address
        assert receipt.from_address == transactor.address
        assert probe.call("get") == 42
        assert probe.call("get", block=receipt.block_number - 1) == 0
        raw = chain.call(CallRequest(to=probe.address, data=probe.encode("get")))
        assert raw == (42).to_bytes(32, "big")

    # -- logs and events ----------------------------------------------------------------

    def test_get_logs_filters_by_address_topics_and_range(
        self, chain: Chain, transactor: Transactor, probe: BoundContract
    ) -> None:
        first = probe.transact(transactor, "set", 1)
        second = probe.transact(transactor, "set", 2)
        start = first.block_number

        def logs(**overrides: Any) -> list[int]:
            flt = replace(LogFilter(from_block=start, to_block="latest"), **overrides)
            return [int.from_bytes(log.data[:32], "big") for log in chain.get_logs(flt)]

        assert logs(address=probe.address) == [1, 2]
        assert logs(address=probe.address, topics=(SET_TOPIC,)) == [1, 2]
        assert logs(address=(probe.address, _random_address())) == [1, 2]
        assert logs(address=_random_address()) == []
        assert logs(topics=(SET_TOPIC, _address_topic(transactor.address))) == [1, 2]
        assert logs(topics=(SET_TOPIC, _address_topic(_random_address()))) == []
        assert logs(topics=((SET_TOPIC, "0x" + "00" * 32),)) == [1, 2]
        assert logs(topics=(None, _address_topic(transactor.address))) == [1, 2]
        assert logs(from_block=second.block_number, to_block=second.block_number) == [2]
        assert logs(to_block=first.block_number) == [1]

        (log,) = chain.get_logs(
            LogFilter(from_block=second.block_number, to_block=second.block_number)
        )
        assert log.address == probe.address
        assert log.topics == (SET_TOPIC, _address_topic(transactor.address))
        assert log.block_number == second.block_number and log.block_hash == second.block_hash
        assert log.transaction_hash == second.transaction_hash
        assert second.logs == (log,)

    def test_events_are_decoded(self, transactor: Transactor, probe: BoundContract) -> None:
        first = probe.transact(transactor, "set", 7)
        probe.transact(transactor, "set", 8)
        events = probe.events("Set", first.block_number)
        assert [e.args["value"] for e in events] == [7, 8]
        assert events[0].name == "Set"
        assert events[0].args == {
            "who": transactor.address,
            "value": 7,
            "data": (7).to_bytes(32, "big"),
        }
        assert events[0].log.transaction_hash == first.transaction_hash
        assert (
            probe.events("Set", first.block_number, argument_filters={"value": 8})[0].args["value"]
            == 8
        )
        assert (
            len(
                probe.events(
                    "Set", first.block_number, argument_filters={"who": transactor.address}
                )
            )
            == 2
        )
        assert (
            probe.events("Set", first.block_number, argument_filters={"who": _random_address()})
            == []
        )
        assert [e.args["value"] for e in probe.decode_logs(first, "Set")] == [7]

    # -- reverts ------------------------------------------------------------------------

    def test_revert_is_reported_before_anything_is_sent(
        self, chain: Chain, transactor: Transactor, probe: BoundContract
    ) -> None:
        nonce = chain.get_transaction_count(transactor.address)
        with pytest.raises(CallReverted) as estimated:
            probe.transact(transactor, "fail")
        assert estimated.value.reason == FAIL_REASON
        assert FAIL_REASON in estimated.value.message
        with pytest.raises(CallReverted) as called:
            probe.call("fail")
        assert called.value.reason == FAIL_REASON
        assert called.value.data[:4] == keccak(text="Error(string)")[:4]
        assert chain.get_transaction_count(transactor.address) == nonce

    def test_forced_revert_raises_transaction_reverted(
        self, chain: Chain, transactor: Transactor, probe: BoundContract
    ) -> None:
        nonce = chain.get_transaction_count(transactor.address)
        signed = transactor.build(probe.address, probe.encode("fail"), gas=100_000)
        tx_hash = transactor.send(signed)
        assert tx_hash == signed.hash
        with pytest.raises(TransactionReverted) as reverted:
            transactor.wait(tx_hash)
        assert reverted.value.tx_hash == tx_hash
        assert reverted.value.reason == FAIL_REASON
        receipt = chain.get_receipt(tx_hash)
        assert receipt is not None and receipt.status == 0 and not receipt.succeeded
        assert chain.get_transaction_count(transactor.address) == nonce + 1
        # The nonce counter is still right after a mined failure.
        assert probe.transact(transactor, "set", 5).succeeded

    def test_custom_error_keeps_raw_data(
        self, transactor: Transactor, probe: BoundContract
    ) -> None:
        with pytest.raises(CallReverted) as reverted:
            probe.call("failCustom", 9, from_address=transactor.address)
        assert reverted.value.reason is None
        data = reverted.value.data
        assert data[:4] == REFUSED_SELECTOR
        who, code = abi_decode(["address", "uint256"], data[4:])
        assert (who.lower(), code) == (transactor.address.lower(), 9)
        with pytest.raises(CallReverted) as estimated:
            probe.transact(transactor, "failCustom", 9)
        assert estimated.value.data == data

    # -- value, nonces, idempotence -----------------------------------------------------

    def test_value_transfer_and_balances(
        self, chain: Chain, transactor: Transactor, probe: BoundContract
    ) -> None:
        recipient = _random_address()
        assert chain.get_balance(recipient) == 0
        sender_before = chain.get_balance(transactor.address)
        receipt = transactor.transact(recipient, value=12_345)
        assert chain.get_balance(recipient) == 12_345
        assert chain.get_balance(recipient, receipt.block_number - 1) == 0
        assert chain.get_balance(transactor.address) <= sender_before - 12_345

        deposit = probe.transact(transactor, "deposit", value=777)
        assert chain.get_balance(probe.address) == 777
        (event,) = probe.decode_logs(deposit, "Deposited")
        assert event.args == {"from": transactor.address, "amount": 777}

    def test_concurrent_senders_share_one_account(
        self, chain: Chain, transactor: Transactor
    ) -> None:
        threads, per_thread = 8, 5
        start = chain.get_transaction_count(transactor.address, "latest")
        sink = _random_address()
        receipts: list[Receipt] = []
        errors: list[BaseException] = []
        lock = threading.Lock()

        def send_some() -> None:
            try:
                for _ in range(per_thread):
                    receipt = transactor.transact(sink, value=1)
                    with lock:
                        receipts.append(receipt)
            except BaseException as exc:
                with lock:
                    errors.append(exc)

        workers = [threading.Thread(target=send_some) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=120)
        assert errors == []
        total = threads * per_thread
        assert len({r.transaction_hash for r in receipts}) == total
        assert all(r.succeeded for r in receipts)
        # Every transaction used one nonce and the count moved by exactly as many:
        # the nonces were start .. start + total - 1, with no gap and no reuse.
        assert chain.get_transaction_count(transactor.address, "latest") == start + total
        assert chain.get_balance(sink) == total

    def test_rebroadcast_of_the_same_bytes_is_idempotent(
        self, chain: Chain, transactor: Transactor
    ) -> None:
        recipient = _random_address()
        signed = transactor.build(recipient, value=5)
        first = transactor.send(signed)
        receipt = transactor.wait(first)
        assert transactor.send(signed) == first == signed.hash
        assert chain.send_raw_transaction(signed.raw) == first
        assert chain.get_balance(recipient) == 5
        assert chain.get_transaction_count(transactor.address) == signed.nonce + 1
        assert chain.get_receipt(first) == receipt

    def test_nonce_counter_resyncs_after_a_rejection(
        self, chain: Chain, account: LocalAccount, transactor: Transactor
    ) -> None:
        start = chain.get_transaction_count(account.address)
        stale = Transactor(chain, account, receipt_timeout=30.0, poll_interval=0.02)
        stale.transact(_random_address(), value=1)  # its counter now expects nonce n + 1
        transactor.transact(_random_address(), value=1)  # another sender takes n + 1
        with pytest.raises(TransactionRejected):
            stale.send(stale.build(_random_address(), value=1))
        assert stale.transact(_random_address(), value=1).succeeded  # re-read: n + 2
        assert chain.get_transaction_count(account.address) == start + 3

    def test_transact_heals_a_nonce_taken_behind_its_back(
        self, chain: Chain, account: LocalAccount, transactor: Transactor
    ) -> None:
        unsent = transactor.build(_random_address(), value=1)  # reserves nonce n, never sent
        receipt = transactor.transact(_random_address(), value=1)  # n + 1 rejected, then n
        assert receipt.succeeded
        assert chain.get_transaction_count(account.address) == unsent.nonce + 1

    def test_unknown_receipt_is_none(self, chain: Chain) -> None:
        assert chain.get_receipt("0x" + secrets.token_hex(32)) is None

    def test_fee_params_are_sane(self, chain: Chain) -> None:
        fees = chain.fee_params()
        base_fee = chain.get_block("latest").base_fee_per_gas
        if fees.max_fee_per_gas is None:
            assert fees.gas_price is not None and fees.gas_price >= 0
        else:
            assert base_fee is not None
            assert fees.max_priority_fee_per_gas is not None
            assert 0 <= fees.max_priority_fee_per_gas <= fees.max_fee_per_gas
            assert fees.max_fee_per_gas >= base_fee
