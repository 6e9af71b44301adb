"""The deposit HTTP API, with the hub's error mapping and JSON guard, on SQLite and PostgreSQL.

Bad input must give a clear 4xx and leave the blob store and the deposit table unchanged.
A client that disconnects mid-upload is shown with uvicorn and a raw socket.
"""

from __future__ import annotations

import base64
import hashlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from chain_adapter.anchoring.batcher import Batcher
from chain_adapter.anchoring.queue import AnchorQueue
from evidence.deposit.pipeline import EvidencePipeline
from evidence.deposit.router import content_disposition, evidence_router
from evidence.deposit.service import DepositService
from evidence.local_blob_store import LocalBlobStore
from evidence.principal import DEPOSITOR_HEADER, PrincipalResolver, principal_dependency
from evidence.timestamping import EmbeddedTimestampAuthority, TsaKeyMaterial
from hub_kernel.keystore import MemoryKeyStore
from notary_hub.errors import install_error_handlers
from notary_hub.identity import API_SCOPES, EVIDENCE_DEPOSIT, EVIDENCE_READ, Authenticator
from notary_hub.middleware import JsonGuardMiddleware
from notary_hub.static_tokens import StaticTokens
from testkit.serving import serve_app
from testkit.waiting import wait_until
from tests.evidence.deposit.test_pipeline import Issuer
from tests.evidence.deposit_support import (
    blob_files,
    blobs,
    deposit_count,
    multipart_body,
    new_did_key,
    service,
)
from tests.fixtures.notary_world import NotaryWorld

__all__ = ["blobs", "service"]  # fixtures, used by name below

TOKEN = "t" * 40


def make_app(service: DepositService) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)  # maps EvidenceError, like every HubError
    app.add_middleware(JsonGuardMiddleware)
    auth = Authenticator(None, StaticTokens([TOKEN], API_SCOPES))
    resolver = PrincipalResolver({1337: 1337}, dev=True)
    depositing = principal_dependency(auth.require_scope(EVIDENCE_DEPOSIT), resolver)
    reading = principal_dependency(auth.require_scope(EVIDENCE_READ), resolver)
    app.include_router(evidence_router(service, depositing, reading, feed_bytes=64 << 10))
    return app


@pytest.fixture
def client(service: DepositService) -> Iterator[TestClient]:
    with TestClient(make_app(service)) as test_client:
        yield test_client


def headers(did: str, **more: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}", DEPOSITOR_HEADER: did, **more}


def post_form(
    client: TestClient, did: str, fields: dict[str, str], file: tuple[str, bytes, str], **more: str
) -> httpx.Response:
    body, content_type = multipart_body(fields, file)
    response: httpx.Response = client.post(
        "/evidence/deposits",
        content=body,
        headers=headers(did, **{"Content-Type": content_type}, **more),
    )
    return response


def test_upload_read_back_and_download(client: TestClient, blobs: LocalBlobStore) -> None:
    alice, bob = new_did_key(), new_did_key()
    content = os.urandom(300_000)
    created = post_form(
        client,
        alice,
        {"title": "合同", "tags": "a, b"},
        ('合同 "v2".pdf', content, "application/pdf"),
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert created.headers["Location"] == f"/evidence/deposits/{body['id']}"
    assert body["state"] == "received" and body["size"] == len(content)
    assert body["sha256"] == hashlib.sha256(content).hexdigest()
    assert body["tags"] == ["a", "b"] and body["mediaType"] == "application/pdf"
    assert body["links"]["content"].endswith("/content") and "credential" not in body["links"]

    assert client.get(created.headers["Location"], headers=headers(alice)).json() == body
    letter = client.get(f"/evidence/deposits/{body['id']}/credential", headers=headers(alice))
    assert letter.status_code == 409 and letter.json()["error"] == "not_certified"
    download = client.get(f"/evidence/deposits/{body['id']}/content", headers=headers(alice))
    assert download.status_code == 200 and download.content == content
    assert download.headers["content-type"] == "application/octet-stream"
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["content-length"] == str(len(content))
    sha = base64.b64encode(hashlib.sha256(content).digest()).decode()
    assert download.headers["repr-digest"] == f"sha-256=:{sha}:"
    assert download.headers["content-disposition"] == content_disposition('合同 "v2".pdf', "")
    assert 'filename="__ _v2_.pdf"' in download.headers["content-disposition"]

    for path in ("", "/content", "/credential"):
        stranger = client.get(f"/evidence/deposits/{body['id']}{path}", headers=headers(bob))
        assert stranger.status_code == 403 and stranger.json()["error"] == "forbidden"
    missing = client.get("/evidence/deposits/nope", headers=headers(alice))
    assert missing.status_code == 404 and missing.json()["error"] == "deposit_not_found"


def test_who_may_call(client: TestClient, service: DepositService) -> None:
    body = {"sha256": "00" * 32}
    assert client.post("/evidence/deposits", json=body).status_code == 401
    wrong = {"Authorization": "Bearer " + "x" * 40, DEPOSITOR_HEADER: new_did_key()}
    assert client.post("/evidence/deposits", json=body, headers=wrong).status_code == 401
    no_user = client.post(
        "/evidence/deposits", json=body, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert no_user.status_code == 400 and no_user.json()["error"] == "invalid_depositor"
    for did in ("not-a-did", "did:web:example.com", "did:ethr:0x5:0x" + "ab" * 20, "did:key:zBAD"):
        refused = client.post("/evidence/deposits", json=body, headers=headers(did))
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_depositor", did
    ethr = "did:ethr:0x539:0x" + "ab" * 20
    assert client.post("/evidence/deposits", json=body, headers=headers(ethr)).status_code == 201


def test_digest_deposits_and_idempotent_retries(client: TestClient) -> None:
    alice = new_did_key()
    digest = hashlib.sha256(b"elsewhere").hexdigest()
    first = client.post(
        "/evidence/deposits",
        json={"sha256": digest, "title": "T", "fileName": "a.pdf"},
        headers=headers(alice, **{"Idempotency-Key": "retry-1"}),
    )
    assert first.status_code == 201 and first.json()["contentStored"] is False
    again = client.post(
        "/evidence/deposits",
        json={"sha256": digest, "title": "T", "fileName": "a.pdf"},
        headers=headers(alice, **{"Idempotency-Key": "retry-1"}),
    )
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    content = client.get(f"/evidence/deposits/{first.json()['id']}/content", headers=headers(alice))
    assert content.status_code == 409 and content.json()["error"] == "content_not_stored"
    upload = os.urandom(1000)
    one = post_form(client, alice, {}, ("x.bin", upload, "x/y"), **{"Idempotency-Key": "up"})
    two = post_form(client, alice, {}, ("x.bin", upload, "x/y"), **{"Idempotency-Key": "up"})
    assert one.status_code == two.status_code == 201 and one.json()["id"] == two.json()["id"]


def test_bad_input_is_a_clear_4xx_and_stores_nothing(
    client: TestClient,
    service: DepositService,
    blobs: LocalBlobStore,
    sessions: sessionmaker[Session],
) -> None:
    alice = new_did_key()
    before = (deposit_count(sessions), blob_files(blobs))
    content = b"the real content"
    truncated, content_type = multipart_body({"title": "x"}, ("a.pdf", content, "x/y"))
    oversize, oversize_type = multipart_body({}, ("big.bin", b"x" * ((1 << 20) + 1), "x/y"))
    cases: list[tuple[dict[str, Any], int, str]] = [
        (
            {"content": truncated[:-20], "headers": {"Content-Type": content_type}},
            400,
            "truncated_upload",
        ),
        (
            {"content": oversize, "headers": {"Content-Type": oversize_type}},
            413,
            "upload_too_large",
        ),
        ({"json": {"md5": hashlib.md5(b"x").hexdigest()}}, 400, "unsupported_hash_algorithm"),
        ({"json": {"digests": {"sha-512": "00"}}}, 400, "unsupported_hash_algorithm"),
        ({"json": {"sha256": "abc"}}, 400, "invalid_deposit"),
        ({"json": ["not", "an", "object"]}, 400, "invalid_deposit"),
        (
            {"content": b"{", "headers": {"Content-Type": "application/json"}},
            400,
            "invalid_deposit",
        ),
        (
            {"content": b"raw", "headers": {"Content-Type": "application/pdf"}},
            400,
            "invalid_deposit",
        ),
    ]
    for fields, name in (
        ({"sha256": hashlib.sha256(b"other").hexdigest()}, "a.pdf"),
        ({}, "../../etc/passwd"),
        ({}, "..\\windows\\evil.exe"),
        ({}, "bidi\u202etxt.exe"),
        ({}, "tab\there.pdf"),
        ({"fileName": "a/b"}, "a.pdf"),
    ):
        body, ctype = multipart_body(fields, (name, content, "x/y"))
        expected = (422, "digest_mismatch") if "sha256" in fields else (400, "invalid_file_name")
        cases.append(({"content": body, "headers": {"Content-Type": ctype}}, *expected))
    for request, status, code in cases:
        extra = request.pop("headers", {})
        response = client.post("/evidence/deposits", headers=headers(alice, **extra), **request)
        assert (response.status_code, response.json()["error"]) == (status, code), request
        assert response.json()["message"]
        assert (deposit_count(sessions), blob_files(blobs)) == before


def test_a_client_that_goes_away_mid_upload_leaves_nothing(
    service: DepositService, blobs: LocalBlobStore, sessions: sessionmaker[Session]
) -> None:
    before = (deposit_count(sessions), blob_files(blobs))
    body, content_type = multipart_body({}, ("a.bin", os.urandom(400_000), "x/y"))
    with serve_app(make_app(service)) as served:
        head = (
            f"POST /evidence/deposits HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {TOKEN}\r\n{DEPOSITOR_HEADER}: {new_did_key()}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", served.port)) as conn:
            conn.sendall(head + body[: len(body) // 2])
            wait_until(
                lambda: any(p.suffix == ".tmp" for p in blob_files(blobs)),
                timeout=10,
                message="the server has no temporary upload",
            )
        wait_until(
            lambda: (deposit_count(sessions), blob_files(blobs)) == before,
            timeout=10,
            message=lambda: f"left behind: {blob_files(blobs)}",
        )


def test_a_deposit_through_http_comes_back_as_a_custody_letter(
    client: TestClient,
    service: DepositService,
    sessions: sessionmaker[Session],
    notary_world: NotaryWorld,
    tmp_path: Path,
) -> None:
    alice = new_did_key()
    created = post_form(
        client, alice, {"title": "contract"}, ("c.pdf", b"%PDF-1.7", "application/pdf")
    )
    deposit = created.json()
    queue = AnchorQueue(sessions)
    tsa = EmbeddedTimestampAuthority(
        TsaKeyMaterial.load_or_create(MemoryKeyStore(), tmp_path / "tsa")
    )
    stages = EvidencePipeline(sessions, tsa, queue, Issuer(notary_world))
    stages.run_once()
    Batcher(
        sessions,
        queue,
        notary_world.transactor,
        notary_world.deployment.anchor_registry,
        max_items=10,
        interval=1,
    ).run_once()
    stages.run_once()
    shown = client.get(created.headers["Location"], headers=headers(alice)).json()
    assert shown["state"] == "certified" and shown["links"]["credential"]
    letter = client.get(shown["links"]["credential"], headers=headers(alice))
    assert letter.status_code == 200 and letter.headers["content-type"] == "application/vc"
    assert letter.json()["credentialSubject"]["depositId"] == deposit["id"]
    assert letter.json()["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
