"""The hub's contracts on its chain: configured, recorded, or deployed on first start.

Configured addresses win (an operator points the hub at a consortium's contracts);
otherwise the database remembers what the hub deployed; on the embedded chain the
hub deploys them itself. A status list or draw registry missing from an older deployment
is deployed and recorded, once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from sqlalchemy.orm import Session, sessionmaker

from chain_adapter.deploy import (
    DRAW_REGISTRY,
    STATUS_LIST_REGISTRY,
    Deployment,
    attach_all,
    deploy_all,
    deploy_draw_registry,
    deploy_status_lists,
)
from chain_adapter.deployment_store import DeployedContract, DeploymentStore
from chain_adapter.protocol import Chain
from chain_adapter.transactor import Transactor
from hub_kernel.errors import HubError
from notary_hub.settings import Settings


class StartupError(HubError):
    """The hub cannot start with this configuration; the message says what to do."""

    code = "startup_error"
    status_code = 503


def configured_addresses(settings: Settings) -> dict[str, str] | None:
    cfg = settings.chain
    values = {
        "EthereumDIDRegistry": cfg.did_registry_address,
        "AnchorRegistry": cfg.anchor_registry_address,
        "ConsortiumRegistry": cfg.consortium_address,
    }
    if not any(values.values()):
        return None
    missing = [name for name, address in values.items() if not address]
    if missing:
        raise StartupError(f"contract addresses are configured only in part; missing {missing}")
    # Optional: hubs deployed before status lists existed get it deployed at start.
    if cfg.status_list_registry_address:
        values[STATUS_LIST_REGISTRY] = cfg.status_list_registry_address
    if cfg.draw_registry_address:
        values[DRAW_REGISTRY] = cfg.draw_registry_address
    return {name: address for name, address in values.items() if address}


def record_deployment(sessions: sessionmaker[Session], chain_id: int, dep: Deployment) -> None:
    DeploymentStore(sessions, chain_id).record_all(
        DeployedContract(name, address, dep.blocks.get(name))
        for name, address in dep.addresses().items()
    )


def existing_deployment(
    settings: Settings, sessions: sessionmaker[Session] | None, chain: Chain
) -> Deployment | None:
    """The hub's contracts on ``chain``: configured, else recorded in the database; never deploys.

    ``sessions`` is None when there is no migrated database to consult. Raises
    :class:`ContractNotFound` when an address holds no (or the wrong) code.
    """
    configured = configured_addresses(settings)
    rows: Sequence[DeployedContract] = ()
    if sessions is not None:
        rows = DeploymentStore(sessions, chain.chain_id).all()
    if configured is not None:
        # A status list or draw registry the hub deployed itself is recorded, not configured.
        recorded = {row.name: row.address for row in rows}
        for name in (STATUS_LIST_REGISTRY, DRAW_REGISTRY):
            if name not in configured and name in recorded:
                configured[name] = recorded[name]
        return attach_all(chain, configured)
    if not rows:
        return None
    return attach_all(
        chain,
        {row.name: row.address for row in rows},
        blocks={row.name: row.block_number for row in rows if row.block_number is not None},
    )


def _add_missing(existing: Deployment, transactor: Transactor, created: list[str]) -> Deployment:
    """A hub deployed before the status list or draw registry existed gets it now."""
    if existing.status_lists is None:
        registry = deploy_status_lists(transactor)
        existing = replace(existing, status_lists=registry)
        created.append(f"{STATUS_LIST_REGISTRY} at {registry.address}")
    if existing.draw_registry is None:
        registry = deploy_draw_registry(transactor)
        existing = replace(existing, draw_registry=registry)
        created.append(f"{DRAW_REGISTRY} at {registry.address}")
    return existing


def find_deployment(
    settings: Settings,
    sessions: sessionmaker[Session],
    transactor: Transactor,
    created: list[str],
) -> Deployment:
    chain = transactor.chain
    existing = existing_deployment(settings, sessions, chain)
    if existing is not None:
        completed = _add_missing(existing, transactor, created)
        if completed is not existing or configured_addresses(settings) is not None:
            record_deployment(sessions, chain.chain_id, completed)
        return completed
    if not settings.chain.embedded:
        raise StartupError(
            "no contracts are configured for this chain: run `notary-hub chain deploy`, or set "
            "NOTARY_HUB_CHAIN_DID_REGISTRY_ADDRESS, _ANCHOR_REGISTRY_ADDRESS and "
            "_CONSORTIUM_ADDRESS"
        )
    deployment = deploy_all(
        transactor,
        organisation_name=settings.chain.organisation_name,
        threshold_bps=settings.chain.consortium_threshold_bps,
    )
    record_deployment(sessions, chain.chain_id, deployment)
    for name, address in deployment.addresses().items():
        created.append(f"{name} at {address}")
    created.append(f"consortium founding member and service node {transactor.address}")
    return deployment
