"""The draw API end to end on SQLite and PostgreSQL: create, upload (resumable), commit on
chain with an RFC 3161 token, draw with the local beacon, the public export; and every
out-of-order or bad step refused with a 4xx ``{"error", "message"}``, the state unchanged."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from typing import Any

import httpx
import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from credentials.verifier import Verifier
from evidence.draw.candidates import CandidateTree
from evidence.draw.chain_record import draw_key
from evidence.draw.committing import record_digest
from evidence.draw.config import parse_config
from evidence.draw.letter_pdf import result_rows
from evidence.draw.registry import DrawRegistry
from evidence.draw.registry_errors import DrawAlreadyCommitted
from evidence.draw.result import ResultEntry, result_root
from evidence.draw.seed import draw_seed, notary_commitment, public_hash
from evidence.letter_pdf.attach import CREDENTIAL_FILE, FACTS_FILE, attachments
from evidence.timestamping.verify import verify_token
from tests.evidence.deposit_support import new_did_key
from tests.evidence.draw.draw_support import reference_draw
from tests.evidence.draw.service_support import (
    DrawWorld,
    create,
    csv_list,
    jsonl_list,
    upload,
    upload_at,
    world,
)
from tests.fixtures.notary_world import NotaryWorld

__all__ = ["world"]

CATEGORIES = [{"name": "families", "quota": 2}, {"name": "singles", "quota": 1}]


def refused(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == code and body["message"], body


def state(world: DrawWorld, draw_id: str) -> str:
    value: str = world.client.get(f"/draws/{draw_id}").json()["state"]
    return value


# Half the entrants are known by a DID (the winners among them get a credential).
IDS = [new_did_key() if i % 2 else f"entrant-{i}" for i in range(60)]


def weighted_list(count: int) -> bytes:
    rows = [(IDS[i], str(1 + i % 5), "families" if i % 3 else "singles") for i in range(count)]
    return csv_list(rows, ("id", "weight", "category"))


def test_a_weighted_draw_with_categories_end_to_end(
    world: DrawWorld, notary_world: NotaryWorld
) -> None:
    draw = create(world, weighted=True, categories=CATEGORIES, cascade={"rule": "pooled"})
    draw_id = draw["id"]
    assert draw["state"] == "created" and draw["config"]["drawId"] == draw_id
    assert draw["config"]["beacon"]["publicKey"] == world.beacon.beacon.key.public_key.hex()
    assert world.client.get(f"/draws/{draw_id}").json() == draw  # public, no token

    listed = upload(world, draw_id, weighted_list(60), pieces=3)
    assert listed.status_code == 200, listed.text
    entries = listed.json()["entries"]
    assert entries["count"] == 60 and entries["perCategory"] == [40, 20]
    refused(world.client.get(f"/draws/{draw_id}/export/entries.bin"), 409, "draw_state_conflict")

    committed = world.client.post(f"/draws/{draw_id}/commit", headers=world.headers())
    assert committed.status_code == 200, committed.text
    commitment = committed.json()["commitment"]
    assert commitment["drawKey"] == draw_key(draw_id).hex() and commitment["commitTx"]
    registry = world.parts.records.registry
    on_chain = registry.record(draw_key(draw_id))
    assert (
        on_chain is not None
        and on_chain.commitment.candidate_root.hex() == entries["candidateRoot"]
    )

    receipts = world.client.get(f"/draws/{draw_id}/receipts", headers=world.headers())
    assert receipts.status_code == 200 and receipts.headers["cache-control"] == "private, no-store"
    lines = [json.loads(line) for line in receipts.content.splitlines()]
    assert [r["entrantId"] for r in lines] == IDS
    assert world.client.get(f"/draws/{draw_id}/receipts").status_code == 401
    entered = world.client.post(f"/draws/{draw_id}/check", json=lines[7]).json()
    assert entered == {"draw": draw_id, "index": 7, "entered": True}

    # Out of order: a list after the commit, a second commit, a draw before the round.
    again = world.client.post(
        f"/draws/{draw_id}/uploads", json={"format": "csv", "size": 9}, headers=world.headers()
    )
    refused(again, 409, "draw_state_conflict")
    refused(
        world.client.post(f"/draws/{draw_id}/commit", headers=world.headers()),
        409,
        "draw_state_conflict",
    )
    early = world.client.post(f"/draws/{draw_id}/draw", headers=world.headers())
    refused(early, 409, "beacon_not_published")
    assert int(early.headers["Retry-After"]) > 0 and state(world, draw_id) == "committed"

    round_ = draw["config"]["beacon"]["round"]
    world.skip_past(round_)
    # A secret that is not the committed one (a key store restored from elsewhere).
    name = f"draw-{draw_id}"
    kept = world.keystore.get(name)
    world.keystore.put(name, bytes(32), kind="draw-reveal", replace=True)
    mismatch = world.client.post(f"/draws/{draw_id}/draw", headers=world.headers())
    refused(mismatch, 422, "invalid_reveal")
    world.keystore.put(name, kept, kind="draw-reveal", replace=True)
    assert state(world, draw_id) == "committed"
    good = world.beacon.beacon.key.beacon(round_).to_json()
    forged: dict[str, Any] = {
        **good,
        "signature": world.beacon.beacon.key.beacon(round_ + 1).to_json()["signature"],
    }
    forged["randomness"] = hashlib.sha256(bytes.fromhex(forged["signature"])).hexdigest()
    refused(
        world.client.post(
            f"/draws/{draw_id}/draw", json={"beacon": forged}, headers=world.headers()
        ),
        422,
        "invalid_beacon",
    )
    wrong_round = world.beacon.beacon.key.beacon(round_ - 1).to_json()
    refused(
        world.client.post(
            f"/draws/{draw_id}/draw", json={"beacon": wrong_round}, headers=world.headers()
        ),
        422,
        "invalid_beacon",
    )
    assert state(world, draw_id) == "committed"

    drawn = world.client.post(f"/draws/{draw_id}/draw", headers=world.headers())  # from the relay
    assert drawn.status_code == 200, drawn.text
    result = drawn.json()["result"]
    assert result["round"] == round_ and result["winners"] == 3
    refused(
        world.client.post(f"/draws/{draw_id}/draw", headers=world.headers()),
        409,
        "draw_state_conflict",
    )
    check_export(world, draw_id, result)
    check_receipts(world, draw_id, lines)
    check_result_letter(world, draw_id, result, notary_world)


def check_result_letter(
    world: DrawWorld, draw_id: str, result: dict[str, Any], notary_world: NotaryWorld
) -> None:
    """The organiser's DrawResultCredential: signed by the notary, the draw's facts, the
    commitment's token and the chain's record as evidence; the same one when asked again."""
    answer = world.client.get(f"/draws/{draw_id}/credential", headers=world.headers())
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/vc"
    letter = answer.json()
    assert letter["type"] == ["VerifiableCredential", "DrawResultCredential"]
    subject = letter["credentialSubject"]
    assert subject["id"] == world.organiser and subject["drawId"] == draw_id
    assert subject["seed"] == result["seed"] and subject["entrantCount"] == 60
    timestamp, anchor = letter["evidence"]
    assert timestamp["type"] == ["RFC3161TimestampEvidence"]
    assert anchor["anchorReceipt"]["resultRoot"] == result["resultRoot"]
    assert anchor["anchorReceipt"]["winners"] == 3
    verifier = Verifier(notary_world.resolver, chain=notary_world.chain)
    assert verifier.verify_credential(letter, check_status=False).verified
    again = world.client.get(f"/draws/{draw_id}/credential", headers=world.headers()).json()
    assert again == letter
    other = world.client.get(f"/draws/{draw_id}/credential", headers=world.headers(new_did_key()))
    refused(other, 403, "forbidden")
    check_winner_letters(world, draw_id, letter, verifier)
    check_result_pdf(world, draw_id, letter)


def check_result_pdf(world: DrawWorld, draw_id: str, letter: dict[str, Any]) -> None:
    """The result letter as a PDF: signed over the whole file, timestamped, the credential
    attached, the page's facts those of the credential."""
    answer = world.client.get(f"/draws/{draw_id}/letter.pdf", headers=world.headers())
    assert answer.status_code == 200 and answer.content.startswith(b"%PDF-")
    reader = PdfFileReader(io.BytesIO(answer.content))
    (signature,) = reader.embedded_signatures
    status = validate_pdf_signature(
        signature, signer_validation_context=ValidationContext(trust_roots=[signature.signer_cert])
    )
    assert status.intact and status.valid and status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert status.timestamp_validity is not None and status.timestamp_validity.intact
    files = attachments(reader)
    assert json.loads(files[CREDENTIAL_FILE]) == letter
    assert json.loads(files[FACTS_FILE])["facts"] == dict(result_rows(letter))


def check_winner_letters(
    world: DrawWorld, draw_id: str, result_letter: dict[str, Any], verifier: Verifier
) -> None:
    """A DrawWinnerCredential for each winner known by a DID (context v1 + v2), no other."""
    answer = world.client.get(f"/draws/{draw_id}/winner-credentials", headers=world.headers())
    assert answer.status_code == 200, answer.text
    letters = [json.loads(line) for line in answer.content.splitlines()]
    winners = [
        w for w in world.client.get(f"/draws/{draw_id}/winners").json()["items"] if w["tier"]
    ]
    expected = {IDS[w["index"]]: w for w in winners if IDS[w["index"]].startswith("did:")}
    assert {c["credentialSubject"]["id"] for c in letters} == set(expected)
    for letter in letters:
        subject = letter["credentialSubject"]
        won = expected[subject["id"]]
        assert (subject["rank"], subject["tier"], subject["entryIndex"]) == (
            won["rank"],
            won["tier"],
            won["index"],
        )
        assert subject["drawResult"] == result_letter["id"]
        assert letter["type"] == ["VerifiableCredential", "DrawWinnerCredential"]
        assert verifier.verify_credential(letter, check_status=False).verified


def check_receipts(world: DrawWorld, draw_id: str, receipts: list[dict[str, Any]]) -> None:
    """Each entrant learns their outcome from their receipt; a forged one is refused."""
    winners = world.client.get(f"/draws/{draw_id}/winners").json()["items"]
    first = winners[0]
    outcome = world.client.post(f"/draws/{draw_id}/check", json=receipts[first["index"]]).json()
    assert outcome["drawn"] and (outcome["rank"], outcome["tier"]) == (1, first["tier"])
    placed = {w["index"] for w in winners}
    loser = next(r for r in receipts if r["index"] not in placed)
    assert world.client.post(f"/draws/{draw_id}/check", json=loser).json()["drawn"] is False
    forgeries = [
        {**loser, "entrantId": "someone-else"},
        {**loser, "index": first["index"]},
        {**loser, "weight": loser["weight"] + 1},
        {**receipts[first["index"]], "salt": "00" * 16},
        {**loser, "candidateRoot": "11" * 32},
        {**loser, "proof": "nope"},
    ]
    for forged in forgeries:
        refused(world.client.post(f"/draws/{draw_id}/check", json=forged), 422, "invalid_receipt")


def check_export(world: DrawWorld, draw_id: str, result: dict[str, Any]) -> None:
    """The export re-derives: the seed, the selection, the result root, the chain, the TSA."""
    files = {
        name: world.client.get(f"/draws/{draw_id}/export/{name}").content
        for name in (
            "config.json",
            "entries.bin",
            "beacon.json",
            "reveal.json",
            "result.jsonl",
            "chain.json",
        )
    }
    config = parse_config(json.loads(files["config.json"]))
    assert hashlib.sha256(files["config.json"]).digest() == config.config_hash
    reveal, beacon = json.loads(files["reveal.json"]), json.loads(files["beacon.json"])
    secret = bytes.fromhex(reveal["secret"])
    assert notary_commitment(secret) == config.notary_commitment
    tree = CandidateTree(files["entries.bin"])
    seed = draw_seed(
        config_hash=config.config_hash,
        candidate_root=tree.root,
        count=tree.count,
        beacon_randomness=bytes.fromhex(beacon["randomness"]),
        secret=secret,
        public_values_hash=public_hash(reveal["publicValues"]),
    )
    assert seed.hex() == result["seed"]
    lines = [json.loads(line) for line in files["result.jsonl"].splitlines()]
    entries = [
        ResultEntry(e["rank"], e["index"], bytes.fromhex(e["leaf"]), e["tier"]) for e in lines
    ]
    assert entries == reference_draw(config, files["entries.bin"], seed)
    assert result_root(entries).hex() == result["resultRoot"]
    chain = json.loads(files["chain.json"])
    record = DrawRegistry.attach(world.chain, chain["contract"]).record(
        bytes.fromhex(chain["drawKey"])
    )
    assert record is not None and record.result is not None
    assert record.result.result_root.hex() == result["resultRoot"] and chain["resultTx"]
    digest = record_digest(world.parts.service.record(draw_id))
    assert verify_token(base64.b64decode(chain["timestampToken"]), digest).gen_time
    page = world.client.get(f"/draws/{draw_id}/winners", params={"limit": 2}).json()
    assert page["items"] == lines[:2] and page["next"].endswith("offset=2&limit=2")
    assert world.keystore.names() == []  # the secret is revealed: no longer a key


def test_bad_lists_are_refused_and_change_nothing(world: DrawWorld) -> None:
    draw_id = create(world, categories=CATEGORIES, cascade={"rule": "none"})["id"]
    rows = [{"id": f"p{i}", "category": "families"} for i in range(5)]
    # Duplicates and an unknown category, by line; the upload keeps the problems.
    bad = jsonl_list([*rows, {"id": "p1", "category": "families"}, {"id": "x", "category": "pets"}])
    refused_list = upload(world, draw_id, bad, "jsonl")
    refused(refused_list, 422, "invalid_entrants")
    uploads = world.client.get(f"/draws/{draw_id}", headers=world.headers()).json()
    assert uploads["entries"] is None and uploads["state"] == "uploading"
    # A file cut off half-way: all its bytes arrived, but the last row has no line break.
    cut = jsonl_list(rows)[:-7]
    refused(upload(world, draw_id, cut, "jsonl"), 422, "invalid_entrants")
    # Fewer bytes than declared: finishing is refused, the upload stays open to resume.
    data = jsonl_list(rows)
    started = world.client.post(
        f"/draws/{draw_id}/uploads",
        json={"format": "jsonl", "size": len(data)},
        headers=world.headers(),
    )
    location = started.headers["Location"]
    world.client.patch(location, content=data[:10], headers=world.headers(**{"Upload-Offset": "0"}))
    stale = world.client.patch(
        location, content=data[:10], headers=world.headers(**{"Upload-Offset": "0"})
    )
    refused(stale, 409, "upload_offset_mismatch")
    assert stale.headers["Upload-Offset"] == "10"
    refused(
        world.client.post(f"{location}/finish", headers=world.headers()), 400, "upload_incomplete"
    )
    rest = world.client.patch(
        location,
        content=data[10:],
        headers=world.headers(**{"Content-Range": f"bytes 10-{len(data) - 1}/{len(data)}"}),
    )
    assert rest.status_code == 200 and rest.json()["offset"] == len(data)
    assert world.client.post(f"{location}/finish", headers=world.headers()).status_code == 200
    # A category with no entrant (everyone is a family): refused at commit.
    refused(
        world.client.post(f"/draws/{draw_id}/commit", headers=world.headers()),
        422,
        "empty_category",
    )
    assert state(world, draw_id) == "uploading"


def test_bad_weights_are_refused_by_line(world: DrawWorld) -> None:
    draw_id = create(world, weighted=True)["id"]
    rows = [("a", "1"), ("b", "0"), ("c", "-2"), ("d", "1.5"), ("e", "x"), ("f", "3")]
    location, finished = upload_at(world, draw_id, csv_list(rows, ("id", "weight")))
    refused(finished, 422, "invalid_entrants")
    draw = world.client.get(f"/draws/{draw_id}").json()
    assert draw["state"] == "uploading" and draw["entries"] is None
    kept = world.client.get(location, headers=world.headers()).json()
    assert kept["state"] == "refused"
    assert [p["line"] for p in kept["problems"]] == [3, 4, 5, 6]


def test_more_prizes_than_entrants_and_who_may_act(world: DrawWorld) -> None:
    draw_id = create(world)["id"]
    assert upload(world, draw_id, csv_list([("a",), ("b",)])).status_code == 200
    refused(
        world.client.post(f"/draws/{draw_id}/commit", headers=world.headers()),
        422,
        "too_few_entrants",
    )
    other = world.headers(did=new_did_key())
    refused(world.client.post(f"/draws/{draw_id}/commit", headers=other), 403, "forbidden")
    refused(world.client.post(f"/draws/{draw_id}/commit"), 401, "invalid_token")
    refused(world.client.get("/draws/nope"), 404, "draw_not_found")
    bodies: list[dict[str, Any]] = [
        {"drawId": "mine"},
        {"tiers": []},
        {"beacon": {"round": 1}},
        {"beacon": {"network": "elsewhere", "round": 10**9}},
    ]
    for body in bodies:
        response = world.client.post("/draws", json=world.config(**body), headers=world.headers())
        assert response.status_code in (409, 422), response.text


def test_a_commit_already_on_chain_is_adopted(world: DrawWorld) -> None:
    """The chain took the commit, the hub stopped before recording it: the next commit
    finds this very record on chain and adopts it; another draw's values would not be."""
    draw_id = create(world)["id"]
    assert upload(world, draw_id, csv_list([(f"p{i}",) for i in range(5)])).status_code == 200
    record = world.parts.service.record(draw_id)
    assert record.candidate_root is not None and record.entry_count is not None
    config = parse_config(record.config)
    first = world.parts.records.commit(config, record.candidate_root, record.entry_count)
    committed = world.client.post(f"/draws/{draw_id}/commit", headers=world.headers())
    assert committed.status_code == 200, committed.text
    adopted = committed.json()["commitment"]
    assert adopted["drawKey"] == first["drawKey"] and adopted["commitBlock"] == first["commitBlock"]
    with pytest.raises(DrawAlreadyCommitted):
        world.parts.records.commit(config, bytes(32), record.entry_count)
