"""CredentialIssuer.issue_many with real status lists on the embedded chain.

Letters are issued by the notary of ``notary_world`` with a StatusService on SQLite
and PostgreSQL, and checked by a :class:`Verifier` that reads status from the chain.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from credentials.data_integrity.proofs import SUITES
from credentials.errors import IssuanceError, MalformedCredential
from credentials.issuer import CredentialIssuer, NotarySigner
from credentials.status.models import StatusEntryRow
from credentials.status.service import StatusService
from credentials.verifier import Verifier
from notary_hub.db import session_factory
from tests.credentials.status_helpers import make_service
from tests.credentials.test_verifier import unsigned
from tests.fixtures.notary_world import NotaryWorld


@pytest.fixture
def status(engine: Engine, notary_world: NotaryWorld) -> StatusService:
    return make_service(session_factory(engine), notary_world)


@pytest.fixture
def signer(notary_world: NotaryWorld) -> NotarySigner:
    chain = notary_world.chain
    return NotarySigner(
        notary_world.notary,
        suite=SUITES["eddsa-rdfc-2022"],
        chain_time=lambda: chain.get_block("latest").timestamp,
        controller_key=bytes(notary_world.node.key),
    )


@pytest.fixture
def issuer(signer: NotarySigner, status: StatusService) -> CredentialIssuer:
    return CredentialIssuer(signer, status=status)


@pytest.fixture
def verifier(notary_world: NotaryWorld) -> Verifier:
    return Verifier(notary_world.resolver, chain=notary_world.chain)


def positions(issued: list[Any]) -> list[tuple[str, str]]:
    return [
        (
            i.credential["credentialStatus"]["statusListCredential"],
            i.credential["credentialStatus"]["statusListIndex"],
        )
        for i in issued
    ]


def test_a_batch_verifies_with_distinct_ids_and_entries(
    issuer: CredentialIssuer, verifier: Verifier, notary_world: NotaryWorld
) -> None:
    height = notary_world.chain.block_number()
    issued = issuer.issue_many([unsigned(notary_world) for _ in range(6)])
    assert notary_world.chain.block_number() == height + 1  # one publish for the batch
    assert len({i.id for i in issued}) == 6
    assert all(i.credential["id"] == i.id for i in issued)
    assert len(set(positions(issued))) == 6
    for one in issued:
        result = verifier.verify_credential(one.credential)
        assert result.verified, result.errors
        assert [p.check for p in result.errors] == []
        assert "status" in result.details


def test_a_retried_batch_reuses_its_entries(
    issuer: CredentialIssuer, status: StatusService, engine: Engine, notary_world: NotaryWorld
) -> None:
    letters = [unsigned(notary_world, id=f"urn:uuid:letter-{n}") for n in range(4)]
    first = issuer.issue_many(letters)
    height = notary_world.chain.block_number()
    again = issuer.issue_many(list(reversed(letters)))
    assert [i.id for i in again] == [i.id for i in reversed(first)]
    assert positions(again) == list(reversed(positions(first)))
    assert notary_world.chain.block_number() == height  # nothing new to publish
    with session_factory(engine)() as session:
        assert session.scalar(select(func.count()).select_from(StatusEntryRow)) == 4
    # One letter issued alone is the same path: its entry comes back too.
    single = issuer.issue(letters[2])
    assert positions([single]) == [positions(first)[2]]
    assert status.status("urn:uuid:letter-2") == {"revocation": False}


def test_both_mechanisms_and_revocation(
    issuer: CredentialIssuer, status: StatusService, verifier: Verifier, notary_world: NotaryWorld
) -> None:
    jwts = issuer.issue_many(
        [unsigned(notary_world) for _ in range(2)], mechanism="vc+jwt", alg="ES256K"
    )
    assert all(verifier.verify_credential(j.credential).verified for j in jwts)
    assert issuer.issue_many([]) == []
    (revoked, kept) = issuer.issue_many([unsigned(notary_world) for _ in range(2)])
    status.set_status(revoked.id, "revocation", True)
    status.publish()
    assert not verifier.verify_credential(revoked.credential).verified
    assert verifier.verify_credential(kept.credential).verified


def test_a_bad_credential_fails_the_batch_before_signing(
    issuer: CredentialIssuer, signer: NotarySigner, notary_world: NotaryWorld
) -> None:
    good = unsigned(notary_world)
    with pytest.raises(IssuanceError, match="issues as"):
        issuer.issue_many([good, unsigned(notary_world, issuer="did:example:other")])
    with pytest.raises(MalformedCredential, match="assigned by the issuer"):
        issuer.issue_many([good, unsigned(notary_world, credentialStatus={"id": "urn:x"})])
    with pytest.raises(IssuanceError, match="securing mechanism"):
        issuer.issue_many([good], mechanism="jws")  # type: ignore[arg-type]
    without = CredentialIssuer(signer)  # no status lists
    with pytest.raises(IssuanceError, match="no status lists"):
        without.issue_many([good])
    assert without.issue_many([good], status_purposes=())[0].credential["proof"]
