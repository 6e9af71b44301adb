"""The hub's ``AnchorRegistry`` on an extra chain (issue 16): deployed there, then checked.

On an extra chain the hub needs only its anchor registry and the consortium registry the
anchor registry asks who may anchor (the hub's node its founding member and service
node), deployed by :func:`deploy_anchor_registry` (``notary-hub chain deploy-anchor``).
:func:`attach_extra_registry` checks, before the first anchoring, that the configured
address holds exactly that code: the anchor registry's runtime code is the artifact's
with its one immutable (the consortium's address) filled in, the consortium's is the
artifact's as is, and the hub's node is a service node there.
"""

from __future__ import annotations

from eth_abi.abi import encode

from chain_adapter.artifacts import load_artifact
from chain_adapter.contract import BoundContract
from chain_adapter.deploy import ANCHOR_REGISTRY, CONSORTIUM, role_bytes32
from chain_adapter.errors import CallReverted, ContractNotFound
from chain_adapter.protocol import Chain
from chain_adapter.transactor import Transactor


def deploy_anchor_registry(
    transactor: Transactor, *, organisation_name: str, role: str = "notary"
) -> BoundContract:
    """A consortium founded by the sender (its only service node) and an anchor registry."""
    node = transactor.address
    receipt = transactor.deploy(
        load_artifact(CONSORTIUM).bytecode,
        encode(
            ["address", "string", "bytes32", "address", "uint16"],
            [node, organisation_name, role_bytes32(role), node, 10_000],
        ),
    )
    assert receipt.contract_address is not None
    consortium = receipt.contract_address
    receipt = transactor.deploy(
        load_artifact(ANCHOR_REGISTRY).bytecode, encode(["address"], [consortium])
    )
    assert receipt.contract_address is not None
    return attach_extra_registry(transactor.chain, receipt.contract_address, node)


def attach_extra_registry(chain: Chain, address: str, node: str) -> BoundContract:
    """The anchor registry at ``address``, refused unless it is the hub's contract and
    ``node`` may anchor there (:class:`ContractNotFound` says why)."""
    artifact = load_artifact(ANCHOR_REGISTRY)
    registry = BoundContract.attach(chain, artifact.abi, address)
    try:
        consortium = str(registry.call("consortium"))
    except CallReverted:  # no such function: some other contract
        raise ContractNotFound(
            f"the code at {address} on chain {chain.chain_id} is not the hub's AnchorRegistry"
        ) from None
    immutable = bytes(12) + bytes.fromhex(consortium[2:])
    code = chain.get_code(address)
    if code.replace(immutable, bytes(32)) != artifact.deployed_bytecode:
        raise ContractNotFound(
            f"the code at {address} on chain {chain.chain_id} is not the hub's AnchorRegistry"
        )
    members = BoundContract.attach(
        chain,
        load_artifact(CONSORTIUM).abi,
        consortium,
        expected_code=load_artifact(CONSORTIUM).deployed_bytecode,
    )
    if not members.call("isServiceNode", node):
        raise ContractNotFound(
            f"the node {node} is no service node of the anchor registry at {address} "
            f"on chain {chain.chain_id}"
        )
    return registry
