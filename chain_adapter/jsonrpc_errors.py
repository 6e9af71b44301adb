"""How JSON-RPC nodes say that something went wrong, and how to repeat it safely.

Pure helpers for the client :mod:`chain_adapter.jsonrpc_chain` (the hub's own
JSON-RPC server is ``rpc_server`` and friends): they read error objects
(JSON-RPC 2.0 §5.1 "Error object"; EIP-1474 "Remote procedure call
specification", error codes; execution-apis ``eth_call`` code 3 "execution
reverted"), classify transport failures, and keep the node URL's credentials
out of every message.

Clients disagree on codes, so the classification also reads messages; the
phrases below are those of Geth, Besu, Nethermind, Erigon and Hardhat.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

import requests
from web3.exceptions import BadResponseFormat, ContractLogicError, TimeExhausted, Web3RPCError

from chain_adapter.errors import CallReverted, ChainError, TransactionRejected
from chain_adapter.revert import decode_revert_reason

# Answers meaning "no such block" to a state read.
BLOCK_MISSING = ("invalid block tag", "header not found", "block not found", "unknown block")
# eth_sendRawTransaction answers meaning "I already hold exactly these bytes".
ALREADY_KNOWN = ("already known", "known transaction", "alreadyknown", "already imported")
NONCE_TOO_LOW = ("nonce too low", "nonce is too low", "oldnonce", "nonce_too_low")
NO_FUNDS = ("insufficient funds", "enough funds")
# EIP-1474 codes clients use for "transaction refused": -32000 (Geth's catch-all),
# -32602 (bad params, e.g. another chain id), -32003 (rejected), -32010 (Besu, OpenEthereum).
REJECTION_CODES = frozenset({-32000, -32602, -32003, -32010})
# execution-apis: code 3 carries revert data.
EXECUTION_REVERTED = 3
# Failures of the EVM itself, reported without revert data (Geth's -32000 catch-all).
EXECUTION_FAILED = (
    "out of gas",
    "gas required exceeds",
    "invalid opcode",
    "invalid jump",
    "stack underflow",
    "stack overflow",
    "write protection",
)

# Failures of the transport rather than of the request; is_transient() picks the retryable.
TRANSPORT_ERRORS = (
    requests.RequestException,
    json.JSONDecodeError,
    BadResponseFormat,
    TimeExhausted,
)
_HTTP_TRANSIENT = frozenset({408, 425, 429, 500, 502, 503, 504})

_HEX_DATA = re.compile(r"^0x(?:[0-9a-fA-F]{2})*$")
_ERRNO = re.compile(r"\[Errno -?\d+\][^'\")]*")


def mentions(message: str, phrases: tuple[str, ...]) -> bool:
    lowered = message.lower()
    return any(phrase in lowered for phrase in phrases)


@dataclass(frozen=True, slots=True)
class RedactedUrl:
    """A node URL reduced to what may be shown, plus the secrets to scrub from text.

    Credentials hide in userinfo (``user:pass@``), in the query (``?apikey=``) and,
    with hosted providers, in the path (``/v3/<key>``): only ``scheme://host:port``
    is shown, with ``/***`` when a path or query was dropped.
    """

    shown: str
    secrets: tuple[str, ...]

    @classmethod
    def of(cls, url: str) -> RedactedUrl:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
        has_path = parts.path not in ("", "/")
        hidden = has_path or bool(parts.query or parts.fragment)
        shown = f"{parts.scheme}://{host}{port}" + ("/***" if hidden else "")
        candidates = {url, parts.query, parts.fragment}
        if has_path:
            candidates.add(parts.path)
        if "@" in parts.netloc:
            candidates.add(parts.netloc.rsplit("@", 1)[0])
        for secret in (parts.username, parts.password):
            if secret:
                candidates.update({secret, unquote(secret)})
        # Longest first, so that a secret inside another one is not left half-replaced.
        ordered = sorted((c for c in candidates if c), key=len, reverse=True)
        return cls(shown=shown, secrets=tuple(ordered))

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text


def error_fields(exc: Web3RPCError | ContractLogicError) -> tuple[int | None, str, Any]:
    """``(code, message, data)`` of the JSON-RPC error object behind ``exc``."""
    if isinstance(exc, ContractLogicError):
        # web3 raises this for *any* eth_call/eth_estimateGas error with a structured
        # ``data`` (and prefixes "execution reverted"): the node's own words are in data.
        data = exc.data
        message = data.get("message") if isinstance(data, Mapping) else exc.message
        return None, str(message or ""), data
    error = (exc.rpc_response or {}).get("error")
    if isinstance(error, Mapping):
        code = error.get("code")
        message = str(error.get("message", ""))
        return (code if isinstance(code, int) else None), message, error.get("data")
    return None, str(exc.message), None


def call_failure(exc: Web3RPCError | ContractLogicError) -> ChainError | None:
    """What a failed ``eth_call``/``eth_estimateGas`` means; ``None``: the node's own trouble."""
    code, message, error_data = error_fields(exc)
    data = revert_data(error_data)
    if data is not None or code == EXECUTION_REVERTED or "revert" in message.lower():
        return call_reverted(data or b"")
    if mentions(message, EXECUTION_FAILED):  # out of gas, bad opcode: no revert data
        return CallReverted(f"execution failed: {message}")
    if mentions(message, NO_FUNDS):
        return TransactionRejected(f"the node refused the call: {message}")
    return None


SendVerdict = Literal["known", "nonce too low", "rejected", "node error"]


def send_verdict(exc: Web3RPCError, tx_hash: str) -> SendVerdict:
    """How to read an ``eth_sendRawTransaction`` error for the bytes hashing to ``tx_hash``.

    ``"known"``: the node holds these bytes (re-broadcast); ``"nonce too low"``: the
    nonce is used, by these bytes or others (ask the chain); ``"rejected"``: refused.
    """
    code, message, data = error_fields(exc)
    if mentions(message, ALREADY_KNOWN):
        return "known"
    # Hardhat (throwOnTransactionFailures) answers a mined-but-reverted transaction
    # with an error naming its hash: the receipt (status 0) tells the rest.
    if isinstance(data, Mapping) and str(data.get("txHash", "")).lower() == tx_hash.lower():
        return "known"
    if mentions(message, NONCE_TOO_LOW):
        return "nonce too low"
    if code is None or code in REJECTION_CODES:
        return "rejected"
    return "node error"


def revert_data(error_data: object) -> bytes | None:
    """Revert bytes in a JSON-RPC error's ``data`` member, ``None`` when there are none.

    Geth and Besu put the hex string there directly, Hardhat nests it as
    ``{"message": ..., "data": "0x.."}``, OpenEthereum prefixed it with ``"Reverted "``.
    """
    if isinstance(error_data, Mapping):
        return revert_data(error_data.get("data"))
    if isinstance(error_data, str):
        text = error_data.removeprefix("Reverted ").strip()
        if _HEX_DATA.match(text):
            return bytes.fromhex(text[2:])
    return None


def call_reverted(data: bytes) -> CallReverted:
    """The :class:`CallReverted` for revert ``data``, with its reason when it has one.

    ``reason`` is the ``Error(string)`` text or ``Panic(..)`` code; a custom error
    keeps ``reason=None`` and its selector and arguments in ``data``.
    """
    reason = decode_revert_reason(data)
    if reason is not None:
        message = f"execution reverted: {reason}"
    elif data:
        message = f"execution reverted with custom error 0x{data.hex()}"
    else:
        message = "execution reverted"
    return CallReverted(message, reason=reason, data=data)


def is_transient(exc: BaseException) -> bool:
    """Whether a transport failure is worth retrying."""
    if isinstance(exc, requests.HTTPError):
        return exc.response is None or exc.response.status_code in _HTTP_TRANSIENT
    return isinstance(
        exc, requests.ConnectionError | requests.Timeout | TimeExhausted | json.JSONDecodeError
    )


def describe_transport(exc: BaseException, timeout: float) -> str:
    """A short, URL-free description of a transport failure."""
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return f"HTTP {exc.response.status_code} {exc.response.reason}"
    if isinstance(exc, requests.ConnectTimeout):
        return f"connect timed out after {timeout:g}s"
    if isinstance(exc, requests.Timeout | TimeExhausted):
        return f"no answer within {timeout:g}s"
    if isinstance(exc, requests.ConnectionError):
        cause = _ERRNO.search(str(exc))
        return f"cannot connect ({cause.group(0).strip()})" if cause else "connection failed"
    if isinstance(exc, json.JSONDecodeError | BadResponseFormat):
        return "malformed JSON-RPC response"
    return type(exc).__name__
