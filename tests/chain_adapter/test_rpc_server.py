"""The JSON-RPC server over the embedded chain: the dispatcher directly, then web3.py over HTTP."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_utils.crypto import keccak
from fastapi import FastAPI
from hexbytes import HexBytes
from web3 import HTTPProvider, Web3
from web3.exceptions import ContractLogicError, Web3RPCError
from web3.middleware import SignAndSendRawMiddlewareBuilder

from chain_adapter import rpc_server as rpc_server_module
from chain_adapter.embedded import EmbeddedChain
from chain_adapter.rpc_router import rpc_router
from chain_adapter.rpc_server import READ_ONLY_MESSAGE, RpcServer
from testkit.serving import serve_app

CHAIN_ID = 1337
ACCOUNT = Account.from_key("0x" + "4c" * 32)
OTHER = Account.from_key("0x" + "5d" * 32)
FUNDS = 10**21
STORED = keccak(text="Stored(address,uint256)")

QUANTITY = re.compile(r"^0x(0|[1-9a-f][0-9a-f]*)$")
DATA = re.compile(r"^0x([0-9a-f]{2})*$")


# -- a hand-assembled contract ----------------------------------------------------------
# No calldata: return slot 0. A non-zero word: store it, emit Stored(msg.sender, word).
# A zero word: revert Error("zero").

_OPS = {
    "STOP": 0x00, "ISZERO": 0x15, "CALLER": 0x33, "CALLDATALOAD": 0x35, "CALLDATASIZE": 0x36,
    "CODECOPY": 0x39, "MSTORE": 0x52, "SLOAD": 0x54, "SSTORE": 0x55, "JUMPI": 0x57,
    "JUMPDEST": 0x5B, "DUP1": 0x80, "LOG2": 0xA2, "RETURN": 0xF3, "REVERT": 0xFD,
}  # fmt: skip


def _assemble(program: list[Any]) -> bytes:
    """Ops are names; ints and bytes are pushed (PUSH1/PUSH32); ``":x"`` labels, ``"@x"`` refs."""

    def size(item: Any) -> int:
        if isinstance(item, str):
            return 0 if item.startswith(":") else 2 if item.startswith("@") else 1
        return 2 if isinstance(item, int) else 33

    labels, offset = {}, 0
    for item in program:
        if isinstance(item, str) and item.startswith(":"):
            labels[item[1:]] = offset
        offset += size(item)
    code = bytearray()
    for item in program:
        if isinstance(item, str) and item.startswith("@"):
            code += bytes([0x60, labels[item[1:]]])
        elif isinstance(item, str) and not item.startswith(":"):
            code.append(_OPS[item])
        elif isinstance(item, int):
            code += bytes([0x60, item])
        elif isinstance(item, bytes):
            code += b"\x7f" + item.rjust(32, b"\0")
    return bytes(code)


RUNTIME = _assemble(
    ["CALLDATASIZE", "ISZERO", "@get", "JUMPI",
     0, "CALLDATALOAD", "DUP1", "ISZERO", "@revert", "JUMPI",
     "DUP1", 0, "SSTORE", 0, "MSTORE",
     "CALLER", STORED, 0x20, 0, "LOG2", "STOP",
     ":get", "JUMPDEST", 0, "SLOAD", 0, "MSTORE", 0x20, 0, "RETURN",
     ":revert", "JUMPDEST",
     bytes.fromhex("08c379a0").ljust(32, b"\0"), 0, "MSTORE",
     0x20, 4, "MSTORE", 4, 0x24, "MSTORE", b"zero".ljust(32, b"\0"), 0x44, "MSTORE",
     0x64, 0, "REVERT"]
)  # fmt: skip
INIT = _assemble([len(RUNTIME), "DUP1", 11, 0, "CODECOPY", 0, "RETURN"]) + RUNTIME
ZERO_REASON = (
    "0x08c379a0" + (32).to_bytes(32, "big").hex() + (4).to_bytes(32, "big").hex()
) + b"zero".ljust(32, b"\0").hex()


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def _signed(
    nonce: int, *, to: str | None, data: bytes, signer: Any = ACCOUNT, **extra: Any
) -> bytes:
    tx: dict[str, Any] = {
        "type": 2, "chainId": CHAIN_ID, "nonce": nonce, "gas": 300_000,
        "maxFeePerGas": 10**9, "maxPriorityFeePerGas": 10**8, "value": 0, "data": data,
    }  # fmt: skip
    if to is not None:
        tx["to"] = to
    tx.update(extra)
    return bytes(signer.sign_transaction(tx).raw_transaction)


# -- fixtures and helpers -------------------------------------------------------------


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[EmbeddedChain]:
    opened = EmbeddedChain.open(
        tmp_path, chain_id=CHAIN_ID, prefund={ACCOUNT.address: FUNDS, OTHER.address: FUNDS}
    )
    yield opened
    opened.close()


@pytest.fixture
def server(chain: EmbeddedChain) -> RpcServer:
    return RpcServer(chain, allow_send_raw=True)


def _deploy(chain: EmbeddedChain, nonce: int) -> str:
    receipt = chain.get_receipt(chain.send_raw_transaction(_signed(nonce, to=None, data=INIT)))
    assert receipt is not None and receipt.contract_address is not None
    return receipt.contract_address


class Deployed:
    """The contract deployed (block 1) by ACCOUNT, which then stores 42 in it (block 2)."""

    def __init__(self, chain: EmbeddedChain) -> None:
        self.address = _deploy(chain, nonce=0)
        self.deploy_hash = chain.get_block(1).transactions[0]
        self.store_hash = chain.send_raw_transaction(_signed(1, to=self.address, data=_word(42)))
        self.store_block = chain.block_number()


@pytest.fixture
def deployed(chain: EmbeddedChain) -> Deployed:
    return Deployed(chain)


def handle(server: RpcServer, payload: Any) -> Any:
    """``server.handle`` for payloads known to need an answer."""
    answer = server.handle(payload)
    assert answer is not None
    return answer


def rpc(server: RpcServer, method: str, *params: Any) -> Any:
    answer = handle(server, {"jsonrpc": "2.0", "id": 7, "method": method, "params": list(params)})
    assert answer["id"] == 7 and answer["jsonrpc"] == "2.0"
    assert "error" not in answer, answer
    return answer["result"]


def rpc_error(server: RpcServer, method: str, *params: Any) -> dict[str, Any]:
    answer = handle(server, {"jsonrpc": "2.0", "id": "x", "method": method, "params": list(params)})
    assert answer["id"] == "x" and "result" not in answer, answer
    error: dict[str, Any] = answer["error"]
    return error


def assert_encoded(obj: dict[str, Any], quantities: set[str], datas: set[str]) -> None:
    for key in quantities:
        assert QUANTITY.match(obj[key]), (key, obj[key])
    for key in datas:
        assert DATA.match(obj[key]), (key, obj[key])


BLOCK_QUANTITIES = {"number", "difficulty", "totalDifficulty", "size", "gasLimit", "gasUsed",
                    "timestamp", "baseFeePerGas", "blobGasUsed", "excessBlobGas"}  # fmt: skip
BLOCK_DATA = {"hash", "parentHash", "nonce", "sha3Uncles", "logsBloom", "transactionsRoot",
              "stateRoot", "receiptsRoot", "miner", "extraData", "mixHash", "withdrawalsRoot",
              "parentBeaconBlockRoot"}  # fmt: skip
TX_QUANTITIES = {"blockNumber", "transactionIndex", "type", "nonce", "gas", "value",
                 "gasPrice", "chainId", "maxFeePerGas", "maxPriorityFeePerGas", "v", "r", "s",
                 "yParity"}  # fmt: skip
RECEIPT_QUANTITIES = {"transactionIndex", "blockNumber", "cumulativeGasUsed", "gasUsed",
                      "effectiveGasPrice", "status", "type"}  # fmt: skip
LOG_QUANTITIES = {"blockNumber", "transactionIndex", "logIndex"}


# -- client and chain info ---------------------------------------------------------------


def test_client_and_network_info(server: RpcServer) -> None:
    assert rpc(server, "web3_clientVersion").startswith("notary-hub/")
    assert rpc(server, "eth_chainId") == "0x539"
    assert rpc(server, "net_version") == "1337"
    assert rpc(server, "net_listening") is True
    assert rpc(server, "eth_syncing") is False
    assert rpc(server, "eth_accounts") == []
    assert rpc(server, "eth_blockNumber") == "0x0"


def test_blocks(server: RpcServer, chain: EmbeddedChain, deployed: Deployed) -> None:
    latest = rpc(server, "eth_getBlockByNumber", "latest", False)
    assert set(latest) >= BLOCK_QUANTITIES | BLOCK_DATA | {"transactions", "uncles", "withdrawals"}
    assert_encoded(latest, BLOCK_QUANTITIES, BLOCK_DATA)
    assert latest["number"] == "0x2" == rpc(server, "eth_blockNumber")
    assert latest["transactions"] == [deployed.store_hash]
    assert latest["uncles"] == [] and latest["withdrawals"] == []
    assert len(latest["logsBloom"]) == 2 + 512 and len(latest["nonce"]) == 2 + 16
    assert int(latest["logsBloom"], 16) != 0  # the Stored log is in the bloom
    assert latest["hash"] == chain.get_block(2).hash
    assert rpc(server, "eth_getBlockByHash", latest["hash"], False) == latest
    assert rpc(server, "eth_getBlockByNumber", "0x2") == latest  # flag defaults to false
    for tag in ("pending", "safe", "finalized"):
        assert rpc(server, "eth_getBlockByNumber", tag, False) == latest
    genesis = rpc(server, "eth_getBlockByNumber", "earliest", True)
    assert genesis["number"] == "0x0" and genesis["transactions"] == []
    assert genesis["parentHash"] == "0x" + "00" * 32
    assert bytes.fromhex(genesis["extraData"][2:]) == b"notary-hub embedded chain"

    full = rpc(server, "eth_getBlockByNumber", "0x1", True)
    (tx,) = full["transactions"]
    assert tx == rpc(server, "eth_getTransactionByHash", deployed.deploy_hash)

    assert rpc(server, "eth_getBlockByNumber", "0x3", False) is None
    assert rpc(server, "eth_getBlockByHash", "0x" + "ab" * 32, False) is None
    assert rpc(server, "eth_getBlockTransactionCountByNumber", "0x1") == "0x1"
    assert rpc(server, "eth_getBlockTransactionCountByNumber", "0x0") == "0x0"
    assert rpc(server, "eth_getBlockTransactionCountByHash", latest["hash"]) == "0x1"
    assert rpc(server, "eth_getBlockTransactionCountByNumber", "0x9") is None
    assert rpc(server, "eth_getBlockTransactionCountByHash", "0x" + "ab" * 32) is None


def test_transaction_and_receipt(server: RpcServer, deployed: Deployed) -> None:
    tx = rpc(server, "eth_getTransactionByHash", deployed.store_hash)
    assert_encoded(tx, TX_QUANTITIES, {"blockHash", "hash", "from", "to", "input"})
    assert tx["from"] == ACCOUNT.address.lower() and tx["to"] == deployed.address.lower()
    assert tx["input"] == "0x" + _word(42).hex() and tx["accessList"] == []
    assert (tx["type"], tx["nonce"], tx["chainId"], tx["blockNumber"]) == (
        "0x2",
        "0x1",
        "0x539",
        "0x2",
    )
    assert tx["gasPrice"] == "0x5f5e100"  # effective: base fee 0 + the 0.1 gwei tip

    receipt = rpc(server, "eth_getTransactionReceipt", deployed.store_hash)
    assert_encoded(
        receipt, RECEIPT_QUANTITIES, {"transactionHash", "blockHash", "from", "to", "logsBloom"}
    )
    assert receipt["status"] == "0x1" and receipt["contractAddress"] is None
    assert receipt["cumulativeGasUsed"] == receipt["gasUsed"]  # one transaction per block
    assert receipt["effectiveGasPrice"] == tx["gasPrice"] and receipt["type"] == "0x2"
    (log,) = receipt["logs"]
    assert_encoded(log, LOG_QUANTITIES, {"address", "data", "blockHash", "transactionHash"})
    assert log["removed"] is False and log["address"] == deployed.address.lower()
    assert log["topics"] == ["0x" + STORED.hex(), "0x" + ACCOUNT.address[2:].lower().rjust(64, "0")]
    assert receipt["logsBloom"] == rpc(server, "eth_getBlockByNumber", "0x2", False)["logsBloom"]

    creation = rpc(server, "eth_getTransactionReceipt", deployed.deploy_hash)
    assert creation["contractAddress"] == deployed.address.lower() and creation["to"] is None
    assert creation["logs"] == [] and int(creation["logsBloom"], 16) == 0

    unknown = "0x" + "cd" * 32
    assert rpc(server, "eth_getTransactionByHash", unknown) is None
    assert rpc(server, "eth_getTransactionReceipt", unknown) is None


def test_state_reads(server: RpcServer, deployed: Deployed) -> None:
    contract = deployed.address
    assert rpc(server, "eth_getCode", contract, "latest") == "0x" + RUNTIME.hex()
    assert rpc(server, "eth_getCode", contract, "0x0") == "0x"
    assert rpc(server, "eth_getBalance", OTHER.address, "latest") == hex(FUNDS)
    assert rpc(server, "eth_getBalance", "0x" + "12" * 20) == "0x0"
    assert rpc(server, "eth_getTransactionCount", ACCOUNT.address, "pending") == "0x2"
    assert rpc(server, "eth_getTransactionCount", ACCOUNT.address, "0x1") == "0x1"
    assert rpc(server, "eth_getStorageAt", contract, "0x0", "latest") == "0x" + _word(42).hex()
    assert rpc(server, "eth_getStorageAt", contract, "0x" + "00" * 32) == "0x" + _word(42).hex()
    assert rpc(server, "eth_getStorageAt", contract, "0x0", "0x1") == "0x" + "00" * 32
    # EIP-1898 block parameters: objects, and a bare block hash.
    one = rpc(server, "eth_getBlockByNumber", "0x1", False)["hash"]
    assert (
        rpc(server, "eth_getStorageAt", contract, "0x0", {"blockNumber": "0x1"}) == "0x" + "00" * 32
    )
    assert rpc(server, "eth_getTransactionCount", ACCOUNT.address, {"blockHash": one}) == "0x1"
    assert rpc(server, "eth_getTransactionCount", ACCOUNT.address, one) == "0x1"
    block_param = {"blockHash": one, "requireCanonical": True}
    assert rpc(server, "eth_getCode", contract, block_param) == "0x" + RUNTIME.hex()
    # Any single case is fine; mixed case must be a right EIP-55 checksum.
    assert rpc(server, "eth_getCode", contract.lower()) == rpc(
        server, "eth_getCode", contract.upper().replace("0X", "0x")
    )
    # A state read at an unknown block is an error, not null (geth: "header not found").
    assert rpc_error(server, "eth_getBalance", OTHER.address, "0x99")["code"] == -32000


def test_call_and_estimate(server: RpcServer, deployed: Deployed) -> None:
    read = {"to": deployed.address}
    assert rpc(server, "eth_call", read) == "0x" + _word(42).hex()
    assert rpc(server, "eth_call", read, "latest") == "0x" + _word(42).hex()
    assert rpc(server, "eth_call", read, "0x1") == "0x" + _word(0).hex()  # before the store
    word = "0x" + _word(7).hex()
    store = {"from": ACCOUNT.address, "to": deployed.address, "input": word, "gas": "0x30d40"}
    assert rpc(server, "eth_call", store) == "0x"
    assert rpc(server, "eth_call", {**store, "data": word}) == "0x"
    gas = int(rpc(server, "eth_estimateGas", store), 16)
    assert 21_000 < gas < 100_000
    assert rpc(server, "eth_estimateGas", store, "latest") == hex(gas)
    assert rpc(server, "eth_estimateGas", {"from": ACCOUNT.address, "data": "0x" + INIT.hex()})

    mismatch = rpc_error(server, "eth_call", {**store, "data": "0x01"})
    assert mismatch["code"] == -32602 and "input" in mismatch["message"]
    assert rpc_error(server, "eth_call", read, "latest", {})["code"] == -32602
    assert rpc_error(server, "eth_estimateGas", store, "0x1")["code"] == -32602

    # Reverts as geth answers them, so that clients decode the reason from ``data``.
    zero = {"to": deployed.address, "data": "0x" + _word(0).hex()}
    for method in ("eth_call", "eth_estimateGas"):
        error = rpc_error(server, method, zero)
        assert error == {"code": 3, "message": "execution reverted: zero", "data": ZERO_REASON}
    # Without revert data geth answers -32000 and no data; so does every other failure.
    bare_revert = {"data": "0x60006000fd"}  # PUSH1 0 PUSH1 0 REVERT
    assert rpc_error(server, "eth_call", bare_revert) == {
        "code": -32000,
        "message": "execution reverted",
    }
    invalid_opcode = rpc_error(server, "eth_call", {"data": "0xfe"})
    assert invalid_opcode["code"] == -32000 and "data" not in invalid_opcode
    broke = {"from": "0x" + "12" * 20, "to": deployed.address, "value": "0x1"}
    for method in ("eth_call", "eth_estimateGas"):
        no_funds = rpc_error(server, method, broke)
        assert no_funds["code"] == -32000 and "balance" in no_funds["message"]


def test_logs(server: RpcServer, chain: EmbeddedChain, deployed: Deployed) -> None:
    second = _deploy(chain, nonce=2)
    chain.send_raw_transaction(_signed(0, to=second, data=_word(5), signer=OTHER))
    topic = "0x" + STORED.hex()
    me = "0x" + ACCOUNT.address[2:].lower().rjust(64, "0")
    other = "0x" + OTHER.address[2:].lower().rjust(64, "0")
    everything = {"fromBlock": "earliest", "toBlock": "latest"}

    logs = rpc(server, "eth_getLogs", everything)
    assert [log["blockNumber"] for log in logs] == ["0x2", "0x4"]
    for log in logs:
        assert_encoded(log, LOG_QUANTITIES, {"address", "data", "blockHash", "transactionHash"})
    assert rpc(server, "eth_getLogs", {}) == logs[1:]  # both bounds default to latest
    assert rpc(server, "eth_getLogs", {**everything, "address": deployed.address}) == logs[:1]
    both = [deployed.address, second.lower()]
    assert rpc(server, "eth_getLogs", {**everything, "address": both}) == logs
    assert rpc(server, "eth_getLogs", {**everything, "address": []}) == logs
    assert rpc(server, "eth_getLogs", {**everything, "topics": [topic, other]}) == logs[1:]
    assert rpc(server, "eth_getLogs", {**everything, "topics": [None, [me, other]]}) == logs
    assert rpc(server, "eth_getLogs", {**everything, "topics": [[topic], [me, None]]}) == logs
    assert rpc(server, "eth_getLogs", {**everything, "topics": [None, None, topic]}) == []
    assert rpc(server, "eth_getLogs", {"fromBlock": "0x3", "toBlock": "0x3"}) == []
    assert rpc(server, "eth_getLogs", {"fromBlock": "0x2", "toBlock": "0xffff"}) == logs
    assert rpc(server, "eth_getLogs", {"fromBlock": "0x10", "toBlock": "0x20"}) == []
    assert rpc(server, "eth_getLogs", {"blockHash": logs[0]["blockHash"]}) == logs[:1]

    def error(criteria: dict[str, Any]) -> dict[str, Any]:
        return rpc_error(server, "eth_getLogs", criteria)

    assert error({"fromBlock": "0x3", "toBlock": "0x2"})["code"] == -32602
    assert error({"blockHash": logs[0]["blockHash"], "fromBlock": "0x1"})["code"] == -32602
    assert error({"blockHash": "0x" + "ee" * 32})["code"] == -32000
    assert error({"topics": [None] * 5})["code"] == -32602
    assert error({"topics": ["0x1234"]})["code"] == -32602
    assert error({"address": "0x1234"})["code"] == -32602
    assert error({"address": [deployed.address] * 1001})["code"] == -32602


def test_log_limits(server: RpcServer, deployed: Deployed, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rpc_server_module, "MAX_LOG_BLOCK_RANGE", 2)
    too_wide = rpc_error(server, "eth_getLogs", {"fromBlock": "0x0", "toBlock": "latest"})
    assert too_wide["code"] == -32005 and "block range" in too_wide["message"]
    assert rpc(server, "eth_getLogs", {"fromBlock": "0x1", "toBlock": "latest"})
    monkeypatch.setattr(rpc_server_module, "MAX_LOG_RESULTS", 0)
    too_many = rpc_error(server, "eth_getLogs", {"fromBlock": "0x1"})
    assert too_many["code"] == -32005 and "more than 0 results" in too_many["message"]


def test_fees(server: RpcServer, deployed: Deployed) -> None:
    assert rpc(server, "eth_gasPrice") == "0x0"  # free gas: base fee 0, no tip needed
    assert rpc(server, "eth_maxPriorityFeePerGas") == "0x0"
    history = rpc(server, "eth_feeHistory", "0x2", "latest", [0, 50, 100])
    assert history["oldestBlock"] == "0x1"
    assert history["baseFeePerGas"] == ["0x0"] * 3
    assert len(history["gasUsedRatio"]) == 2 and all(0 < r < 1 for r in history["gasUsedRatio"])
    assert history["reward"] == [["0x5f5e100"] * 3] * 2  # each block's single 0.1 gwei tip
    assert history["baseFeePerBlobGas"] == ["0x1"] * 3 and history["blobGasUsedRatio"] == [0, 0]
    everything = rpc(server, "eth_feeHistory", 1024, "0x2")
    assert everything["oldestBlock"] == "0x0" and len(everything["gasUsedRatio"]) == 3
    assert "reward" not in everything
    assert rpc(server, "eth_feeHistory", "0x1", "earliest", [25])["reward"] == [["0x0"]]
    assert rpc(server, "eth_feeHistory", 0, "latest")["baseFeePerGas"] == []
    assert "reward" not in rpc(server, "eth_feeHistory", "0x1", "latest", [])
    assert rpc_error(server, "eth_feeHistory", "0x1", "0x5")["code"] == -32000
    for bad in ([50, 10], [101], ["50"], "50"):
        assert rpc_error(server, "eth_feeHistory", "0x1", "latest", bad)["code"] == -32602
    assert rpc_error(server, "eth_feeHistory", -1, "latest")["code"] == -32602


def test_send_raw_transaction(server: RpcServer, chain: EmbeddedChain) -> None:
    raw = _signed(0, to=OTHER.address, data=b"", value=5)
    tx_hash = rpc(server, "eth_sendRawTransaction", "0x" + raw.hex())
    assert tx_hash == "0x" + keccak(raw).hex() and rpc(server, "eth_blockNumber") == "0x1"
    assert rpc(server, "eth_getBalance", OTHER.address) == hex(FUNDS + 5)
    # Re-sending mined bytes is idempotent.
    assert rpc(server, "eth_sendRawTransaction", "0x" + raw.hex()) == tx_hash
    access = [{"address": OTHER.address, "storageKeys": ["0x" + "00" * 31 + "07"]}]
    listed = _signed(1, to=OTHER.address, data=b"", accessList=access)
    tx = rpc(
        server,
        "eth_getTransactionByHash",
        rpc(server, "eth_sendRawTransaction", "0x" + listed.hex()),
    )
    assert tx["accessList"] == [{**access[0], "address": OTHER.address.lower()}]
    assert rpc_error(server, "eth_sendRawTransaction", "0x1234")["code"] == -32000
    assert rpc_error(server, "eth_sendRawTransaction", "1234")["code"] == -32602
    wrong_chain = _signed(2, to=OTHER.address, data=b"", chainId=1)
    rejected = rpc_error(server, "eth_sendRawTransaction", "0x" + wrong_chain.hex())
    assert rejected["code"] == -32000 and "chain id" in rejected["message"]

    read_only = RpcServer(chain)
    refused = rpc_error(read_only, "eth_sendRawTransaction", "0x" + raw.hex())
    assert refused == {"code": -32601, "message": READ_ONLY_MESSAGE}
    assert "read-only" in READ_ONLY_MESSAGE


# -- the JSON-RPC 2.0 envelope ------------------------------------------------------------


def test_batches_and_notifications(server: RpcServer) -> None:
    chain_id = {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}
    note = {"jsonrpc": "2.0", "method": "eth_chainId", "params": []}
    unknown = {"jsonrpc": "2.0", "id": 2, "method": "eth_nope", "params": []}
    answers = handle(server, [chain_id, note, unknown, 3])
    assert answers[0] == {"jsonrpc": "2.0", "id": 1, "result": "0x539"}
    assert answers[1]["id"] == 2 and answers[1]["error"]["code"] == -32601
    assert answers[2] == {
        "jsonrpc": "2.0", "id": None,
        "error": {"code": -32600, "message": "invalid request: a request must be an object"},
    }  # fmt: skip
    assert len(answers) == 3
    # Notifications are never answered, not even to say that they failed.
    assert server.handle(note) is None
    assert server.handle({**note, "method": "eth_nope"}) is None
    assert server.handle([note, note]) is None
    # A null id is a request, not a notification.
    assert handle(server, {**note, "id": None})["result"] == "0x539"
    assert handle(server, {**chain_id, "params": None})["result"] == "0x539"

    empty = handle(server, [])
    assert empty["error"]["code"] == -32600 and empty["id"] is None
    too_many = handle(server, [chain_id] * 101)
    assert too_many["error"]["code"] == -32600 and "100" in too_many["error"]["message"]
    assert len(handle(server, [chain_id] * 100)) == 100


@pytest.mark.parametrize(
    "request_",
    [
        "eth_chainId",
        {"id": 1, "method": "eth_chainId"},
        {"jsonrpc": "1.0", "id": 1, "method": "eth_chainId"},
        {"jsonrpc": "2.0", "id": 1, "method": 5},
        {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": "0x1"},
        {"jsonrpc": "2.0", "id": True, "method": "eth_chainId"},
        {"jsonrpc": "2.0", "id": {"a": 1}, "method": "eth_chainId"},
    ],
)
def test_invalid_requests(server: RpcServer, request_: Any) -> None:
    answer = handle(server, request_)
    assert answer["error"]["code"] == -32600
    expected_id = request_.get("id") if isinstance(request_, dict) else None
    assert answer["id"] == (
        expected_id if isinstance(expected_id, int) and expected_id is not True else None
    )


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("eth_blockNumber", ["latest"]),
        ("eth_getBalance", []),
        ("eth_getBlockByNumber", ["0x01", False]),
        ("eth_getBlockByNumber", ["1", False]),
        ("eth_getBlockByNumber", [1, False]),
        ("eth_getBlockByNumber", ["newest", False]),
        ("eth_getBlockByNumber", ["0x1", "yes"]),
        ("eth_getBlockByHash", ["0x" + "ab" * 31, False]),
        ("eth_getBalance", ["0x" + "ab" * 19, "latest"]),
        ("eth_getBalance", ["ab" * 20, "latest"]),
        ("eth_getBalance", ["0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", "latest"]),
        (
            "eth_getBalance",
            ["0x" + "ab" * 20, {"blockNumber": "0x0", "blockHash": "0x" + "00" * 32}],
        ),
        ("eth_getCode", ["0x" + "ab" * 20, "0xg"]),
        ("eth_getStorageAt", ["0x" + "ab" * 20, "slot"]),
        ("eth_call", ["0x"]),
        ("eth_call", [{"to": "0x" + "ab" * 20, "data": "0x123"}]),
        ("eth_call", [{"to": "0x" + "ab" * 20, "value": "0x00"}]),
        ("eth_call", [{"to": "0x" + "ab" * 20, "gas": "0x" + "f" * 17}]),
        ("eth_getTransactionByHash", ["0x" + "ab" * 33]),
        ("eth_getLogs", ["latest"]),
        ("eth_sendRawTransaction", ["0xabc"]),
    ],
)
def test_invalid_params(server: RpcServer, method: str, params: list[Any]) -> None:
    error = rpc_error(server, method, *params)
    assert error["code"] == -32602 and error["message"]


def test_named_params_and_internal_errors(
    server: RpcServer, chain: EmbeddedChain, monkeypatch: pytest.MonkeyPatch
) -> None:
    named = handle(
        server, {"jsonrpc": "2.0", "id": 1, "method": "eth_getBalance", "params": {"address": "0x"}}
    )
    assert named["error"]["code"] == -32602

    def broken() -> int:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(chain, "block_number", broken)
    error = rpc_error(server, "eth_blockNumber")
    assert error == {"code": -32603, "message": "internal error"}


# -- over HTTP: the router, then web3.py as a real client -------------------------------


@pytest.fixture
def http_url(chain: EmbeddedChain) -> Iterator[str]:
    writable, read_only = RpcServer(chain, allow_send_raw=True), RpcServer(chain)
    app = FastAPI()
    app.include_router(rpc_router(lambda: writable))
    app.include_router(rpc_router(lambda: read_only), prefix="/read-only")
    with serve_app(app) as served:
        yield served.url


def test_http_transport(http_url: str) -> None:
    import httpx

    def post(body: bytes | str, path: str = "/rpc") -> httpx.Response:
        return httpx.post(
            http_url + path, content=body, headers={"content-type": "application/json"}
        )

    ok = post('{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}')
    assert ok.status_code == 200 and ok.json() == {"jsonrpc": "2.0", "id": 1, "result": "0x539"}
    assert (
        post('{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}', "/rpc/").json()["result"] == "0x539"
    )
    for garbage in ("{", "", '{"jsonrpc":"2.0","id":NaN,"method":"x"}', b"\xff\xfe", "[" * 100_000):
        parse_error = post(garbage)
        assert parse_error.status_code == 200
        assert parse_error.json()["error"]["code"] == -32700 and parse_error.json()["id"] is None
    notification = post('{"jsonrpc":"2.0","method":"eth_chainId"}')
    assert notification.status_code == 200 and notification.content == b""
    too_big = post(
        '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":["' + "a" * 2**20 + '"]}'
    )
    assert too_big.status_code == 413
    assert httpx.get(http_url + "/rpc").status_code == 405


def test_web3_client(http_url: str) -> None:
    w3 = Web3(HTTPProvider(http_url + "/rpc", request_kwargs={"timeout": 10}))
    assert w3.is_connected()
    assert w3.eth.chain_id == CHAIN_ID and w3.net.version == "1337"
    assert w3.eth.block_number == 0
    genesis = w3.eth.get_block(0, full_transactions=True)
    assert genesis["number"] == 0 and genesis["transactions"] == []

    # Deploy with a transaction web3 fills itself (nonce, gas, EIP-1559 fees from this endpoint).
    deploy = {
        "from": ACCOUNT.address,
        "data": INIT,
        "nonce": w3.eth.get_transaction_count(ACCOUNT.address),
        "chainId": w3.eth.chain_id,
        "gas": w3.eth.estimate_gas({"from": ACCOUNT.address, "data": INIT}),
        "maxPriorityFeePerGas": w3.eth.max_priority_fee,
        "maxFeePerGas": 2 * w3.eth.get_block("latest")["baseFeePerGas"] + w3.eth.max_priority_fee,
    }
    tx_hash = w3.eth.send_raw_transaction(ACCOUNT.sign_transaction(deploy).raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=10, poll_latency=0.05)
    assert receipt["status"] == 1 and receipt["contractAddress"] is not None
    contract = receipt["contractAddress"]
    assert w3.eth.get_code(contract) == RUNTIME

    legacy = {
        "to": contract, "data": _word(42), "nonce": 1, "chainId": CHAIN_ID,
        "gas": 100_000, "gasPrice": w3.eth.gas_price,
    }  # fmt: skip
    store_hash = w3.eth.send_raw_transaction(ACCOUNT.sign_transaction(legacy).raw_transaction)
    store = w3.eth.wait_for_transaction_receipt(store_hash, timeout=10, poll_latency=0.05)
    assert store["status"] == 1 and store["blockNumber"] == 2 and store["type"] == 0
    assert store["logs"][0]["topics"][0] == STORED and store["logs"][0]["removed"] is False

    tx = w3.eth.get_transaction(store_hash)
    assert tx["hash"] == store_hash and tx["from"] == ACCOUNT.address and tx["to"] == contract
    assert tx["input"] == _word(42) and tx["v"] in (CHAIN_ID * 2 + 35, CHAIN_ID * 2 + 36)
    assert w3.eth.get_transaction_receipt(store_hash) == store
    block = w3.eth.get_block("latest", full_transactions=True)
    full_tx: Any = block["transactions"][0]
    assert full_tx["hash"] == store_hash and block["size"] > 0
    assert w3.eth.get_block(block["hash"])["transactions"] == [store_hash]
    assert w3.eth.get_block_transaction_count(2) == 1

    logs = w3.eth.get_logs(
        {"fromBlock": 0, "toBlock": "latest", "address": contract, "topics": [HexBytes(STORED)]}
    )
    assert len(logs) == 1 and int.from_bytes(logs[0]["data"], "big") == 42
    assert w3.eth.get_logs({"blockHash": block["hash"]}) == logs
    assert w3.eth.get_logs({"fromBlock": 0, "topics": [None, "0x" + "00" * 32]}) == []

    assert w3.eth.call({"to": contract}) == _word(42)
    assert w3.eth.call({"to": contract}, 1) == _word(0)
    with pytest.raises(ContractLogicError, match="execution reverted: zero"):
        w3.eth.call({"to": contract, "data": _word(0)})
    assert w3.eth.estimate_gas({"from": ACCOUNT.address, "to": contract, "data": _word(9)}) > 21_000
    assert w3.eth.get_balance(OTHER.address) == FUNDS
    assert w3.eth.get_storage_at(contract, 0) == _word(42)
    assert w3.eth.get_transaction_count(ACCOUNT.address) == 2
    fee_history = w3.eth.fee_history(2, "latest", [10, 90])
    assert fee_history["oldestBlock"] == 1 and len(fee_history["reward"]) == 2
    assert w3.eth.syncing is False and w3.eth.gas_price == 0

    # Let web3 fill in nonce, gas and fees from this endpoint, sign, and send raw.
    w3.middleware_onion.inject(SignAndSendRawMiddlewareBuilder.build(OTHER), layer=0)
    auto_hash = w3.eth.send_transaction({"from": OTHER.address, "to": contract, "data": _word(43)})
    auto = w3.eth.wait_for_transaction_receipt(auto_hash, timeout=10, poll_latency=0.05)
    assert auto["status"] == 1 and auto["type"] == 2 and w3.eth.call({"to": contract}) == _word(43)

    read_only = Web3(HTTPProvider(http_url + "/read-only/rpc", request_kwargs={"timeout": 10}))
    assert read_only.eth.block_number == 3
    again = ACCOUNT.sign_transaction({**legacy, "nonce": 2}).raw_transaction
    with pytest.raises(Web3RPCError) as refused:
        read_only.eth.send_raw_transaction(again)
    assert (refused.value.rpc_response or {})["error"] == {
        "code": -32601,
        "message": READ_ONLY_MESSAGE,
    }
