"""A draw world for the service tests: the draw service on the ``sessions`` database
(SQLite and PostgreSQL), an embedded chain with the draw registry, the embedded TSA, a
local drand-style beacon served over HTTP, and one clock they all skip ahead with.

The chain's clock is py-evm's ``eth_now`` (each block is stamped with it), moved by the
same :class:`~testkit.clock.SkippingClock` as the service and the beacon, so a test
commits a round 65 s ahead and draws it a moment later, as 70 s had passed.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import eth._utils.headers
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from chain_adapter.embedded import EmbeddedChain
from chain_adapter.rpc_limits import RateLimiter
from credentials.data_integrity.proofs import SUITES
from credentials.issuer import CredentialIssuer, NotarySigner
from evidence.blob_store import BlobNames
from evidence.draw.parts import DrawParts, open_draws
from evidence.draw.router import draw_router
from evidence.key_encryption import LocalKeyEncryptionKey
from evidence.letter_issuer import LetterIssuer
from evidence.letter_pdf.build import LetterPdfs
from evidence.letter_pdf.signing_keys import DocumentSigningKey, issue_certificate
from evidence.local_blob_store import LocalBlobStore
from evidence.principal import DEPOSITOR_HEADER, PrincipalResolver, principal_dependency
from evidence.timestamping import EmbeddedTimestampAuthority, TsaKeyMaterial
from hub_kernel.keystore import MemoryKeyStore
from notary_hub.errors import install_error_handlers
from notary_hub.identity import API_SCOPES, DRAWS_MANAGE, Authenticator
from notary_hub.middleware import JsonGuardMiddleware
from notary_hub.security_headers import SecurityHeadersMiddleware
from notary_hub.static_tokens import StaticTokens
from testkit.clock import SkippingClock
from testkit.drand_beacon import BeaconKey, LocalBeacon, ServedBeacon, serve_beacon
from tests.credentials.status_helpers import make_service
from tests.evidence.deposit_support import new_did_key
from tests.fixtures.notary_world import NotaryWorld

TOKEN = "d" * 40
LEAD = 65  # the round committed is published this long after "now"


@dataclass
class DrawWorld:
    parts: DrawParts
    client: TestClient
    clock: SkippingClock
    beacon: ServedBeacon
    chain: EmbeddedChain
    organiser: str
    blobs: LocalBlobStore
    keystore: MemoryKeyStore

    def headers(self, did: str | None = None, **more: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {TOKEN}", DEPOSITOR_HEADER: did or self.organiser, **more}

    def round_ahead(self, seconds: int = LEAD) -> int:
        """A round published ``seconds`` after now, by the later of the test's clock and
        the chain's (blocks mined faster than one a second run ahead of the wall clock)."""
        local = self.beacon.beacon
        now = max(self.clock(), self.chain.get_block("latest").timestamp)
        return int(now + seconds - local.genesis) // local.period + 2

    def skip_past(self, round_: int) -> None:
        """Skip the clock (the service's, the beacon's, the chain's) past ``round_``."""
        self.clock.advance(max(0.0, self.beacon.beacon.round_time(round_) - self.clock()) + 1)

    def config(self, **changes: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "title": "Apartment lottery 2026",
            "rules": "One entry per household; lowest score wins.",
            "tiers": [{"name": "first", "count": 1}, {"name": "second", "count": 2}],
            "waitingList": 2,
            "entryDeadline": "2026-12-31T12:00:00Z",
            "beacon": {"network": self.beacon.beacon.network, "round": self.round_ahead()},
        }
        body.update(changes)
        return body


def make_app(parts: DrawParts, limiter: RateLimiter | None = None) -> FastAPI:
    """The draw routes under the hub's middleware; ``limiter``: the public budget (ample)."""
    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(JsonGuardMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)  # the page works under the hub's policy
    auth = Authenticator(None, StaticTokens([TOKEN], API_SCOPES))
    resolver = PrincipalResolver({1337: 1337}, dev=True)
    app.include_router(
        draw_router(
            parts,
            principal_dependency(auth.require_scope(DRAWS_MANAGE), resolver),
            limiter=limiter or RateLimiter(1000.0, 1000),
        )
    )
    return app


@pytest.fixture
def world(
    tmp_path: Path,
    sessions: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
    notary_world: NotaryWorld,
) -> Iterator[DrawWorld]:
    clock = SkippingClock()
    monkeypatch.setattr(eth._utils.headers, "eth_now", lambda: int(clock()))
    master = os.urandom(32)
    blobs = LocalBlobStore(
        tmp_path / "blobs", LocalKeyEncryptionKey(master), names=BlobNames(master)
    )
    keystore = MemoryKeyStore()
    tsa = EmbeddedTimestampAuthority(
        TsaKeyMaterial.load_or_create(MemoryKeyStore(), tmp_path / "tsa")
    )
    local = LocalBeacon(
        BeaconKey.from_seed(b"draw tests"), genesis=int(clock()) - 1000, clock=clock
    )
    network = {
        local.network: {
            "chainHash": local.chain_hash.hex(),
            "publicKey": local.key.public_key.hex(),
            "genesis": local.genesis,
            "period": local.period,
        }
    }
    registry = notary_world.deployment.draw_registry
    assert registry is not None
    with serve_beacon(local) as served:
        parts = open_draws(
            sessions=sessions,
            blobs=blobs,
            keystore=keystore,
            directory=tmp_path / "draws",
            registry=registry,
            transactor=notary_world.transactor,
            timestamps=tsa,
            relays=[served.url],
            networks=network,
            relay_timeout=5,
            clock=lambda: datetime.fromtimestamp(clock(), UTC),
            letter_issuer=LetterIssuer(notary_issuer(notary_world, sessions), service="draws"),
            letter_pdfs=document_signer(notary_world, tsa),
        )
        with TestClient(make_app(parts)) as client:
            yield DrawWorld(
                parts, client, clock, served, notary_world.chain, new_did_key(), blobs, keystore
            )


def document_signer(world: NotaryWorld, tsa: EmbeddedTimestampAuthority) -> LetterPdfs:
    """The notary's document-signing key (a P-256 certificate naming its DID) and TSA."""
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = issue_certificate(key, world.notary.did, "Test Notary Office", datetime.now(UTC))
    return LetterPdfs(
        DocumentSigningKey(certificate, key), tsa, "Test Notary Office", "https://hub.example"
    )


def notary_issuer(world: NotaryWorld, sessions: sessionmaker[Session]) -> CredentialIssuer:
    """The notary's issuer, with status lists (a letter carries a revocation entry)."""
    chain = world.chain
    signer = NotarySigner(
        world.notary,
        suite=SUITES["eddsa-rdfc-2022"],
        chain_time=lambda: chain.get_block("latest").timestamp,
        controller_key=bytes(world.node.key),
    )
    return CredentialIssuer(signer, status=make_service(sessions, world))


def csv_list(rows: Sequence[tuple[str, ...]], header: tuple[str, ...] = ("id",)) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def jsonl_list(rows: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(row).encode() + b"\n" for row in rows)


def create(world: DrawWorld, **changes: Any) -> dict[str, Any]:
    created = world.client.post("/draws", json=world.config(**changes), headers=world.headers())
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    return body


def upload(
    world: DrawWorld, draw_id: str, data: bytes, fmt: str = "csv", *, pieces: int = 2
) -> Any:
    """Start an upload, send ``data`` in ``pieces`` chunks, finish; the finish response."""
    return upload_at(world, draw_id, data, fmt, pieces=pieces)[1]


def upload_at(
    world: DrawWorld, draw_id: str, data: bytes, fmt: str = "csv", *, pieces: int = 2
) -> tuple[str, Any]:
    """:func:`upload`, with the upload's location."""
    started = world.client.post(
        f"/draws/{draw_id}/uploads",
        json={"format": fmt, "size": len(data)},
        headers=world.headers(),
    )
    assert started.status_code == 201, started.text
    location = started.headers["Location"]
    step = max(1, -(-len(data) // pieces))
    for start in range(0, len(data), step):
        piece = data[start : start + step]
        offset = world.headers(**{"Upload-Offset": str(start)})
        sent = world.client.patch(location, content=piece, headers=offset)
        assert sent.status_code == 200, sent.text
    return location, world.client.post(f"{location}/finish", headers=world.headers())
