"""The pure JSON-RPC error reading, on answers of clients the suite cannot run (Geth, Besu)."""

from __future__ import annotations

from typing import Any, cast

import pytest
from eth_abi.abi import encode as abi_encode
from web3.exceptions import ContractLogicError, Web3RPCError

from chain_adapter.errors import CallReverted, TransactionRejected
from chain_adapter.jsonrpc_errors import RedactedUrl, call_failure, revert_data, send_verdict

ERROR_DATA = bytes.fromhex("08c379a0") + abi_encode(["string"], ["nope"])
TX_HASH = "0x" + "ab" * 32


def _rpc_error(code: int, message: str, data: Any = None) -> Web3RPCError:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    response: Any = {"jsonrpc": "2.0", "id": 1, "error": error}
    return Web3RPCError(repr(error), rpc_response=response)


@pytest.mark.parametrize(
    "url",
    [
        "https://alice:s3cr3t-pw@rpc.example.org:8545/v3/KEY123?token=tok456",
        "https://alice:s3cr3t%2Dpw@rpc.example.org:8545/v3/KEY123?token=tok456#frag",
    ],
)
def test_redacted_url_hides_userinfo_path_and_query(url: str) -> None:
    redacted = RedactedUrl.of(url)
    assert redacted.shown == "https://rpc.example.org:8545/***"
    text = redacted.scrub(f"500 Server Error for url: {url} (path /v3/KEY123?token=tok456)")
    for secret in ("alice", "s3cr3t", "KEY123", "tok456"):
        assert secret not in text
    assert RedactedUrl.of("http://127.0.0.1:8545").shown == "http://127.0.0.1:8545"


@pytest.mark.parametrize(
    "data",
    [
        "0x" + ERROR_DATA.hex(),  # Geth, Besu
        {"message": "reverted", "data": "0x" + ERROR_DATA.hex()},  # Hardhat
        "Reverted 0x" + ERROR_DATA.hex(),  # OpenEthereum
    ],
)
def test_revert_data_shapes(data: object) -> None:
    assert revert_data(data) == ERROR_DATA


def test_revert_data_absent() -> None:
    assert revert_data(None) is None
    assert revert_data("no data") is None
    assert revert_data({"message": "x", "data": None}) is None


def test_geth_revert_with_reason() -> None:
    failure = call_failure(_rpc_error(3, "execution reverted: nope", "0x" + ERROR_DATA.hex()))
    assert isinstance(failure, CallReverted)
    assert (failure.reason, failure.data) == ("nope", ERROR_DATA)


def test_revert_without_data_and_out_of_gas() -> None:
    bare = call_failure(ContractLogicError("execution reverted", data=None))
    assert isinstance(bare, CallReverted) and bare.data == b"" and bare.reason is None
    oog = call_failure(_rpc_error(-32000, "gas required exceeds allowance (30000000)"))
    assert isinstance(oog, CallReverted) and "gas required" in oog.message


def test_web3_mislabelled_non_reverts_are_read_from_the_node_words() -> None:
    # web3 raises ContractLogicError for any error with structured data.
    funds = ContractLogicError(
        "execution reverted: Sender doesn't have enough funds",
        data=cast(Any, {"message": "Sender doesn't have enough funds", "data": None}),
    )
    assert isinstance(call_failure(funds), TransactionRejected)
    tag = ContractLogicError(
        "execution reverted: Received invalid block tag 99",
        data=cast(Any, {"message": "Received invalid block tag 99", "data": None}),
    )
    assert call_failure(tag) is None


@pytest.mark.parametrize(
    ("code", "message", "data", "verdict"),
    [
        (-32000, "already known", None, "known"),  # Geth
        (-32000, "Known transaction", None, "known"),  # Besu
        (-32603, "reverted", {"txHash": TX_HASH.upper().replace("0X", "0x")}, "known"),  # Hardhat
        (-32000, "nonce too low: next nonce 5, tx nonce 4", None, "nonce too low"),
        (-32000, "insufficient funds for gas * price + value", None, "rejected"),
        (-32602, "invalid chainId", None, "rejected"),
        (-32603, "internal error", None, "node error"),
    ],
)
def test_send_verdicts(code: int, message: str, data: Any, verdict: str) -> None:
    assert send_verdict(_rpc_error(code, message, data), TX_HASH) == verdict
