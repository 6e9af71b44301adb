"""A capture letter and its WACZ checked as a court would, with a chain node alone: a real
sealed capture verifies (by the core and by ``notary-hub verify``), and every attack is
refused at its named step.

A package changed after sealing fails ``package`` (its SHA-256 is the letter's). To reach
the steps behind it, some attacks are sealed as a hub that erred (or lied) would: a
package that does not hold together, time-stamped, anchored and signed by the notary
itself. A letter changed and signed again by the notary stands for the same.
"""

from __future__ import annotations

import copy
import hashlib
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from typer.testing import CliRunner

from credentials.data_integrity.proofs import SigningKey, add_proof
from credentials.verification import VerificationResult
from did_registry.did_key import did_key
from evidence.capture.capture_letter import KeyItem
from evidence.capture.capture_verification import CAPTURE_FILE_CHECKS
from evidence.capture.chain_entry import ZERO_HASH, ChainEntry, make_entry, parse_line
from evidence.capture.wacz_package import BuiltWacz
from evidence.digests import SHA256, digest_multibase
from hub_kernel.multiformats import ED25519
from notary_hub.cli import app
from testkit.serving import serve_rpc
from tests.evidence.capture.capture_support import rewrite_zip
from tests.evidence.capture.letter_support import (
    CHAIN,
    LetterWorld,
    letter_world,
    new_wacz_key,
    write_json,
)
from tests.evidence.draw.service_support import notary_issuer

__all__ = ["letter_world"]


@pytest.fixture(scope="module")
def genuine(letter_world: LetterWorld) -> tuple[BuiltWacz, dict[str, Any]]:
    built = letter_world.package("genuine.wacz")
    return built, letter_world.seal(built.path)


@pytest.fixture(scope="module")
def other(letter_world: LetterWorld) -> tuple[BuiltWacz, dict[str, Any]]:
    """Another sealed capture: its package and its letter."""
    another = letter_world.package("another.wacz")  # the same files, built again
    return another, letter_world.seal(another.path)


def _chain_bytes(world: LetterWorld) -> bytes:
    return next(r.source for r in world.capture.resources if r.path == CHAIN).read_bytes()


def first_failure(result: VerificationResult) -> str:
    assert not result.verified and result.errors, result.checks
    return result.errors[0].check


def test_a_sealed_capture_verifies(
    letter_world: LetterWorld, genuine: tuple[BuiltWacz, dict[str, Any]]
) -> None:
    built, letter = genuine
    result = letter_world.verifier().verify(letter, built.path)
    assert result.verified, result.errors
    assert {"proof", "issuer", "status", "timestamp", "anchor", *CAPTURE_FILE_CHECKS} <= set(
        result.checks
    )
    assert result.warnings == []
    evidence = result.details["evidence"]
    assert evidence["hashChain"].startswith("7 entries, 1 stamps")
    assert evidence["package"] == f"{built.path.stat().st_size} bytes match"


def test_without_tsa_roots_the_chain_is_checked_against_the_letters_tsa(
    letter_world: LetterWorld, genuine: tuple[BuiltWacz, dict[str, Any]]
) -> None:
    built, letter = genuine
    result = letter_world.verifier(roots=False).verify(letter, built.path)
    assert result.verified, result.errors
    assert {(w.check, w.code) for w in result.warnings} == {
        ("timestamp", "UNTRUSTED_TSA"),
        ("hashChain", "UNTRUSTED_TSA"),
    }


def _without(source: Path, target: Path, name: str) -> Path:
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w") as forged:
        for info in original.infolist():
            if info.filename != name:
                forged.writestr(info, original.read(info))
    return target


def _time(entry: ChainEntry) -> datetime:
    return datetime.strptime(entry.time, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def _relinked(entries: list[ChainEntry]) -> bytes:
    """``entries`` written again as a chain, every link and hash recomputed."""
    prev, lines = ZERO_HASH, []
    for seq, entry in enumerate(entries):
        digest = bytes.fromhex(entry.sha256)
        made = make_entry(
            seq, entry.kind, digest, _time(entry), prev, ref=entry.ref, stamp=entry.stamp
        )
        lines.append(made.line())
        prev = made.hash
    return b"".join(lines)


def _entries(world: LetterWorld) -> list[ChainEntry]:
    lines = _chain_bytes(world).splitlines(keepends=True)
    return [parse_line(line, seq) for seq, line in enumerate(lines)]


def edited_chain(world: LetterWorld) -> bytes:
    """A screenshot's digest replaced, and the chain relinked around it."""
    entries = _entries(world)
    screenshot = next(i for i, e in enumerate(entries) if e.kind == "screenshot")
    forged = make_entry(screenshot, "screenshot", bytes(32), _time(entries[screenshot]), "")
    entries[screenshot] = forged
    return _relinked(entries)


def moved_token_chain(world: LetterWorld) -> bytes:
    """The final token moved up the chain, relinked, as if stamped early."""
    entries = _entries(world)
    return _relinked([*entries[:2], entries[-1], *entries[2:-1]])


def _sealed_tampering(world: LetterWorld, attack: str) -> Path:
    """A package that does not hold together, as the attack makes it."""
    genuine = world.package(f"{attack}-base.wacz").path
    target = world.directory / f"{attack}.wacz"
    if attack == "altered-file":
        return rewrite_zip(genuine, target, replace={"originals/terms.pdf": b"%PDF-1.7 forged"})
    if attack == "removed-file":
        return _without(genuine, target, "originals/terms.pdf")
    if attack == "altered-datapackage":
        with zipfile.ZipFile(genuine) as package:
            datapackage = json.loads(package.read("datapackage.json"))
        datapackage["title"] = "Another capture"
        replaced = {"datapackage.json": json.dumps(datapackage).encode()}
        return rewrite_zip(genuine, target, replace=replaced)
    if attack == "another-key":
        return world.package(f"{attack}.wacz", key=new_wacz_key()).path
    if attack == "edited-chain":
        return world.package(f"{attack}.wacz", chain=edited_chain(world)).path
    if attack == "torn-chain":
        return world.package(f"{attack}.wacz", chain=_chain_bytes(world)[:-1]).path
    assert attack == "moved-token"
    return world.package(f"{attack}.wacz", chain=moved_token_chain(world)).path


@pytest.mark.parametrize(
    ("attack", "step", "why"),
    [
        ("altered-file", "wacz", "originals/terms.pdf: SHA-256 mismatch"),
        ("removed-file", "wacz", "originals/terms.pdf: listed in datapackage.json but missing"),
        ("altered-datapackage", "wacz", "datapackage.json: SHA-256 mismatch"),
        ("another-key", "wacz", "signature: signed by a key that is not trusted"),
        ("edited-chain", "hashChain", "head is not the hash of entry"),
        ("moved-token", "hashChain", "is not an earlier entry"),
        ("torn-chain", "hashChain", "chain entry 6: a torn or oversized line"),
    ],
)
def test_a_package_that_does_not_hold_together_is_refused(
    letter_world: LetterWorld,
    genuine: tuple[BuiltWacz, dict[str, Any]],
    attack: str,
    step: str,
    why: str,
) -> None:
    tampered = _sealed_tampering(letter_world, attack)
    _, letter = genuine
    # Changed after sealing: the genuine letter names another package.
    assert first_failure(letter_world.verifier().verify(letter, tampered)) == "package"
    # Sealed as it is, by a hub that erred: the step behind catches it.
    result = letter_world.verifier().verify(letter_world.seal(tampered), tampered)
    assert first_failure(result) == step, result.errors
    assert why in result.errors[0].message


def test_another_package_is_refused(
    letter_world: LetterWorld,
    genuine: tuple[BuiltWacz, dict[str, Any]],
    other: tuple[BuiltWacz, dict[str, Any]],
) -> None:
    _, letter = genuine
    result = letter_world.verifier().verify(letter, other[0].path)
    assert first_failure(result) == "package"
    assert [p.check for p in result.errors] == ["package"]  # the steps behind never ran


def test_a_key_item_not_in_the_package_is_refused(
    letter_world: LetterWorld, genuine: tuple[BuiltWacz, dict[str, Any]]
) -> None:
    built, _ = genuine
    missing = KeyItem("originals/terms.pdf", "original", hashlib.sha256(b"other").digest())
    letter = letter_world.seal(built.path, key_items=(missing,))
    result = letter_world.verifier().verify(letter, built.path)
    assert first_failure(result) == "items"
    assert "key item originals/terms.pdf" in result.errors[0].message
    elsewhere = KeyItem("screenshots/none.png", "screenshot", bytes(32))
    letter = letter_world.seal(built.path, key_items=(elsewhere,))
    assert first_failure(letter_world.verifier().verify(letter, built.path)) == "items"


def _unsigned(letter: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in letter.items() if k not in ("proof", "credentialStatus")}


def resigned(world: LetterWorld, letter: dict[str, Any]) -> dict[str, Any]:
    """``letter`` (changed) signed again by the trusted notary."""
    issuer = notary_issuer(world.notary, world.sessions)
    signed: dict[str, Any] = issuer.issue_many([_unsigned(letter)], status_purposes=())[
        0
    ].credential
    return signed


def forged(letter: dict[str, Any]) -> dict[str, Any]:
    """``letter`` signed by someone's own did:key, named as its issuer."""
    key = Ed25519PrivateKey.generate()
    did = did_key(ED25519, key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
    unsigned = _unsigned(letter)
    unsigned["issuer"] = did
    return add_proof(
        unsigned,
        suite="eddsa-rdfc-2022",
        key=SigningKey(f"{did}#{did.removeprefix('did:key:')}", key),
    )


def test_a_forged_issuer_is_refused(
    letter_world: LetterWorld,
    genuine: tuple[BuiltWacz, dict[str, Any]],
    other: tuple[BuiltWacz, dict[str, Any]],
) -> None:
    _, letter = genuine
    edited = copy.deepcopy(letter)
    package = hashlib.sha256(other[0].path.read_bytes()).digest()
    edited["credentialSubject"]["digestMultibase"] = digest_multibase(SHA256, package)
    result = letter_world.verifier().verify(forged(edited), other[0].path)
    assert first_failure(result) == "issuer"
    assert "proof" in result.checks  # its own signature holds: only trust refuses it


def test_evidence_of_another_letter_is_refused(
    letter_world: LetterWorld,
    genuine: tuple[BuiltWacz, dict[str, Any]],
    other: tuple[BuiltWacz, dict[str, Any]],
) -> None:
    built, letter = genuine
    for index, step in ((0, "timestamp"), (1, "anchor")):
        swapped = copy.deepcopy(letter)
        swapped["evidence"][index] = other[1]["evidence"][index]
        unsigned = letter_world.verifier().verify(swapped, built.path)
        assert [p.check for p in unsigned.errors][:2] == ["proof", step]
        result = letter_world.verifier().verify(resigned(letter_world, swapped), built.path)
        assert first_failure(result) == step, result.errors


def test_notary_hub_verify_checks_a_capture_letter(
    letter_world: LetterWorld,
    genuine: tuple[BuiltWacz, dict[str, Any]],
    other: tuple[BuiltWacz, dict[str, Any]],
    tmp_path: Path,
) -> None:
    built, letter = genuine
    path = write_json(tmp_path / "capture-letter.json", letter)
    root = tmp_path / "tsa-root.pem"
    root.write_bytes(letter_world.tsa_root.public_bytes(Encoding.PEM))
    world = letter_world.notary
    with serve_rpc(world.chain, access_log=False) as rpc:
        trusted = ["--rpc", rpc, "--issuer", world.notary.did, "--tsa-root", str(root)]

        def verify(package: Path) -> Any:
            arguments = ["verify", str(path), "--file", str(package), *trusted]
            return CliRunner().invoke(app, arguments, catch_exceptions=False)

        valid = verify(built.path)
        assert valid.exit_code == 0, valid.output
        assert "VALID" in valid.stdout and "capture" in valid.stdout
        for check in CAPTURE_FILE_CHECKS:
            assert check in valid.stdout
        refused = verify(other[0].path)
        assert refused.exit_code == 1, refused.output
        assert refused.stderr.startswith("failed: package: "), refused.stderr
        assert "not checked: wacz, hashChain, items" in refused.stdout


@pytest.mark.parametrize(
    ("member", "value"),
    [("hashChainHead", "é" * 64), ("waczPublicKey", "bm90IGEga2V5"), ("keyItems", ["x"])],
)
def test_a_malformed_subject_is_refused_as_evidence(
    letter_world: LetterWorld, genuine: tuple[BuiltWacz, dict[str, Any]], member: str, value: Any
) -> None:
    built, letter = genuine
    changed = copy.deepcopy(letter)
    changed["credentialSubject"][member] = value
    result = letter_world.verifier().verify(resigned(letter_world, changed), built.path)
    assert first_failure(result) == "evidence", result.errors
