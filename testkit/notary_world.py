"""A notary on a real chain, as the credential and evidence tests and the benchmarks need it.

:func:`open_notary_world` opens an embedded EVM with the hub's contracts deployed and the
notary DID's keys published; its ``resolver`` walks the chain the way a verifier
without the hub does (did:ethr through :class:`ChainWalkerSource`, plus did:key).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eth_account import Account
from eth_account.signers.local import LocalAccount

from chain_adapter.deploy import DID_REGISTRY, Deployment, deploy_all
from chain_adapter.embedded import EmbeddedChain
from chain_adapter.transactor import Transactor
from did_registry.did_key import DidKeyResolver
from did_registry.dispatch import DispatchingResolver
from did_registry.ethr.chain_walker import ChainWalkerSource
from did_registry.ethr.resolver import EthrResolver
from did_registry.notary_identity import (
    KEY_VALIDITY,
    LEGACY_SIGNING_ATTRIBUTE,
    NotaryIdentity,
    ensure_notary_identity,
)
from did_registry.registrar.operations import SetAttribute
from did_registry.registrar.service import Registrar
from hub_kernel.keystore import FileKeyStore

CHAIN_ID = 1337


@dataclass
class NotaryWorld:
    chain: EmbeddedChain
    node: LocalAccount
    transactor: Transactor
    deployment: Deployment
    registrar: Registrar
    keystore: FileKeyStore
    resolver: DispatchingResolver
    notary: NotaryIdentity


def open_notary_world(directory: Path, *, legacy_signing_key: bool = False) -> NotaryWorld:
    """``legacy_signing_key``: the notary as hubs before base58 left it, its Ed25519 key
    published only as ``did/pub/Ed25519/veriKey/base64`` and not yet migrated (no
    :func:`ensure_notary_identity`, which would rotate it)."""
    node: LocalAccount = Account.create()
    chain = EmbeddedChain.open(
        directory / "chain", chain_id=CHAIN_ID, prefund={node.address: 10**24}
    )
    transactor = Transactor(chain, node, receipt_timeout=30.0, poll_interval=0.01)
    deployment = deploy_all(transactor, organisation_name="Test Notary Office")
    registrar = Registrar(
        transactor, deployment.did_registry, from_block=deployment.blocks.get(DID_REGISTRY, 0)
    )
    walker = ChainWalkerSource(chain, deployment.did_registry.address)
    resolver = DispatchingResolver(
        {"ethr": EthrResolver({CHAIN_ID: walker}), "key": DidKeyResolver()}
    )
    keystore = FileKeyStore(directory / "keys", os.urandom(32))
    if legacy_signing_key:
        notary = NotaryIdentity(keystore, registrar, resolver=resolver)
        secret = Ed25519PrivateKey.generate()
        keystore.put("notary-ed25519-1", secret.private_bytes_raw(), kind="ed25519")
        public = secret.public_key().public_bytes_raw()
        operation = SetAttribute(LEGACY_SIGNING_ATTRIBUTE, public, KEY_VALIDITY)
        registrar.execute(registrar.address, operation)
    else:
        notary = ensure_notary_identity(keystore, registrar, resolver=resolver)
    return NotaryWorld(chain, node, transactor, deployment, registrar, keystore, resolver, notary)
