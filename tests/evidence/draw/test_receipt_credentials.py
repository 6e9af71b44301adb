"""``POST /draws/{id}/receipt-credential``: an entrant's receipt becomes a credential to their DID.

A receipt from the organiser's stream is signed as a ``DrawEntryReceiptCredential`` that
verifies over the chain and that the holder's wallet stores; a replay gets the same entry's
credential again (same id and status entry). Every forgery, a non-DID entrant, a draw not
yet committed, an oversized body and a caller past its budget are refused with a reason,
and nothing is signed (no status entry allocated).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from chain_adapter.jsonrpc_chain import JsonRpcChain
from chain_adapter.rpc_limits import RateLimiter
from credentials.issuer_trust import PinnedIssuers
from credentials.status.models import StatusEntryRow
from credentials.verifier import Verifier
from evidence.digests import SHA256, digest_multibase
from evidence.draw.candidates import CandidateTree, encode_entry, entrant_leaf
from evidence.draw.letter_verification import DrawLetterVerifier
from evidence.draw.receipt import build_receipts
from notary_hub.cli import app
from notary_hub.cli_wallet_support import letter_check
from testkit.serving import serve_app
from testkit.wallets import new_test_wallet
from tests.evidence.deposit_support import new_did_key
from tests.evidence.draw.service_support import DrawWorld, create, csv_list, make_app, upload, world
from tests.evidence.draw.test_letter_verification import first_failure, resigned
from tests.evidence.draw.test_letter_verification import forged as forged_issuer
from tests.fixtures.hub_process import run_cli
from tests.fixtures.notary_world import NotaryWorld
from wallet.chain_view import ChainView
from wallet.errors import CredentialRejected
from wallet.receiving import Receiver

__all__ = ["world"]
pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

ROOT = Path(__file__).resolve().parents[3]
IDS = [new_did_key() if i % 2 else f"entrant-{i}" for i in range(200)]  # half known by a DID
ROUTE = "/draws/{}/receipt-credential"
WRONG_LEAF = "the leaf is not H(drawId, entrantId, salt)"
WRONG_PLACE = "the inclusion proof does not put this entry at this index under the root"
REASONS = {
    "a guessed salt": WRONG_LEAF,
    "another's leaf": WRONG_LEAF,
    "another index": WRONG_PLACE,
    "a heavier weight": WRONG_PLACE,
    "another category": WRONG_PLACE,
    "another draw's receipt": "the receipt is for draw",
    "the identity swapped": WRONG_LEAF,
    "a proof against its own root": "the receipt names another candidate list",
    "that proof under the committed root": WRONG_PLACE,
}


def committed_draw(world: DrawWorld, ids: list[str] = IDS) -> tuple[str, list[dict[str, Any]]]:
    """A committed draw of ``ids`` and its receipts, from the organiser's stream."""
    draw_id = create(world)["id"]
    assert upload(world, draw_id, csv_list([(i,) for i in ids])).status_code == 200
    committed = world.client.post(f"/draws/{draw_id}/commit", headers=world.headers())
    assert committed.status_code == 200, committed.text
    lines = world.client.get(f"/draws/{draw_id}/receipts", headers=world.headers())
    return draw_id, [json.loads(line) for line in lines.content.splitlines()]


def refused(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == code and body["message"], body
    message: str = body["message"]
    return message


def entries_allocated(sessions: sessionmaker[Session]) -> int:
    """Status entries handed out: one per credential the notary signed."""
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(StatusEntryRow)) or 0)


def test_a_receipt_becomes_a_credential_that_verifies_and_the_wallet_keeps(
    world: DrawWorld, notary_world: NotaryWorld, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    draw_id, receipts = committed_draw(world)
    receipt = receipts[7]
    answer = world.client.post(ROUTE.format(draw_id), json=receipt)  # public: no token
    assert answer.status_code == 201, answer.text
    assert answer.headers["content-type"] == "application/vc"
    credential = answer.json()
    assert credential["type"] == ["VerifiableCredential", "DrawEntryReceiptCredential"]
    assert credential["issuer"] == notary_world.notary.did
    subject = credential["credentialSubject"]
    assert subject["id"] == IDS[7] and subject["type"] == "DrawEntry"
    assert (subject["drawId"], subject["entryIndex"], subject["entryLeaf"]) == (
        draw_id,
        7,
        receipt["leaf"],
    )
    assert (subject["entryWeight"], subject["entryCategory"], subject["entrantCount"]) == (
        1,
        0,
        200,
    )
    (anchor,) = credential["evidence"]
    on_chain = anchor["anchorReceipt"]
    assert on_chain["candidateRoot"] == receipt["candidateRoot"] and on_chain["count"] == 200
    assert receipt["salt"] not in json.dumps(credential)  # the entrant's secret stays theirs

    verifier = Verifier(notary_world.resolver, chain=notary_world.chain)
    assert verifier.verify_credential(credential).verified  # status read on chain too
    view = ChainView(cast(JsonRpcChain, notary_world.chain))  # the wallet's view, in process
    wallet, _ = new_test_wallet(tmp_path / "wallet")
    with wallet:
        receiver = Receiver(view)
        tampered = {**credential, "credentialSubject": {**subject, "entryIndex": 9}}
        with pytest.raises(CredentialRejected, match="proof"):
            receiver.receive(wallet, tampered)
        # The CLI's import adds the court's draw check (the registry on chain).
        stored = receiver.receive(wallet, credential, source="draw", extra_check=letter_check(view))
        assert stored.status == "valid" and stored.id == credential["id"]
        assert [c.id for c in wallet.credentials.list()] == [credential["id"]]

    # A replay: the same entry's credential again, its status entry reused, nothing new.
    allocated = entries_allocated(sessions)
    again = world.client.post(ROUTE.format(draw_id), json=receipt).json()
    assert again["id"] == credential["id"] and again["credentialSubject"] == subject
    assert again["credentialStatus"] == credential["credentialStatus"]
    assert entries_allocated(sessions) == allocated


def test_forged_receipts_are_refused_and_nothing_is_signed(
    world: DrawWorld, sessions: sessionmaker[Session]
) -> None:
    created = create(world)["id"]
    refused(world.client.post(ROUTE.format(created), json={}), 409, "draw_state_conflict")
    draw_id, receipts = committed_draw(world)
    _, other_receipts = committed_draw(world)
    mine, theirs = receipts[1], receipts[3]  # both entrants known by a DID
    before = entries_allocated(sessions)
    forgeries = {
        "a guessed salt": {**mine, "salt": "00" * 16},
        "another's leaf": {**mine, "leaf": theirs["leaf"]},
        "another index": {**mine, "index": 3},
        "a heavier weight": {**mine, "weight": 2},
        "another category": {**mine, "category": 1},
        "another draw's receipt": other_receipts[1],
        "the identity swapped": {**theirs, "entrantId": mine["entrantId"]},
        **forged_list(draw_id, mine),
    }
    for name, forged in forgeries.items():
        message = refused(
            world.client.post(ROUTE.format(draw_id), json=forged), 422, "invalid_receipt"
        )
        assert REASONS[name] in message, (name, message)
    not_did = refused(
        world.client.post(ROUTE.format(draw_id), json=receipts[2]), 422, "entrant_not_did"
    )
    assert "DID" in not_did
    big = {**mine, "proof": ["ab" * 32] * 2000}  # over the 64 KiB a receipt may take
    too_big = refused(world.client.post(ROUTE.format(draw_id), json=big), 422, "invalid_receipt")
    assert "at most 65536 bytes" in too_big
    assert entries_allocated(sessions) == before


def forged_list(draw_id: str, mine: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Receipts from a list the hub never committed: the entrant's true leaf with a heavier
    weight among made-up entries, its proof against that list's root."""
    salt = bytes.fromhex(mine["salt"])
    rows = [(i, mine["entrantId"] if i == 0 else f"ghost-{i}", salt) for i in range(4)]
    entries = b"".join(encode_entry(entrant_leaf(draw_id, e, s), 9, 0) for _, e, s in rows)
    (forged, *_) = build_receipts(draw_id, rows, CandidateTree(entries))
    as_json = forged.to_json()
    return {
        "a proof against its own root": as_json,
        "that proof under the committed root": {
            **as_json,
            "candidateRoot": mine["candidateRoot"],
            "count": mine["count"],
        },
    }


def test_past_the_public_budget_an_address_gets_429(world: DrawWorld) -> None:
    draw_id, receipts = committed_draw(world)
    limited = make_app(world.parts, RateLimiter(0.001, 2))
    with TestClient(limited) as client:
        assert client.post(ROUTE.format(draw_id), json=receipts[1]).status_code == 201
        assert client.post(ROUTE.format(draw_id), json=receipts[2]).status_code == 422
        answer = client.post(ROUTE.format(draw_id), json=receipts[3])
        refused(answer, 429, "rate_limited")
        assert int(answer.headers["Retry-After"]) > 0
        # The receipt check shares the address's budget: one bucket for every public check.
        refused(client.post(f"/draws/{draw_id}/check", json=receipts[4]), 429, "rate_limited")


def test_the_cli_saves_the_credential_and_refuses_in_one_line(
    world: DrawWorld, tmp_path: Path
) -> None:
    draw_id, receipts = committed_draw(world, IDS[:20])
    (tmp_path / "mine.json").write_text(json.dumps(receipts[1]))
    (tmp_path / "plain.json").write_text(json.dumps(receipts[0]))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NOTARY_HUB_DATA_DIR": str(tmp_path / "cli")}
    with serve_app(make_app(world.parts), access_log=False) as hub:
        url = f"{hub.url}/draws/{draw_id}"
        args = ("draw", "receipt-credential", "mine.json", "--draw", url, "--out", "vc.json")
        done = run_cli(*args, env=env, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        saved = json.loads((tmp_path / "vc.json").read_text())
        assert saved["credentialSubject"]["id"] == IDS[1]
        result = CliRunner().invoke(
            app,
            ["draw", "receipt-credential", str(tmp_path / "plain.json"), "--draw", url],
            env=env,
        )
    assert result.exit_code == 1 and result.stderr.startswith("error: entrant_not_did: ")
    assert result.stderr.count("\n") == 1


def test_the_court_checks_the_entry_against_the_registry_on_chain(
    world: DrawWorld, notary_world: NotaryWorld, sessions: sessionmaker[Session]
) -> None:
    """``notary-hub verify``'s draw check (``anchor``, ``drawRecord``): the committed list
    on chain, not only the signature; a notary's lie about the list is caught."""
    draw_id, receipts = committed_draw(world)
    credential = world.client.post(ROUTE.format(draw_id), json=receipts[3]).json()
    checks = DrawLetterVerifier(
        Verifier(notary_world.resolver, chain=notary_world.chain),
        notary_world.chain,
        trust=PinnedIssuers([notary_world.notary.did]),
    )
    result = checks.verify(credential)
    assert result.verified, result.errors
    assert {"anchor", "drawRecord"} <= set(result.checks)

    subject = credential["credentialSubject"]
    lies = {
        "entrantCount": {**subject, "entrantCount": 201},
        "entryIndex": {**subject, "entryIndex": 200},  # past the committed list
        "entrantsDigestMultibase": {
            **subject,
            "entrantsDigestMultibase": digest_multibase(SHA256, bytes(32)),
        },
    }
    for name, lie in lies.items():
        told = resigned(notary_world, sessions, {**credential, "credentialSubject": lie})
        assert first_failure(checks.verify(told)) == "drawRecord", name
    (anchor,) = credential["evidence"]
    elsewhere = {**anchor, "anchorReceipt": {**anchor["anchorReceipt"], "drawKey": "00" * 32}}
    told = resigned(notary_world, sessions, {**credential, "evidence": [elsewhere]})
    assert first_failure(checks.verify(told)) == "anchor"
    assert first_failure(checks.verify(forged_issuer(credential))) == "issuer"
