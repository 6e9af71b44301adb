"""A status service of the notary in ``notary_world``, signing with its real DID key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from credentials.data_integrity.proofs import SigningKey, add_proof, verify_proof
from credentials.status.anchor import RegistryPublisher
from credentials.status.service import StatusService
from credentials.verification import VerificationResult
from tests.fixtures.notary_world import NotaryWorld

BASE_URL = "http://127.0.0.1:8000/credentials/status/"


def notary_signer(world: NotaryWorld) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """eddsa-rdfc-2022 with the notary's current assertion key."""

    def sign(document: dict[str, Any]) -> dict[str, Any]:
        fragment, private_key = world.notary.current_signing_key()
        key = SigningKey(f"{world.notary.did}#{fragment}", private_key)
        return add_proof(document, suite="eddsa-rdfc-2022", key=key)

    return sign


def list_verifier(world: NotaryWorld) -> Callable[[dict[str, Any]], VerificationResult]:
    """The generic Data Integrity verifier, resolving the DID as of the chain's head.

    (The embedded chain's block times run ahead of the wall clock when blocks come
    faster than one a second, so "as of the proof's created" would predate the key.)
    """

    def verify(document: dict[str, Any]) -> VerificationResult:
        head = world.chain.get_block("latest").timestamp
        return verify_proof(
            document, resolver=world.resolver, expected_purpose="assertionMethod", at=head
        )

    return verify


def make_service(
    sessions: sessionmaker[Session], world: NotaryWorld, **overrides: Any
) -> StatusService:
    registry = world.deployment.status_lists
    assert registry is not None
    options: dict[str, Any] = {
        "base_url": BASE_URL,
        "sign": notary_signer(world),
        "issuer_did": world.notary.did,
        "publisher": RegistryPublisher(world.transactor, registry),
        **overrides,
    }
    return StatusService(sessions, **options)
