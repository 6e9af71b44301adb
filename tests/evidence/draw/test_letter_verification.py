"""A draw's letters checked as a court would, against the chain alone: the result letter
(JSON and signed PDF) and a winner's credential verify, by the core and by ``notary-hub
verify``; each tampering (a value changed, evidence from another draw's letter, a registry
of one's own, an untrusted issuer, bytes added to the signed PDF) fails at its step.

The draws are small (six entrants) on the draw world of :mod:`.service_support`. A
letter changed and signed again by the notary itself stands for a notary that lies (or a
hub that erred): the proof holds, so only the evidence and the chain can catch it.
"""

from __future__ import annotations

import copy
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner, Result

from credentials.data_integrity.proofs import SigningKey, add_proof
from credentials.issuer_trust import PinnedIssuers
from credentials.verification import VerificationResult
from credentials.verifier import Verifier
from did_registry.did_key import did_key
from evidence.deposit.letter_verification import LetterVerifier
from evidence.digests import SHA256, digest_multibase
from evidence.draw.letter_verification import DrawLetterVerifier, result_pdf_kind
from evidence.letter_pdf.publication import ensure_published
from evidence.letter_pdf.signing_keys import fingerprint
from evidence.letter_pdf.verify import PdfLetterVerifier
from hub_kernel.multiformats import ED25519
from notary_hub.cli import app
from testkit.serving import serve_rpc
from testkit.waiting import wait_until
from tests.evidence.deposit_support import new_did_key
from tests.evidence.draw.service_support import (
    DrawWorld,
    create,
    csv_list,
    notary_issuer,
    upload,
    world,
)
from tests.fixtures.hub_process import run_cli
from tests.fixtures.notary_world import NotaryWorld

__all__ = ["world"]

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@dataclass(frozen=True)
class Drawn:
    draw_id: str
    letter: dict[str, Any]
    winners: list[dict[str, Any]]


def run_draw(world: DrawWorld) -> Drawn:
    """A small drawn draw (half its entrants known by a DID) and its letters."""
    ids = [new_did_key() if i % 2 else f"entrant-{i}" for i in range(6)]
    draw_id = create(world)["id"]
    assert upload(world, draw_id, csv_list([(i,) for i in ids])).status_code == 200
    headers = world.headers()
    assert world.client.post(f"/draws/{draw_id}/commit", headers=headers).status_code == 200
    world.skip_past(world.client.get(f"/draws/{draw_id}").json()["config"]["beacon"]["round"])
    assert world.client.post(f"/draws/{draw_id}/draw", headers=headers).status_code == 200
    letter = world.client.get(f"/draws/{draw_id}/credential", headers=headers).json()
    winners = world.client.get(f"/draws/{draw_id}/winner-credentials", headers=headers)
    return Drawn(draw_id, letter, [json.loads(line) for line in winners.content.splitlines()])


def publish_document_key(world: DrawWorld, notary_world: NotaryWorld) -> int:
    """The notary lists its document-signing certificate on its DID (before it signs):
    the publishing block's time."""
    pdfs = world.parts.letter_pdfs
    assert pdfs is not None
    receipt = ensure_published(notary_world.notary, fingerprint(pdfs._pdfs.key.certificate))
    assert receipt is not None
    return int(notary_world.chain.get_block(receipt.block_number).timestamp)


def result_pdf(world: DrawWorld, draw_id: str, published_at: int) -> bytes:
    """The result letter's PDF, signed once the wall clock passed the key's publication
    (blocks mined in a burst run ahead of it; a verifier resolves the DID as of the
    signature's time, as :class:`evidence.letter_pdf.build.LetterPdfs` waits for)."""
    wait_until(lambda: time.time() > published_at + 1, timeout=30, message="the chain's clock")
    answer = world.client.get(f"/draws/{draw_id}/letter.pdf", headers=world.headers())
    assert answer.status_code == 200, answer.text
    content: bytes = answer.content
    return content


def verifier(notary_world: NotaryWorld) -> Verifier:
    return Verifier(notary_world.resolver, chain=notary_world.chain)


def trust(notary_world: NotaryWorld) -> PinnedIssuers:
    return PinnedIssuers([notary_world.notary.did])


def draw_verifier(notary_world: NotaryWorld) -> DrawLetterVerifier:
    return DrawLetterVerifier(verifier(notary_world), notary_world.chain, trust=trust(notary_world))


def resigned(
    notary_world: NotaryWorld, sessions: sessionmaker[Session], letter: dict[str, Any]
) -> dict[str, Any]:
    """``letter`` (changed) signed again by the trusted notary."""
    unsigned = {k: v for k, v in letter.items() if k not in ("proof", "credentialStatus")}
    issuer = notary_issuer(notary_world, sessions)
    signed: dict[str, Any] = issuer.issue_many([unsigned], status_purposes=())[0].credential
    return signed


def forged(letter: dict[str, Any]) -> dict[str, Any]:
    """``letter`` signed by someone's own did:key, named as its issuer."""
    key = Ed25519PrivateKey.generate()
    did = did_key(ED25519, key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
    unsigned = {k: v for k, v in letter.items() if k not in ("proof", "credentialStatus")}
    unsigned["issuer"] = did
    return add_proof(
        unsigned,
        suite="eddsa-rdfc-2022",
        key=SigningKey(f"{did}#{did.removeprefix('did:key:')}", key),
    )


def first_failure(result: VerificationResult) -> str:
    assert not result.verified and result.errors, result.checks
    return result.errors[0].check


def test_the_result_letter_and_its_tamperings(
    world: DrawWorld, notary_world: NotaryWorld, sessions: sessionmaker[Session]
) -> None:
    drawn, other = run_draw(world), run_draw(world)
    checks = draw_verifier(notary_world)
    good = checks.verify(drawn.letter)
    assert good.verified, good.errors
    assert {"proof", "issuer", "status", "anchor", "drawRecord", "timestamp"} <= set(good.checks)

    def tampered(edit: Any) -> dict[str, Any]:
        letter = copy.deepcopy(drawn.letter)
        edit(letter)
        return letter

    def root(letter: dict[str, Any]) -> None:
        letter["credentialSubject"]["winnersDigestMultibase"] = digest_multibase(SHA256, bytes(32))

    def seed(letter: dict[str, Any]) -> None:
        letter["credentialSubject"]["seed"] = "00" * 32

    def token(letter: dict[str, Any]) -> None:
        letter["evidence"][0] = other.letter["evidence"][0]

    def receipt(letter: dict[str, Any]) -> None:
        letter["evidence"][1] = other.letter["evidence"][1]

    def contract(letter: dict[str, Any]) -> None:  # a registry of one's own making
        letter["evidence"][1]["anchorReceipt"]["contract"] = "0x" + "11" * 20

    def chain(letter: dict[str, Any]) -> None:
        letter["evidence"][1]["chainId"] = 1

    # Another draw's receipt also names another commitment than the token's.
    cases = {
        root: {"drawRecord"},
        seed: {"drawRecord"},
        token: {"timestamp"},
        receipt: {"anchor", "timestamp"},
        contract: {"anchor"},
        chain: {"anchor"},
    }
    assert first_failure(checks.verify(tampered(root))) == "proof"  # unsigned: the proof
    for edit, steps in cases.items():
        result = checks.verify(resigned(notary_world, sessions, tampered(edit)))
        assert {p.check for p in result.errors} == steps, (edit.__name__, result.errors)
        assert first_failure(result) == sorted(steps)[0], (edit.__name__, result.errors)
    assert first_failure(checks.verify(forged(drawn.letter))) == "issuer"


def test_a_winner_credential_the_result_pdf_and_the_command(
    world: DrawWorld, notary_world: NotaryWorld, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    published_at = publish_document_key(world, notary_world)
    drawn, other = run_draw(world), run_draw(world)
    checks = draw_verifier(notary_world)
    winner = drawn.winners[0]
    result = checks.verify(winner, result_letter=drawn.letter)
    assert result.verified, result.errors
    assert {"proof", "issuer", "anchor", "drawRecord", "resultLetter"} <= set(result.checks)
    named_other = checks.verify(winner, result_letter=other.letter)
    assert first_failure(named_other) == "resultLetter"
    lying = copy.deepcopy(winner)
    lying["credentialSubject"]["winnersDigestMultibase"] = other.letter["credentialSubject"][
        "winnersDigestMultibase"
    ]
    assert first_failure(checks.verify(resigned(notary_world, sessions, lying))) == "drawRecord"
    assert first_failure(checks.verify(forged(winner))) == "issuer"

    custody = LetterVerifier(verifier(notary_world), notary_world.chain, trust=trust(notary_world))
    pdfs = PdfLetterVerifier(custody, notary_world.resolver, kinds=result_pdf_kind(checks))
    pdf = result_pdf(world, drawn.draw_id, published_at)
    signed = pdfs.verify(pdf)
    assert signed.verified, signed.errors
    assert {"pdfSignature", "pdfSigner", "pdfFacts", "anchor", "timestamp"} <= set(signed.checks)
    appended = pdf + b"\n% appended after signing\n"
    assert first_failure(pdfs.verify(appended)) == "pdfSignature"
    check_the_command(tmp_path, notary_world, drawn, pdf, appended)


def check_the_command(
    tmp_path: Path, notary_world: NotaryWorld, drawn: Drawn, pdf: bytes, appended: bytes
) -> None:
    """``notary-hub verify`` with a chain node alone: a process for the PDF (the court's
    way), in-process for the rest (the same command without a Python start each)."""
    files = {
        "letter.json": json.dumps(drawn.letter).encode(),
        "winner.json": json.dumps(drawn.winners[0]).encode(),
        "forged.json": json.dumps(forged(drawn.letter)).encode(),
        "letter.pdf": pdf,
        "appended.pdf": appended,
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    with serve_rpc(notary_world.chain, access_log=False) as rpc:
        trusted = ["--rpc", rpc, "--issuer", notary_world.notary.did]
        env = {k: v for k, v in os.environ.items() if not k.startswith("NOTARY_HUB_")}
        env["PYTHONPATH"] = str(ROOT)  # this checkout's notary_hub
        done = run_cli("verify", "letter.pdf", *trusted, env=env, cwd=tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "VALID" in done.stdout and "result root" in done.stdout

        def verify(*args: str) -> Result:
            return CliRunner().invoke(app, ["verify", *args, *trusted], catch_exceptions=False)

        letter = verify(str(tmp_path / "letter.json"), "--json")
        assert letter.exit_code == 0, letter.output
        assert {"anchor", "drawRecord", "timestamp"} <= set(json.loads(letter.stdout)["checks"])
        named = ["--result-letter", str(tmp_path / "letter.json")]
        winner = verify(str(tmp_path / "winner.json"), *named)
        assert winner.exit_code == 0 and "passed:" in winner.stdout, winner.output
        assert "resultLetter" in winner.stdout
        for name, step in (("forged.json", "issuer"), ("appended.pdf", "pdfSignature")):
            refused = verify(str(tmp_path / name))
            assert refused.exit_code == 1, refused.output
            assert refused.stderr.startswith(f"failed: {step}: "), refused.stderr
