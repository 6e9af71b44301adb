"""The Universal Resolver binding over HTTP: a tiny FastAPI app mounting ``resolver_router``.

did:ethr resolves on the embedded chain (chain walk, and the index on both
databases), did:key without any chain; every status code and media type of the
W3C DID Resolution HTTP(S) binding is exercised, then the pure parts (content
negotiation, ``versionId`` / ``versionTime``) on their own.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from did_registry.did_key import DidKeyResolver
from did_registry.dispatch import DispatchingResolver
from did_registry.errors import InvalidDid, InvalidOptions, MethodNotSupported
from did_registry.errors import RepresentationNotSupported as NotAcceptable
from did_registry.ethr.chain_walker import ChainWalkerSource
from did_registry.ethr.index_source import IndexSource
from did_registry.ethr.indexer import RegistryIndexer
from did_registry.ethr.resolver import EthrResolver
from did_registry.resolution import EventSource
from did_registry.router import resolver_router
from did_registry.universal_resolver import (
    DID_JSON,
    DID_LD_JSON,
    DID_RESOLUTION,
    LD_JSON_RESOLUTION,
    negotiate,
    parse_version_id,
    parse_version_time,
)
from tests.did_registry.registry_world import (
    EMBEDDED_CHAIN_ID,
    RegistryWorld,
    new_identities,
    open_embedded,
)

ZERO = "0x" + "00" * 20
DID_KEY = "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"


def ethr(address: str) -> str:
    return f"did:ethr:{hex(EMBEDDED_CHAIN_ID)}:{address}"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryWorld]:
    """Identity 0 has a service; identity 1 deactivated itself; identity 2 is untouched."""
    identities = new_identities(3)
    chain = open_embedded(tmp_path_factory.mktemp("chain"), identities)
    world = RegistryWorld.deploy(chain, identities)
    world.set_attribute(identities[0], "did/svc/HubService", b"https://hub.example/1")
    world.set_attribute(identities[1], "did/svc/HubService", b"https://hub.example/2")
    world.change_owner(identities[1], ZERO)
    yield world
    chain.close()


@pytest.fixture(scope="module")
def identities(world: RegistryWorld) -> list[LocalAccount]:
    return world.identities


def make_client(source: EventSource) -> TestClient:
    resolver = DispatchingResolver(
        {"ethr": EthrResolver({EMBEDDED_CHAIN_ID: source}), "key": DidKeyResolver()}
    )
    app = FastAPI()
    app.include_router(resolver_router(resolver))
    return TestClient(app)


@pytest.fixture(scope="module")
def client(world: RegistryWorld) -> TestClient:
    return make_client(ChainWalkerSource(world.chain, world.registry.address))


def get(
    client: TestClient, did: str, accept: str | None = None, **query: str
) -> tuple[int, str, Any]:
    headers = {} if accept is None else {"Accept": accept}
    response = client.get(f"/1.0/identifiers/{did}", params=query, headers=headers)
    return response.status_code, response.headers["content-type"], response.json()


def test_the_whole_result_by_default(client: TestClient, identities: list[LocalAccount]) -> None:
    did = ethr(identities[0].address)
    for accept in (None, "*/*", DID_RESOLUTION, "application/*", "text/html, */*;q=0.1"):
        status, media_type, body = get(client, did, accept)
        assert (status, media_type) == (200, DID_RESOLUTION), accept
        assert set(body) == {"didDocument", "didResolutionMetadata", "didDocumentMetadata"}
        assert body["didDocument"]["id"] == did
        assert body["didDocument"]["service"][0]["serviceEndpoint"] == "https://hub.example/1"
        assert body["didResolutionMetadata"]["contentType"] == DID_LD_JSON
        assert "versionId" in body["didDocumentMetadata"]


def test_the_result_as_json_ld_with_the_resolution_profile(
    client: TestClient, identities: list[LocalAccount]
) -> None:
    status, media_type, body = get(client, ethr(identities[0].address), LD_JSON_RESOLUTION)
    assert (status, media_type) == (200, LD_JSON_RESOLUTION)
    assert body["didDocument"]["id"] == ethr(identities[0].address)


def test_the_document_alone(client: TestClient, identities: list[LocalAccount]) -> None:
    did = ethr(identities[0].address)
    status, media_type, body = get(client, did, DID_LD_JSON)
    assert (status, media_type) == (200, DID_LD_JSON)
    assert body["id"] == did and "@context" in body and "didDocument" not in body
    status, media_type, body = get(client, did, DID_JSON)
    assert (status, media_type) == (200, DID_JSON)
    assert body["id"] == did and "@context" not in body
    # The higher weight wins.
    accept = f"{DID_LD_JSON};q=0.4, {DID_RESOLUTION};q=0.9"
    assert get(client, did, accept)[1] == DID_RESOLUTION
    assert get(client, DID_KEY, DID_LD_JSON)[2]["id"] == DID_KEY


def test_did_key_needs_no_chain(client: TestClient) -> None:
    status, media_type, body = get(client, DID_KEY)
    assert (status, media_type) == (200, DID_RESOLUTION)
    assert body["didDocument"]["verificationMethod"][0]["type"] == "Multikey"
    assert len(body["didDocument"]["keyAgreement"]) == 1


def test_versions(client: TestClient, world: RegistryWorld, identities: list[LocalAccount]) -> None:
    did = ethr(identities[0].address)
    latest = get(client, did)[2]
    changed = int(latest["didDocumentMetadata"]["versionId"])
    before = get(client, did, versionId=str(changed - 1))[2]
    assert "service" not in before["didDocument"]
    assert before["didDocumentMetadata"]["nextVersionId"] == str(changed)
    moment = world.chain.get_block(changed).timestamp
    from_time = get(client, did, versionTime=f"{_iso(moment)}Z")[2]
    assert from_time["didDocument"] == latest["didDocument"]
    offset = get(client, did, versionTime=f"{_iso(moment + 3600)}+01:00")[2]
    assert offset == from_time


def _iso(timestamp: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%S")


@pytest.mark.parametrize(
    ("path", "query", "accept", "status", "code"),
    [
        ("did:ethr:0x539:0x1234", {}, None, 400, "invalidDid"),
        ("did:ethr:0x539:not-an-address", {}, DID_LD_JSON, 400, "invalidDid"),
        ("did:key:zzzz", {}, None, 400, "invalidDid"),
        ("did:key:m7QEJ", {}, None, 400, "invalidDid"),
        ("nonsense", {}, None, 400, "invalidDid"),
        ("did:ETHR:0x539:" + "ab" * 20, {}, None, 400, "invalidDid"),
        ("did:web:example.com", {}, None, 501, "methodNotSupported"),
        ("did:ethr:0x99:0x" + "ab" * 20, {}, None, 501, "unknownNetwork"),
        ("did:ethr:0x539:0x" + "ab" * 20, {"versionId": "99999999"}, None, 404, "notFound"),
        ("did:ethr:0x539:0x" + "ab" * 20, {"versionId": "abc"}, None, 400, "invalidOptions"),
        ("did:ethr:0x539:0x" + "ab" * 20, {"versionId": "-1"}, None, 400, "invalidOptions"),
        (
            "did:ethr:0x539:0x" + "ab" * 20,
            {"versionTime": "yesterday"},
            None,
            400,
            "invalidOptions",
        ),
        (
            "did:ethr:0x539:0x" + "ab" * 20,
            {"versionTime": "2024-02-30T00:00:00Z"},
            None,
            400,
            "invalidOptions",
        ),
        (
            "did:ethr:0x539:0x" + "ab" * 20,
            {"versionTime": "1969-01-01T00:00:00Z"},
            None,
            404,
            "notFound",
        ),
        (
            "did:ethr:0x539:0x" + "ab" * 20,
            {},
            "application/did+cbor",
            406,
            "representationNotSupported",
        ),
        (DID_KEY, {}, "application/did+cbor", 406, "representationNotSupported"),
    ],
)
def test_errors_have_their_status_and_a_result_body(
    client: TestClient, path: str, query: dict[str, str], accept: str | None, status: int, code: str
) -> None:
    got, media_type, body = get(client, path, accept, **query)
    assert (got, media_type) == (status, DID_RESOLUTION)
    assert body["didDocument"] is None
    assert body["didResolutionMetadata"]["error"] == code
    assert body["didResolutionMetadata"]["errorMessage"]


def test_both_versions_at_once_are_invalid_options(client: TestClient) -> None:
    did = "did:ethr:0x539:0x" + "ab" * 20
    assert get(client, did, versionId="1", versionTime="2024-01-01T00:00:00Z")[0] == 400
    response = client.get(f"/1.0/identifiers/{did}?versionId=1&versionId=2")
    assert response.status_code == 400
    assert response.json()["didResolutionMetadata"]["error"] == "invalidOptions"


def test_a_deactivated_did_is_gone_but_still_described(
    client: TestClient, identities: list[LocalAccount]
) -> None:
    did = ethr(identities[1].address)
    status, media_type, body = get(client, did)
    assert (status, media_type) == (410, DID_RESOLUTION)
    assert body["didDocumentMetadata"]["deactivated"] is True
    assert body["didDocument"]["id"] == did
    status, media_type, document = get(client, did, DID_LD_JSON)
    assert (status, media_type) == (410, DID_LD_JSON)
    assert document == body["didDocument"]


def test_the_index_path_answers_the_same(
    world: RegistryWorld, sessions: sessionmaker[Session], identities: list[LocalAccount]
) -> None:
    indexer = RegistryIndexer(world.chain, world.registry.address, sessions, confirmations=0)
    indexer.catch_up()
    source = IndexSource(
        sessions, EMBEDDED_CHAIN_ID, world.registry.address, indexer.head, chain=world.chain
    )
    try:
        by_index = make_client(source)
        by_walk = make_client(ChainWalkerSource(world.chain, world.registry.address))
        for who in identities:
            for accept in (None, DID_LD_JSON):
                answers = [get(c, ethr(who.address), accept) for c in (by_index, by_walk)]
                assert answers[0][:2] == answers[1][:2]
                assert json.dumps(answers[0][2], sort_keys=True) == json.dumps(
                    answers[1][2], sort_keys=True
                )
    finally:
        source.close()


# -- the pure parts ------------------------------------------------------------------------------


def test_negotiation() -> None:
    assert negotiate(None).document is None
    assert negotiate("application/did+ld+json").document == DID_LD_JSON
    assert negotiate("application/did+json;q=0.9, application/did+ld+json;q=0.2").document == (
        DID_JSON
    )
    assert negotiate(
        'application/ld+json; profile="https://w3id.org/did-resolution"'
    ).media_type == (LD_JSON_RESOLUTION)
    assert negotiate("application/ld+json").media_type == DID_RESOLUTION
    assert negotiate("application/did+ld+json;q=0").document is None
    assert negotiate("application/did+ld+json;q=zero").document is None
    with pytest.raises(NotAcceptable):
        negotiate("application/did+cbor")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1970-01-01T00:00:00Z", 0),
        ("2024-01-01T00:00:00Z", 1704067200),
        ("2024-01-01T00:00:00.999Z", 1704067200),
        ("2024-01-01T00:00:00", 1704067200),
        ("2024-01-01T01:30:00+01:30", 1704067200),
        ("2023-12-31T19:00:00-05:00", 1704067200),
        ("2024-01-01t00:00:00z", 1704067200),
    ],
)
def test_version_times(text: str, seconds: int) -> None:
    assert parse_version_time(text) == seconds


@pytest.mark.parametrize(
    "text",
    [
        "",
        "2024-01-01",
        "2024-01-01 00:00:00Z",
        "2024-13-01T00:00:00Z",
        "2024-01-01T24:00:00Z",
        "2024-01-01T00:00:60Z",
        "2024-01-01T00:00:00+25:00",
        "0000-01-01T00:00:00Z",
        "١٩٧٠-01-01T00:00:00Z",
    ],
)
def test_bad_version_times(text: str) -> None:
    with pytest.raises(InvalidOptions):
        parse_version_time(text)


def test_version_ids() -> None:
    assert parse_version_id("0") == 0
    assert parse_version_id("123") == 123
    for bad in ("", "-1", "1.5", "0x10", "١٢", "9" * 20, str(2**63)):
        with pytest.raises(InvalidOptions):
            parse_version_id(bad)


def test_dispatch_names_only_its_methods() -> None:
    resolver = DispatchingResolver({"key": DidKeyResolver()})
    assert resolver.methods == ("key",)
    with pytest.raises(MethodNotSupported):
        resolver.resolve("did:ethr:0x" + "ab" * 20)
    with pytest.raises(InvalidDid):
        resolver.resolve("did:key")
    with pytest.raises(ValueError):
        DispatchingResolver({"Key": DidKeyResolver()})


def test_the_app_is_mountable_under_a_prefix() -> None:
    app = FastAPI()
    app.include_router(
        resolver_router(DispatchingResolver({"key": DidKeyResolver()})), prefix="/resolver"
    )
    response = TestClient(app).get(f"/resolver/1.0/identifiers/{DID_KEY}")
    assert response.status_code == 200 and response.json()["didDocument"]["id"] == DID_KEY
