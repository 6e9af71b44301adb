"""Errors raised by the chain layer.

Every error carries a stable machine-readable ``code`` and the HTTP status the
hub answers with (:class:`hub_kernel.errors.HubError`); the mapping to responses
lives in exactly one place (``notary_hub.errors``).
"""

from __future__ import annotations

from hub_kernel.errors import HubError


class ChainError(HubError):
    """Base class of every chain-layer error."""

    code = "chain_error"
    status_code = 503


class ChainUnavailable(ChainError):
    """The node cannot be reached or answered with a transport-level error."""

    code = "chain_unavailable"
    status_code = 503


class WrongChainId(ChainError):
    """The node serves another chain than the one configured."""

    code = "wrong_chain_id"
    status_code = 503


class ContractNotFound(ChainError):
    """No contract code at a configured address."""

    code = "contract_not_found"
    status_code = 503


class TransactionReverted(ChainError):
    """A transaction was mined but its execution reverted."""

    code = "transaction_reverted"
    status_code = 409

    def __init__(self, message: str, tx_hash: str | None = None, reason: str | None = None) -> None:
        super().__init__(message)
        self.tx_hash = tx_hash
        self.reason = reason


class CallReverted(ChainError):
    """An ``eth_call`` or gas estimation reverted."""

    code = "call_reverted"
    status_code = 409

    def __init__(self, message: str, reason: str | None = None, data: bytes = b"") -> None:
        super().__init__(message)
        self.reason = reason
        self.data = data


class TransactionRejected(ChainError):
    """The node refused a transaction before mining it (bad nonce, funds, signature)."""

    code = "transaction_rejected"
    status_code = 409


class BlockNotFound(ChainError):
    """A block number or hash that the chain does not have."""

    code = "block_not_found"
    status_code = 404


class ReceiptTimeout(ChainError):
    """A sent transaction was not mined (or not confirmed) in time."""

    code = "receipt_timeout"
    status_code = 503


class InvalidReceipt(ChainError):
    """An anchor receipt that is malformed or does not match the chain."""

    code = "invalid_receipt"
    status_code = 422
