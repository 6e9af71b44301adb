"""Credentials across the notary's base64 -> base58 key migration.

Hubs before base58 published the notary's Ed25519 key as ERC-1056
``did/pub/Ed25519/veriKey/base64`` (``publicKeyBase64``), which Digital Bazaar's
verifiers cannot read; on start :func:`did_registry.notary_identity.ensure_notary_identity`
rotates it to a key published as ``.../base58`` (``publicKeyBase58``) without revoking
the old one. What the old key signed must keep verifying: the verifier resolves the
issuer's DID as of the proof's ``created`` (VC Data Integrity §4.3, did:ethr
``versionTime``), https://www.w3.org/TR/vc-data-integrity/#verify-proof.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from credentials.data_integrity.proofs import SUITES
from credentials.issuer import CredentialIssuer, NotarySigner
from credentials.verifier import Verifier
from did_registry.notary_identity import NotaryIdentity, ensure_notary_identity
from tests.credentials.test_verifier import unsigned
from tests.fixtures.notary_world import NotaryWorld, open_notary_world


@pytest.fixture
def legacy_world(tmp_path: Path) -> Iterator[NotaryWorld]:
    world = open_notary_world(tmp_path / "world", legacy_signing_key=True)
    yield world
    world.chain.close()


def issuer_for(world: NotaryWorld, notary: NotaryIdentity) -> CredentialIssuer:
    chain = world.chain
    signer = NotarySigner(
        notary,
        suite=SUITES["eddsa-rdfc-2022"],
        chain_time=lambda: chain.get_block("latest").timestamp,
        controller_key=bytes(world.node.key),
    )
    return CredentialIssuer(signer)


def signing_method(world: NotaryWorld, credential: dict[str, Any]) -> dict[str, Any]:
    method_id = credential["proof"]["verificationMethod"]
    document = world.notary.document()
    (found,) = [m for m in document["verificationMethod"] if m["id"] == method_id]
    return dict(found)


def test_a_letter_signed_before_the_migration_still_verifies_after_it(
    legacy_world: NotaryWorld,
) -> None:
    world = legacy_world
    verifier = Verifier(world.resolver, chain=world.chain)
    before = issuer_for(world, world.notary).issue(unsigned(world), status_purposes=()).credential
    assert "publicKeyBase64" in signing_method(world, before)
    assert verifier.verify_credential(before).verified
    time.sleep(1.1)  # the rotation's block is after the old proof's second

    created: list[str] = []
    migrated = ensure_notary_identity(
        world.keystore, world.registrar, resolver=world.resolver, created=created
    )
    assert any("only as base64" in line for line in created)
    after = issuer_for(world, migrated).issue(unsigned(world), status_purposes=()).credential
    assert before["proof"]["verificationMethod"] != after["proof"]["verificationMethod"]
    assert "publicKeyBase58" in signing_method(world, after)

    for credential in (before, after):
        result = verifier.verify_credential(credential)
        assert result.verified, result.to_body()
