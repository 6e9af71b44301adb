"""The draw registry in the hub's deployment: a hub deployed before it existed gets it
deployed and recorded at start, once (like the status list registry)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from chain_adapter.deploy import DRAW_REGISTRY, deploy_all
from chain_adapter.deployment_store import DeploymentStore
from chain_adapter.embedded import EmbeddedChain
from chain_adapter.transactor import Transactor
from notary_hub import migrate
from notary_hub.db import create_db_engine, session_factory
from notary_hub.hub_deployment import find_deployment, record_deployment
from notary_hub.settings import DatabaseSettings, Settings


def test_an_older_deployment_gets_the_draw_registry_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    engine = create_db_engine(url)
    migrate.upgrade(engine)
    sessions = session_factory(engine)
    node: LocalAccount = Account.create()
    chain = EmbeddedChain.open(tmp_path / "chain", chain_id=1337, prefund={node.address: 10**24})
    try:
        transactor = Transactor(chain, node, receipt_timeout=30.0, poll_interval=0.01)
        older = replace(deploy_all(transactor, organisation_name="Test"), draw_registry=None)
        record_deployment(sessions, chain.chain_id, older)
        settings = Settings(data_dir=tmp_path / "data", database=DatabaseSettings(url=url))

        created: list[str] = []
        found = find_deployment(settings, sessions, transactor, created)
        assert found.draw_registry is not None
        assert created == [f"{DRAW_REGISTRY} at {found.draw_registry.address}"]
        recorded = DeploymentStore(sessions, chain.chain_id).find(DRAW_REGISTRY)
        assert recorded is not None and recorded.address == found.draw_registry.address
        assert found.draw_registry.call("owner") == node.address

        again: list[str] = []
        assert find_deployment(settings, sessions, transactor, again).addresses() == (
            found.addresses()
        )
        assert again == []
    finally:
        chain.close()
        engine.dispose()
