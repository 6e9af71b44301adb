"""``notary-hub chain deploy-anchor``: the hub's anchor registry on an extra chain (issue 16).

An extra chain (``NOTARY_HUB_ANCHORING_EXTRA_CHAINS``) is anchored on through the hub's
own ``AnchorRegistry``, deployed there beforehand by the hub's node key: a consortium
registry founded by the node (its only service node) and the anchor registry obeying it
(:func:`chain_adapter.extra_registry.deploy_anchor_registry`). The node must hold that
chain's ether first (``notary-hub chain info`` prints its address). Prints the JSON entry
to add to the setting; the hub checks the code at that address again at start.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from chain_adapter.extra_registry import deploy_anchor_registry
from chain_adapter.jsonrpc_chain import JsonRpcChain
from chain_adapter.transactor import Transactor
from notary_hub.cli_support import cli_errors, hub_settings, out
from notary_hub.hub import node_account, open_keystore


def chain_deploy_anchor(
    rpc: Annotated[str, typer.Option(help="JSON-RPC URL of a node of the extra chain.")],
    chain_id: Annotated[int, typer.Option(help="The chain id that node must serve.")],
) -> None:
    """Deploy the hub's anchor registry on an extra chain; print its settings entry."""
    settings = hub_settings()
    with cli_errors():
        node = node_account(open_keystore(settings))
        chain = JsonRpcChain.connect(
            rpc,
            expected_chain_id=chain_id,
            timeout=settings.chain.request_timeout,
            retries=settings.chain.retries,
        )
        try:
            transactor = Transactor(
                chain,
                node,
                receipt_timeout=settings.chain.receipt_timeout,
                poll_interval=settings.chain.poll_interval,
            )
            registry = deploy_anchor_registry(
                transactor, organisation_name=settings.chain.organisation_name
            )
        finally:
            chain.close()
    entry = {"rpc_url": rpc, "chain_id": chain_id, "registry_address": registry.address}
    out.print(json.dumps(entry), markup=False, highlight=False)
