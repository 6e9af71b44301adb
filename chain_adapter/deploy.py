"""Deploying the hub's contracts, and attaching to deployed ones with their code checked.

Order matters: the anchor registry asks the consortium registry who may anchor,
so the consortium (with the deploying node as founding member and service node)
comes first. The status list registry came later than the others: a hub deployed
before it exists gets it from :func:`deploy_status_lists`, so it is optional in
:func:`attach_all`; so is the draw registry (the notary's draw records, issue 14),
owned by the deploying node and added by :func:`deploy_draw_registry`.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_abi.abi import encode

from chain_adapter.artifacts import load_artifact
from chain_adapter.contract import BoundContract
from chain_adapter.errors import ContractNotFound
from chain_adapter.protocol import Chain
from chain_adapter.transactor import Transactor

DID_REGISTRY = "EthereumDIDRegistry"
ANCHOR_REGISTRY = "AnchorRegistry"
CONSORTIUM = "ConsortiumRegistry"
STATUS_LIST_REGISTRY = "StatusListRegistry"
DRAW_REGISTRY = "DrawRegistry"


@dataclass(frozen=True, slots=True)
class Deployment:
    """The contracts of one hub on one chain (``status_lists``, ``draw_registry``: None when
    not deployed yet)."""

    did_registry: BoundContract
    anchor_registry: BoundContract
    consortium: BoundContract
    blocks: dict[str, int]
    status_lists: BoundContract | None = None
    draw_registry: BoundContract | None = None

    def addresses(self) -> dict[str, str]:
        addresses = {
            DID_REGISTRY: self.did_registry.address,
            ANCHOR_REGISTRY: self.anchor_registry.address,
            CONSORTIUM: self.consortium.address,
        }
        if self.status_lists is not None:
            addresses[STATUS_LIST_REGISTRY] = self.status_lists.address
        if self.draw_registry is not None:
            addresses[DRAW_REGISTRY] = self.draw_registry.address
        return addresses


def role_bytes32(role: str) -> bytes:
    raw = role.encode()
    if len(raw) > 32:
        raise ValueError("a role label is at most 32 bytes")
    return raw.ljust(32, b"\x00")


def deploy_all(
    transactor: Transactor,
    *,
    organisation_name: str,
    role: str = "notary",
    threshold_bps: int = 5001,
) -> Deployment:
    """Deploy the consortium, anchor, DID, status list and draw registries; the sender founds
    the consortium and owns the draw registry."""
    node = transactor.address
    consortium_art = load_artifact(CONSORTIUM)
    receipt = transactor.deploy(
        consortium_art.bytecode,
        encode(
            ["address", "string", "bytes32", "address", "uint16"],
            [node, organisation_name, role_bytes32(role), node, threshold_bps],
        ),
    )
    assert receipt.contract_address is not None
    consortium_address = receipt.contract_address
    blocks = {CONSORTIUM: receipt.block_number}

    anchor_art = load_artifact(ANCHOR_REGISTRY)
    receipt = transactor.deploy(anchor_art.bytecode, encode(["address"], [consortium_address]))
    assert receipt.contract_address is not None
    anchor_address = receipt.contract_address
    blocks[ANCHOR_REGISTRY] = receipt.block_number

    did_art = load_artifact(DID_REGISTRY)
    receipt = transactor.deploy(did_art.bytecode)
    assert receipt.contract_address is not None
    did_address = receipt.contract_address
    blocks[DID_REGISTRY] = receipt.block_number

    status_address, blocks[STATUS_LIST_REGISTRY] = _deploy_status_list_registry(transactor)
    draw_address, blocks[DRAW_REGISTRY] = _deploy_draw_registry(transactor)

    return attach_all(
        transactor.chain,
        {
            DID_REGISTRY: did_address,
            ANCHOR_REGISTRY: anchor_address,
            CONSORTIUM: consortium_address,
            STATUS_LIST_REGISTRY: status_address,
            DRAW_REGISTRY: draw_address,
        },
        blocks=blocks,
    )


def deploy_status_lists(transactor: Transactor) -> BoundContract:
    """Deploy a status list registry alone, for a hub deployed before the contract existed."""
    address, _ = _deploy_status_list_registry(transactor)
    return attach_status_lists(transactor.chain, address)


def attach_status_lists(chain: Chain, address: str) -> BoundContract:
    """Bind to the status list registry at ``address``, refusing any other code there."""
    artifact = load_artifact(STATUS_LIST_REGISTRY)
    return BoundContract.attach(
        chain, artifact.abi, address, expected_code=artifact.deployed_bytecode
    )


def _deploy_status_list_registry(transactor: Transactor) -> tuple[str, int]:
    receipt = transactor.deploy(load_artifact(STATUS_LIST_REGISTRY).bytecode)
    assert receipt.contract_address is not None
    return receipt.contract_address, receipt.block_number


def deploy_draw_registry(transactor: Transactor) -> BoundContract:
    """Deploy a draw registry alone, owned by the sender (a hub deployed before it existed)."""
    address, _ = _deploy_draw_registry(transactor)
    return attach_draw_registry(transactor.chain, address)


def attach_draw_registry(chain: Chain, address: str) -> BoundContract:
    """Bind to the draw registry at ``address``, refusing any other code there (its owner is
    in storage, so the runtime code is the artifact's exactly)."""
    artifact = load_artifact(DRAW_REGISTRY)
    return BoundContract.attach(
        chain, artifact.abi, address, expected_code=artifact.deployed_bytecode
    )


def _deploy_draw_registry(transactor: Transactor) -> tuple[str, int]:
    receipt = transactor.deploy(
        load_artifact(DRAW_REGISTRY).bytecode, encode(["address"], [transactor.address])
    )
    assert receipt.contract_address is not None
    return receipt.contract_address, receipt.block_number


def attach_all(
    chain: Chain, addresses: dict[str, str], *, blocks: dict[str, int] | None = None
) -> Deployment:
    """Bind to deployed contracts, refusing an address whose code is not the expected contract.

    The anchor registry's runtime code embeds the consortium address (an
    immutable), so it is checked by asking it which consortium it obeys instead. The
    status list and draw registries are attached when ``addresses`` names them, else left
    None.
    """
    exact = {name: load_artifact(name).deployed_bytecode for name in (DID_REGISTRY, CONSORTIUM)}
    bound = {
        name: BoundContract.attach(
            chain, load_artifact(name).abi, addresses[name], expected_code=exact.get(name)
        )
        for name in (DID_REGISTRY, ANCHOR_REGISTRY, CONSORTIUM)
    }
    consortium = bound[ANCHOR_REGISTRY].call("consortium")
    if str(consortium).lower() != addresses[CONSORTIUM].lower():
        raise ContractNotFound(
            f"the anchor registry at {addresses[ANCHOR_REGISTRY]} answers to consortium "
            f"{consortium}, not {addresses[CONSORTIUM]}"
        )
    status_address = addresses.get(STATUS_LIST_REGISTRY)
    draw_address = addresses.get(DRAW_REGISTRY)
    return Deployment(
        did_registry=bound[DID_REGISTRY],
        anchor_registry=bound[ANCHOR_REGISTRY],
        consortium=bound[CONSORTIUM],
        blocks=blocks or {},
        status_lists=attach_status_lists(chain, status_address) if status_address else None,
        draw_registry=attach_draw_registry(chain, draw_address) if draw_address else None,
    )
