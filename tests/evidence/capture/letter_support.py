"""A sealing world for the capture letter tests: a notary on an embedded chain with its
status lists, the anchoring queue and batcher, the hub's embedded TSA, the notary's P-384
WACZ key, and a real small capture (:func:`.capture_support.capture_files`).

:meth:`LetterWorld.seal` does what the capture service will do at the end of a session
for any package it is given: time-stamp its SHA-256, anchor it, and sign the letter.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.orm import Session, sessionmaker

from chain_adapter.anchoring.batcher import Batcher
from chain_adapter.anchoring.queue import AnchorQueue
from chain_adapter.anchoring.receipt import AnchorReceipt
from credentials.issuer_trust import PinnedIssuers
from credentials.verifier import Verifier
from evidence.capture.capture_letter import CaptureLetters, KeyItem, SealedCapture
from evidence.capture.capture_verification import CaptureLetterVerifier
from evidence.capture.chain_entry import parse_line
from evidence.capture.wacz_package import BuiltWacz, Resource, build_wacz
from evidence.capture.wacz_signing import REPLAYWEB_CURVE, WaczSigner, public_key_base64
from evidence.letter_issuer import LetterIssuer
from evidence.timestamping import EmbeddedTimestampAuthority
from notary_hub import migrate
from notary_hub.db import create_db_engine, session_factory
from tests.evidence.capture.capture_support import CaptureFiles, capture_files
from tests.evidence.draw.service_support import notary_issuer
from tests.evidence.timestamping_support import hub_tsa
from tests.fixtures.notary_world import NotaryWorld, open_notary_world

USER = "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
KEY_ITEMS = (("screenshots/shot-0001.png", "screenshot"), ("originals/terms.pdf", "original"))
PREFLIGHT = "capture/preflight.json"
CHAIN = "capture/chain.jsonl"


def sha256_file(path: Path) -> bytes:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.digest()


def sealed_capture(
    path: Path, wacz_key: ec.EllipticCurvePublicKey, **changes: Any
) -> SealedCapture:
    """What the service knows of the package at ``path`` when it seals it."""
    with zipfile.ZipFile(path) as package:
        datapackage = package.read("datapackage.json")
        lines = package.read(CHAIN).splitlines(keepends=True)
        names = set(package.namelist())
        digests = {n: hashlib.sha256(package.read(n)).digest() for n, _ in KEY_ITEMS if n in names}
        preflight = hashlib.sha256(package.read(PREFLIGHT)).digest()
    head = parse_line(lines[-1], len(lines) - 1)
    ended = datetime.now(UTC)
    sealed = SealedCapture(
        capture_id="cap-" + hashlib.sha256(path.read_bytes()).hexdigest()[:12],
        subject=USER,
        started_at=ended - timedelta(minutes=3),
        ended_at=ended,
        preflight_sha256=preflight,
        package_sha256=sha256_file(path),
        datapackage_sha256=hashlib.sha256(datapackage).digest(),
        wacz_public_key=public_key_base64(wacz_key),
        chain_head=head.hash,
        chain_length=len(lines),
        key_items=tuple(KeyItem(n, kind, digests[n]) for n, kind in KEY_ITEMS if n in digests),
        target_url="https://shop.example/terms",
    )
    return replace(sealed, **changes)


@dataclass
class LetterWorld:
    notary: NotaryWorld
    sessions: sessionmaker[Session]
    tsa: EmbeddedTimestampAuthority
    tsa_root: x509.Certificate
    wacz_key: ec.EllipticCurvePrivateKey
    capture: CaptureFiles
    directory: Path

    def package(
        self, name: str, *, key: ec.EllipticCurvePrivateKey | None = None, chain: bytes = b""
    ) -> BuiltWacz:
        """The capture's files as a signed WACZ (with the notary's key unless ``key``; with
        ``chain`` as its hash chain file when given)."""
        resources = list(self.capture.resources)
        if chain:
            source = self.directory / f"{name}.chain.jsonl"
            source.write_bytes(chain)
            resources = [r for r in resources if r.path != CHAIN] + [Resource(CHAIN, source)]
        return build_wacz(
            self.directory / name,
            [self.capture.warc],
            pages=self.capture.pages,
            resources=resources,
            signer=WaczSigner(key or self.wacz_key),
        )

    def anchor(self, leaf: bytes) -> AnchorReceipt:
        queue = AnchorQueue(self.sessions)
        (item,) = queue.enqueue_many([leaf], "capture")
        registry = self.notary.deployment.anchor_registry
        Batcher(
            self.sessions, queue, self.notary.transactor, registry, max_items=10, interval=0.05
        ).run_once()
        receipt = queue.receipt(item)
        assert receipt is not None
        return receipt

    def issuer(self) -> LetterIssuer:
        return LetterIssuer(notary_issuer(self.notary, self.sessions), service="captures")

    def seal(self, path: Path, **changes: Any) -> dict[str, Any]:
        """The letter of the package at ``path``: stamped, anchored and signed."""
        sealed = sealed_capture(path, self.wacz_key.public_key(), **changes)
        token = self.tsa.timestamp(sealed.package_sha256, hash_algorithm="sha256")
        receipt = self.anchor(sealed.package_sha256)
        return CaptureLetters(self.issuer()).issue(sealed, token, receipt)

    def verifier(self, *, roots: bool = True) -> CaptureLetterVerifier:
        world = self.notary
        return CaptureLetterVerifier(
            Verifier(world.resolver, chain=world.chain),
            world.chain,
            trust=PinnedIssuers([world.notary.did]),
            tsa_roots=[self.tsa_root] if roots else (),
        )


@pytest.fixture(scope="module")
def letter_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LetterWorld]:
    directory = tmp_path_factory.mktemp("letters")
    notary = open_notary_world(directory / "world")
    engine = create_db_engine(f"sqlite:///{directory / 'hub.sqlite3'}")
    migrate.upgrade(engine)
    tsa, material = hub_tsa(directory / "tsa")
    (directory / "capture").mkdir()
    capture = capture_files(directory / "capture", tsa)
    try:
        yield LetterWorld(
            notary,
            session_factory(engine),
            tsa,
            material.root_certificate,
            new_wacz_key(),
            capture,
            directory,
        )
    finally:
        notary.chain.close()
        engine.dispose()


def new_wacz_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(REPLAYWEB_CURVE())


def write_json(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document), "utf-8")
    return path
