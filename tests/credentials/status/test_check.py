"""check_status: a list is trusted only as the latest version its issuer anchored on chain."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from sqlalchemy.orm import Session, sessionmaker

from chain_adapter.deploy import deploy_status_lists
from chain_adapter.transactor import Transactor
from credentials.errors import StatusError
from credentials.status.anchor import StatusListAnchor, anchor_list_id, bits_digest
from credentials.status.bitstring import (
    Bitstring,
    StatusVerificationError,
    build_list_credential,
    compress_bits,
    decode_list,
    encode_list,
)
from credentials.status.check import StatusCheck, check_status
from credentials.status.service import StatusService
from credentials.verification import VerificationResult
from notary_hub import migrate
from notary_hub.db import create_db_engine, session_factory
from tests.credentials.status_helpers import list_verifier, make_service, notary_signer
from tests.fixtures.notary_world import NotaryWorld


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'hub.sqlite3'}")
    migrate.upgrade(engine)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def service(sessions: sessionmaker[Session], notary_world: NotaryWorld) -> StatusService:
    return make_service(sessions, notary_world)


def served(service: StatusService, entry: dict[str, str]) -> dict[str, Any]:
    return service.list_credential(entry["statusListCredential"].rsplit("/", 1)[1])


def check(world: NotaryWorld, entry: dict[str, str], doc: dict[str, Any], **kw: Any) -> StatusCheck:
    options: dict[str, Any] = {
        "chain": world.chain,
        "issuer_did": world.notary.did,
        "verify_list": list_verifier(world),
        **kw,
    }
    return check_status(entry, doc, **options)


def resign(world: NotaryWorld, doc: dict[str, Any]) -> dict[str, Any]:
    """The same list signed again by the issuer: a valid signature, whatever it says."""
    return notary_signer(world)({k: v for k, v in doc.items() if k != "proof"})


def test_current_list_from_the_hub_or_a_mirror(
    service: StatusService, notary_world: NotaryWorld
) -> None:
    revocation, suspension = service.allocate("urn:a", ("revocation", "suspension"))
    service.publish()
    result = check(notary_world, revocation, served(service, revocation))
    assert (result.valid, result.revoked, result.suspended, result.version) == (
        True,
        False,
        False,
        1,
    )
    assert result.index == int(revocation["statusListIndex"])
    assert result.to_json()["status"] == 0

    service.set_status("urn:a", "revocation", True)
    service.set_status("urn:a", "suspension", True)
    published = {p.url: p for p in service.publish()}
    # A mirror's copy (bytes through any cache or CDN) is as good as the hub's.
    mirror = json.loads(json.dumps(served(service, revocation)))
    result = check(notary_world, revocation, mirror)
    assert (result.valid, result.revoked, result.version) == (False, True, 2)
    tx_hash = published[revocation["statusListCredential"]].tx_hash
    assert tx_hash is not None
    receipt = notary_world.chain.get_receipt(tx_hash)
    assert receipt is not None
    assert result.anchored_at == notary_world.chain.get_block(receipt.block_number).timestamp
    suspended = check(notary_world, suspension, served(service, suspension))
    assert suspended.suspended and not suspended.revoked


def test_stale_list_is_refused(service: StatusService, notary_world: NotaryWorld) -> None:
    (entry,) = service.allocate("urn:s", ("suspension",))
    service.publish()
    before = copy.deepcopy(served(service, entry))
    service.set_status("urn:s", "suspension", True)
    service.publish()
    # The old version is genuinely signed by the issuer, but no longer the latest.
    with pytest.raises(StatusVerificationError, match=r"not its latest version \(version 2"):
        check(notary_world, entry, before)
    service.set_status("urn:s", "suspension", False)
    service.publish()
    # Same bits as version 1 again: anchoring is by content, so the old copy is current.
    assert check(notary_world, entry, before).valid


def test_tampered_list_is_refused(service: StatusService, notary_world: NotaryWorld) -> None:
    (entry,) = service.allocate("urn:t")
    service.set_status("urn:t", "revocation", True)
    service.publish()
    doc = served(service, entry)
    bits = decode_list(doc["credentialSubject"]["encodedList"])
    bits.set(int(entry["statusListIndex"]), False)  # "un-revoke" it
    tampered = copy.deepcopy(doc)
    tampered["credentialSubject"]["encodedList"] = encode_list(bits)
    with pytest.raises(StatusVerificationError, match="does not verify"):
        check(notary_world, entry, tampered)
    # Even signed by the issuer's key (say, a leaked key), unanchored bits are refused.
    with pytest.raises(StatusVerificationError, match="stale or altered"):
        check(notary_world, entry, resign(notary_world, tampered))


def test_unanchored_list_is_refused(service: StatusService, notary_world: NotaryWorld) -> None:
    (entry,) = service.allocate("urn:u")
    registry = notary_world.deployment.status_lists
    assert registry is not None
    anchor = StatusListAnchor.for_list(
        entry["statusListCredential"], chain_id=1337, registry=registry.address
    )
    never_published = notary_signer(notary_world)(
        build_list_credential(
            list_url=entry["statusListCredential"],
            issuer=notary_world.notary.did,
            purpose="revocation",
            bits=Bitstring(),
            valid_from="2026-01-01T00:00:00Z",
            anchor=anchor.to_json(),
        )
    )
    with pytest.raises(StatusVerificationError, match="never published"):
        check(notary_world, entry, never_published)
    without = {k: v for k, v in never_published.items() if k != "statusListAnchor"}
    with pytest.raises(StatusError, match="no statusListAnchor"):
        check(notary_world, entry, resign(notary_world, without))


def test_anchor_must_be_the_real_registry_on_this_chain(
    service: StatusService, notary_world: NotaryWorld
) -> None:
    (entry,) = service.allocate("urn:r")
    service.publish()
    doc = served(service, entry)

    def with_anchor(**change: Any) -> dict[str, Any]:
        altered = copy.deepcopy(doc)
        altered["statusListAnchor"].update(change)
        return resign(notary_world, altered)

    look_alike = notary_world.deployment.anchor_registry.address
    with pytest.raises(StatusVerificationError, match="is not a StatusListRegistry"):
        check(notary_world, entry, with_anchor(registry=look_alike))
    with pytest.raises(StatusVerificationError, match="not on this chain"):
        check(notary_world, entry, with_anchor(chainId=1))
    other_list = "0x" + anchor_list_id(entry["statusListCredential"] + "x").hex()
    with pytest.raises(StatusVerificationError, match="names another list"):
        check(notary_world, entry, with_anchor(listId=other_list))
    with pytest.raises(StatusError, match="listId must be"):
        check(notary_world, entry, with_anchor(listId="0x12"))

    # A genuine registry where someone else published these bits: the issuer never did.
    intruder = Account.create()
    notary_world.transactor.transact(intruder.address, value=10**18)
    other = Transactor(notary_world.chain, intruder, receipt_timeout=30.0, poll_interval=0.01)
    registry = deploy_status_lists(other)
    bits = decode_list(doc["credentialSubject"]["encodedList"])
    registry.transact(
        other,
        "publish",
        anchor_list_id(entry["statusListCredential"]),
        bits_digest(bits),
        compress_bits(bits),
    )
    with pytest.raises(StatusVerificationError, match="never published"):
        check(notary_world, entry, with_anchor(registry=registry.address))


def test_list_must_be_the_issuers_and_verify(
    service: StatusService, notary_world: NotaryWorld
) -> None:
    (entry,) = service.allocate("urn:i")
    service.publish()
    doc = served(service, entry)
    other_issuer = "did:ethr:0x539:0x" + "22" * 20
    with pytest.raises(StatusVerificationError, match="not by the credential's issuer"):
        check(notary_world, entry, doc, issuer_did=other_issuer)

    def refuse(document: dict[str, Any]) -> VerificationResult:
        result = VerificationResult()
        result.fail("proof", StatusError("signature mismatch"))
        return result

    with pytest.raises(StatusVerificationError, match="does not verify: signature mismatch"):
        check(notary_world, entry, doc, verify_list=refuse)
    with pytest.raises(StatusError, match="did:ethr issuer"):
        check(
            notary_world,
            entry,
            {**doc, "issuer": "did:key:z6Mk"},
            issuer_did="did:key:z6Mk",
            verify_list=lambda d: VerificationResult(checks=["proof"]),
        )


def test_entry_must_match_the_list(service: StatusService, notary_world: NotaryWorld) -> None:
    revocation, suspension = service.allocate("urn:e", ("revocation", "suspension"))
    service.publish()
    revocations = served(service, revocation)
    # The suspension entry against the revocation list: another URL.
    with pytest.raises(StatusVerificationError, match="not the entry's"):
        check(notary_world, suspension, revocations)
    # Same URL, wrong purpose.
    wrong_purpose = {**revocation, "statusPurpose": "suspension"}
    with pytest.raises(StatusVerificationError, match="statusPurpose 'suspension'"):
        check(notary_world, wrong_purpose, revocations)
    with pytest.raises(StatusError, match="statusListIndex"):
        check(notary_world, {**revocation, "statusListIndex": 5}, revocations)  # type: ignore[dict-item]
