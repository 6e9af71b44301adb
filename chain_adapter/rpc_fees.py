"""Fee-market answers for the JSON-RPC server: ``eth_gasPrice`` and ``eth_feeHistory``.

Execution API specification, section "eth/fee_market"
(https://ethereum.github.io/execution-apis/api-documentation/). Base fees follow
EIP-1559 §"Specification" (https://eips.ethereum.org/EIPS/eip-1559) and blob base
fees EIP-4844 §"Gas accounting" (https://eips.ethereum.org/EIPS/eip-4844), both
computed by py-evm's own functions so that the answers match what the chain
will charge. Pure: everything is computed from headers and per-transaction tips.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from eth._utils.calculations import fake_exponential
from eth.vm.forks.cancun.constants import (
    BLOB_BASE_FEE_UPDATE_FRACTION,
    MAX_BLOB_GAS_PER_BLOCK,
    MIN_BLOB_BASE_FEE,
)
from eth.vm.forks.cancun.headers import calc_excess_blob_gas_cancun
from eth.vm.forks.london.headers import calculate_expected_base_fee_per_gas

from chain_adapter.rpc_dispatch import InvalidParams
from chain_adapter.rpc_encoding import parse_quantity, quantity

MAX_FEE_HISTORY_BLOCKS = 1_024  # as geth; longer requests get the newest 1024 blocks
MAX_REWARD_PERCENTILES = 100

TipsOf = Callable[[int, int], list[tuple[int, int]]]
"""``(block number, base fee) -> [(effective tip, gas used)]`` for the block's transactions."""


def next_base_fee(parent: Any) -> int:
    """The base fee of the block after ``parent`` (a py-evm header)."""
    fee: int = calculate_expected_base_fee_per_gas(parent)
    return fee


def parse_block_count(value: Any) -> int:
    """``blockCount``, capped at :data:`MAX_FEE_HISTORY_BLOCKS`."""
    # Geth takes the count as a JSON number as well as a quantity, and clients rely on it.
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise InvalidParams("invalid block count: must not be negative")
        count = value
    else:
        count = parse_quantity(value, "block count")
    return min(count, MAX_FEE_HISTORY_BLOCKS)


def parse_percentiles(value: Any) -> list[float] | None:
    """``rewardPercentiles``: increasing numbers in [0, 100]; ``None`` when omitted or empty."""
    if value is None or value == []:
        return None  # geth leaves "reward" out in both cases
    if not isinstance(value, list) or len(value) > MAX_REWARD_PERCENTILES:
        raise InvalidParams(
            f"invalid reward percentiles: expected an array of at most "
            f"{MAX_REWARD_PERCENTILES} numbers"
        )
    previous = 0.0
    for p in value:
        if isinstance(p, bool) or not isinstance(p, int | float) or not previous <= p <= 100:
            raise InvalidParams(
                "invalid reward percentiles: expected increasing numbers between 0 and 100"
            )
        previous = float(p)
    return [float(p) for p in value]


def fee_history(
    headers: Sequence[Any], percentiles: Sequence[float] | None, tips_of: TipsOf
) -> dict[str, Any]:
    """The ``eth_feeHistory`` result for consecutive ``headers`` (oldest first, at least one)."""
    base_fees = [getattr(h, "base_fee_per_gas", 0) for h in headers]
    # One more base fee than blocks: the next block's, derivable from the newest.
    base_fees.append(next_base_fee(headers[-1]))
    result: dict[str, Any] = {
        "oldestBlock": quantity(headers[0].block_number),
        "baseFeePerGas": [quantity(fee) for fee in base_fees],
        "gasUsedRatio": [h.gas_used / h.gas_limit for h in headers],
    }
    if hasattr(headers[-1], "excess_blob_gas"):
        excess = [h.excess_blob_gas for h in headers]
        excess.append(calc_excess_blob_gas_cancun(headers[-1]))
        result["baseFeePerBlobGas"] = [
            quantity(fake_exponential(MIN_BLOB_BASE_FEE, e, BLOB_BASE_FEE_UPDATE_FRACTION))
            for e in excess
        ]
        result["blobGasUsedRatio"] = [h.blob_gas_used / MAX_BLOB_GAS_PER_BLOCK for h in headers]
    if percentiles is not None:
        result["reward"] = [
            [quantity(r) for r in rewards_at(tips_of(h.block_number, fee), h.gas_used, percentiles)]
            for h, fee in zip(headers, base_fees, strict=False)
        ]
    return result


def rewards_at(
    tips: Sequence[tuple[int, int]], block_gas_used: int, percentiles: Sequence[float]
) -> list[int]:
    """Effective tips at ``percentiles`` of the block's gas, cheapest transactions first.

    The spec weights percentiles by gas used; this is geth's walk over the sorted
    transactions, and an empty block rewards zero at every percentile.
    """
    if not tips:
        return [0] * len(percentiles)
    ordered = sorted(tips)
    rewards = []
    index, gas_so_far = 0, ordered[0][1]
    for percentile in percentiles:
        threshold = block_gas_used * percentile / 100
        while gas_so_far < threshold and index < len(ordered) - 1:
            index += 1
            gas_so_far += ordered[index][1]
        rewards.append(ordered[index][0])
    return rewards
