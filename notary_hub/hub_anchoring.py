"""Start-up wiring of the chain adapter's anchoring: the batcher and the extra chains.

Maps ``NOTARY_HUB_ANCHORING_*`` to :func:`chain_adapter.parts.open_chain_adapter`: the
primary batcher, and for each extra chain (issue 16) an anchorer reached over JSON-RPC
with the primary chain's timeouts and retries, signing with the hub's node key.
"""

from __future__ import annotations

import logging

from eth_account.signers.local import LocalAccount
from sqlalchemy.orm import Session, sessionmaker

from chain_adapter.anchoring.extra_chains import ExtraChain
from chain_adapter.deploy import Deployment
from chain_adapter.errors import ChainError, ChainUnavailable
from chain_adapter.parts import ChainParts, connect_extra_chain, open_chain_adapter
from chain_adapter.transactor import Transactor
from notary_hub.hub_deployment import StartupError
from notary_hub.settings import Settings

log = logging.getLogger(__name__)


def extra_chains(settings: Settings) -> list[ExtraChain]:
    return [
        ExtraChain(
            url=chain.rpc_url.get_secret_value(),
            chain_id=chain.chain_id,
            registry=chain.registry_address,
            confirmations=chain.confirmations,
        )
        for chain in settings.anchoring.extra_chains
    ]


def check_extra_chains(parts: ChainParts) -> None:
    """Each extra chain's registry checked now if its node answers; one that is down is
    checked on its first pass instead (it only delays its own receipts), but a node of
    another chain, or another contract at the address, stops the start."""
    for anchorer in parts.extra_anchorers:
        try:
            anchorer.link()
        except ChainUnavailable as exc:
            log.warning(
                "extra chain unavailable at start; its anchorings wait",
                extra={"chain": anchorer.target.chain_id, "error": exc.message},
            )
        except ChainError as exc:
            raise StartupError(
                f"extra chain {anchorer.target.chain_id}: {exc.code}: {exc.message}"
            ) from None


def open_anchoring(
    settings: Settings,
    sessions: sessionmaker[Session],
    transactor: Transactor,
    deployment: Deployment,
    node: LocalAccount,
) -> ChainParts:
    cfg = settings.anchoring
    parts = open_chain_adapter(
        sessions=sessions,
        chain=transactor.chain,
        transactor=transactor,
        deployment=deployment,
        batch_max_items=cfg.batch_max_items,
        batch_interval=cfg.batch_interval_seconds,
        extra_chains=extra_chains(settings),
        node=node,
        connect=connect_extra_chain(settings.chain.request_timeout, settings.chain.retries),
        extra_interval=cfg.extra_chains_interval_seconds,
    )
    check_extra_chains(parts)
    return parts
