"""Decoding of revert data: ``Error(string)`` and ``Panic(uint256)``.

Solidity ABI specification, "Errors" section:
https://docs.soliditylang.org/en/latest/abi-spec.html#errors
Custom errors are returned as raw data; only the two built-in ones are decoded.
"""

from __future__ import annotations

from eth_abi.abi import decode
from eth_abi.exceptions import DecodingError

ERROR_SELECTOR = bytes.fromhex("08c379a0")  # keccak("Error(string)")[:4]
PANIC_SELECTOR = bytes.fromhex("4e487b71")  # keccak("Panic(uint256)")[:4]


def decode_revert_reason(data: bytes) -> str | None:
    """The human-readable reason in ``data``, or ``None`` for custom errors and empty data."""
    try:
        if data[:4] == ERROR_SELECTOR:
            (reason,) = decode(["string"], data[4:])
            return str(reason)
        if data[:4] == PANIC_SELECTOR:
            (code,) = decode(["uint256"], data[4:])
            return f"panic 0x{code:02x}"
    except (DecodingError, OverflowError, ValueError):
        return None
    return None
