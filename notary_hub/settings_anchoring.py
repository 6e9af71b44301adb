"""Batch anchoring's settings: ``NOTARY_HUB_ANCHORING_*``, and the extra chains (issue 16).

``NOTARY_HUB_ANCHORING_EXTRA_CHAINS`` is a JSON list of further EVM chains every batch
root is anchored on after the primary chain, each ``{"rpc_url", "chain_id",
"registry_address"}`` (and optionally ``confirmations``), the registry being the hub's
own ``AnchorRegistry`` deployed there beforehand (``notary-hub chain deploy-anchor``).
``NOTARY_HUB_ANCHORING_EXTRA_CHAINS_POLICY``: ``issue`` (letters carry the receipts that
exist; ``?refresh=1`` re-issues them later) or ``wait`` (certification waits for all).
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator


class ExtraChainSettings(BaseModel):
    """One further chain: a judicial chain or a public one."""

    rpc_url: SecretStr = Field(description="Ethereum JSON-RPC URL of a node of that chain.")
    chain_id: int = Field(ge=1, le=2**53 - 1, description="The chain id its node must serve.")
    registry_address: str = Field(description="The hub's AnchorRegistry on that chain.")
    confirmations: int = Field(default=0, ge=0, le=1000)

    @field_validator("registry_address")
    @classmethod
    def _checksum(cls, value: str) -> str:
        from eth_utils.address import is_address, to_checksum_address

        if not is_address(value):
            raise ValueError(f"not an Ethereum address: {value!r}")
        return str(to_checksum_address(value))


class AnchoringSettings(BaseModel):
    batch_interval_seconds: float = Field(default=2.0, gt=0, le=86_400)
    batch_max_items: int = Field(default=100_000, ge=1, le=10_000_000)
    extra_chains: list[ExtraChainSettings] = Field(
        default_factory=list,
        description="Further chains each batch root is anchored on (JSON list).",
    )
    extra_chains_policy: Literal["issue", "wait"] = Field(
        default="issue",
        description="issue: letters carry the receipts there are; wait: for every chain's.",
    )
    extra_chains_interval_seconds: float = Field(default=2.0, gt=0, le=86_400)

    @model_validator(mode="after")
    def _distinct(self) -> Self:
        ids = [chain.chain_id for chain in self.extra_chains]
        if len(set(ids)) != len(ids):
            raise ValueError("each extra chain needs a chain id of its own")
        return self


def anchoring_problems(anchoring: AnchoringSettings, primary_chain_id: int) -> list[str]:
    """What any mode refuses (the primary chain twice), then what production refuses."""
    problems = []
    for chain in anchoring.extra_chains:
        if chain.chain_id == primary_chain_id:
            problems.append(f"extra chain {chain.chain_id} is the primary chain")
    return problems


def insecure_anchoring(anchoring: AnchoringSettings) -> list[str]:
    """Production: an extra chain's node over plain http only on loopback."""
    problems = []
    for chain in anchoring.extra_chains:
        url = chain.rpc_url.get_secret_value()
        if url.startswith("http://") and not url.startswith(
            ("http://127.0.0.1", "http://localhost", "http://[::1]")
        ):
            problems.append(
                f"extra chain {chain.chain_id}'s RPC URL must use https unless it is on loopback"
            )
    return problems
