"""The pure did:ethr document builder, event by event (the interop tests check it against npm)."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from eth_account import Account
from eth_keys.datatypes import PrivateKey

from did_registry.errors import NotFound, RepresentationNotSupported
from did_registry.ethr.did import EthrDid, parse_ethr_did
from did_registry.ethr.document import CONTEXT, build_resolution, iso_time
from did_registry.ethr.events import (
    AttributeChanged,
    DelegateChanged,
    EventPosition,
    OwnerChanged,
    RegistryEvent,
)
from did_registry.ethr.values import base58
from did_registry.resolution import Head, ResolutionResult

NETWORKS: dict[str | int, int] = {1337: 1337}
PRIVATE = "0x" + "4c" * 32
IDENTITY = Account.from_key(PRIVATE).address
PUBLIC_KEY = PrivateKey(bytes.fromhex("4c" * 32)).public_key.to_compressed_bytes()
DID = f"did:ethr:0x539:{IDENTITY}"
KEY_DID = f"did:ethr:0x539:0x{PUBLIC_KEY.hex()}"
OTHER = Account.from_key("0x" + "5d" * 32).address
THIRD = Account.from_key("0x" + "6e" * 32).address
ZERO = "0x" + "00" * 20
T0 = 1_700_000_000  # block b has timestamp T0 + 10 * b
NOW = T0 + 10_000
LONG = NOW + 86_400


def at(block: int, index: int = 0) -> EventPosition:
    return EventPosition(block, index, "0x" + f"{block:064x}", T0 + 10 * block)


def b32(text: str | bytes) -> bytes:
    raw = text.encode() if isinstance(text, str) else text
    return raw.ljust(32, b"\x00")


def owner(block: int, new_owner: str, identity: str = IDENTITY) -> OwnerChanged:
    return OwnerChanged(identity, new_owner, 0, at(block))


def delegate(
    block: int, kind: str | bytes, who: str, valid_to: int = LONG, index: int = 0
) -> DelegateChanged:
    return DelegateChanged(IDENTITY, b32(kind), who, valid_to, 0, at(block, index))


def attribute(
    block: int, name: str | bytes, value: bytes, valid_to: int = LONG, index: int = 0
) -> AttributeChanged:
    return AttributeChanged(IDENTITY, b32(name), value, valid_to, 0, at(block, index))


def resolve(
    events: list[RegistryEvent],
    *,
    did: str = DID,
    version: int | None = None,
    now: int = NOW,
    accept: str = "application/did-resolution",
) -> ResolutionResult:
    parsed: EthrDid = parse_ethr_did(did, networks=NETWORKS)
    head = None if version is None else Head(version, T0 + 10 * version)
    return build_resolution(
        parsed, events, at=head, now=head.timestamp if head else now, accept=accept
    )


def document(events: list[RegistryEvent], **kwargs: Any) -> dict[str, Any]:
    result = resolve(events, **kwargs)
    assert result.did_document is not None
    return result.did_document


def ids(doc: dict[str, Any], section: str = "verificationMethod") -> list[str]:
    return [
        (entry["id"] if isinstance(entry, dict) else entry).split("#")[1] for entry in doc[section]
    ]


def method(doc: dict[str, Any], fragment: str) -> dict[str, Any]:
    found: dict[str, Any]
    (found,) = [m for m in doc["verificationMethod"] if m["id"] == f"{doc['id']}#{fragment}"]
    return found


# -- the default document, representations --------------------------------------------------


def test_no_events_is_the_default_document() -> None:
    result = resolve([])
    controller = f"{DID}#controller"
    assert result.to_json() == {
        "didDocument": {
            "id": DID,
            "verificationMethod": [
                {
                    "id": controller,
                    "type": "EcdsaSecp256k1RecoveryMethod2020",
                    "controller": DID,
                    "blockchainAccountId": f"eip155:1337:{IDENTITY}",
                }
            ],
            "authentication": [controller],
            "assertionMethod": [controller],
            "@context": CONTEXT,
        },
        "didResolutionMetadata": {"contentType": "application/did+ld+json"},
        "didDocumentMetadata": {},
    }


def test_public_key_form_adds_the_controller_key() -> None:
    doc = document([], did=KEY_DID)
    assert ids(doc) == ["controller", "controllerKey"]
    assert method(doc, "controllerKey") == {
        "id": f"{KEY_DID}#controllerKey",
        "type": "EcdsaSecp256k1VerificationKey2019",
        "controller": KEY_DID,
        "publicKeyHex": PUBLIC_KEY.hex(),
    }
    assert ids(doc, "authentication") == ids(doc, "assertionMethod") == ids(doc)


def test_representations() -> None:
    plain = resolve([], accept="application/did+json")
    assert plain.did_resolution_metadata == {"contentType": "application/did+json"}
    assert plain.did_document is not None and "@context" not in plain.did_document
    ld = resolve([], accept="application/did+ld+json")
    assert ld.did_resolution_metadata == {"contentType": "application/did+ld+json"}
    with pytest.raises(RepresentationNotSupported):
        resolve([], accept="application/cbor")


# -- owners -----------------------------------------------------------------------------------


def test_owner_change_moves_the_controller_and_hides_the_controller_key() -> None:
    doc = document([OwnerChanged(IDENTITY, OTHER, 0, at(3))], did=KEY_DID)
    assert ids(doc) == ["controller"]
    assert method(doc, "controller")["blockchainAccountId"] == f"eip155:1337:{OTHER}"
    back = document([owner(3, OTHER), owner(4, IDENTITY)], did=KEY_DID)
    assert ids(back) == ["controller", "controllerKey"]


def test_deactivation_empties_the_document_and_ends_the_history() -> None:
    events: list[RegistryEvent] = [
        attribute(2, "did/svc/Hub", b"https://hub"),
        owner(3, ZERO),
        attribute(5, "did/svc/Late", b"https://late"),  # after deactivation: ignored
    ]
    result = resolve(events)
    assert result.did_document == {
        "id": DID,
        "verificationMethod": [],
        "authentication": [],
        "assertionMethod": [],
        "@context": CONTEXT,
    }
    assert result.did_document_metadata == {
        "deactivated": True,
        "versionId": "3",
        "updated": iso_time(T0 + 30),
    }
    # Resolved before the deactivation, the later blocks are only the next version.
    before = resolve(events, version=2)
    assert before.did_document_metadata == {
        "versionId": "2",
        "updated": iso_time(T0 + 20),
        "nextVersionId": "3",
        "nextUpdate": iso_time(T0 + 30),
    }


# -- delegates --------------------------------------------------------------------------------


def test_delegates_and_their_relationships() -> None:
    doc = document(
        [delegate(2, "veriKey", OTHER), delegate(3, "sigAuth", THIRD), delegate(4, "other", OTHER)]
    )
    assert ids(doc) == ["controller", "delegate-1", "delegate-2"]  # "other" counts, not shown
    assert method(doc, "delegate-2") == {
        "id": f"{DID}#delegate-2",
        "type": "EcdsaSecp256k1RecoveryMethod2020",
        "controller": DID,
        "blockchainAccountId": f"eip155:1337:{THIRD}",
    }
    assert ids(doc, "authentication") == ["controller", "delegate-2"]
    assert ids(doc, "assertionMethod") == ["controller", "delegate-1", "delegate-2"]


def test_revoked_and_expired_entries_keep_their_numbers() -> None:
    doc = document(
        [
            delegate(2, "veriKey", OTHER),
            delegate(3, "veriKey", THIRD, valid_to=NOW - 1),  # expired: counted
            delegate(4, "sigAuth", THIRD),
            delegate(5, "veriKey", OTHER, valid_to=T0 + 50),  # revocation of delegate-1
        ]
    )
    assert ids(doc) == ["controller", "delegate-3"]
    assert ids(doc, "authentication") == ["controller", "delegate-3"]


def test_expiry_is_inclusive_of_now() -> None:
    assert ids(document([delegate(2, "veriKey", OTHER, valid_to=NOW)])) == [
        "controller",
        "delegate-1",
    ]
    assert ids(document([delegate(2, "veriKey", OTHER, valid_to=NOW - 1)])) == ["controller"]


def test_a_renewed_delegate_keeps_its_place_with_a_new_id() -> None:
    doc = document(
        [
            delegate(2, "veriKey", OTHER),
            delegate(3, "veriKey", THIRD),
            delegate(4, "veriKey", OTHER, valid_to=LONG + 1),
        ]
    )
    assert ids(doc) == ["controller", "delegate-3", "delegate-2"]


def test_revoked_then_readded_moves_to_the_end() -> None:
    doc = document(
        [
            delegate(2, "veriKey", OTHER),
            delegate(3, "veriKey", THIRD),
            delegate(4, "veriKey", OTHER, valid_to=0),
            delegate(5, "veriKey", OTHER),
        ]
    )
    assert ids(doc) == ["controller", "delegate-2", "delegate-4"]


# -- keys as attributes ---------------------------------------------------------------------

SECP = bytes.fromhex("02" + "11" * 32)
ED = bytes(range(32))
ED_B64 = base64.b64encode(ED).decode()
ED25519 = "Ed25519VerificationKey2018"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        (
            "did/pub/Secp256k1/veriKey/hex",
            SECP,
            {"type": "EcdsaSecp256k1VerificationKey2019", "publicKeyHex": SECP.hex()},
        ),
        (
            "did/pub/Secp256k1/sigAuth/hex",
            SECP,
            {"type": "EcdsaSecp256k1VerificationKey2019", "publicKeyHex": SECP.hex()},
        ),
        (
            "did/pub/Ed25519/veriKey/base64",
            ED,
            {"type": "Ed25519VerificationKey2018", "publicKeyBase64": ED_B64},
        ),
        (
            "did/pub/Ed25519/sigAuth/base58",
            ED,
            {"type": "Ed25519VerificationKey2018", "publicKeyBase58": base58(ED)},
        ),
        (
            "did/pub/X25519/enc/base64",
            ED,
            {"type": "X25519KeyAgreementKey2019", "publicKeyBase64": ED_B64},
        ),
        (
            "did/pub/RSA/veriKey/pem",
            b"-----BEGIN PUBLIC KEY-----",
            {"type": "RSAVerificationKey2018", "publicKeyPem": "-----BEGIN PUBLIC KEY-----"},
        ),
        ("did/pub/Ed25519/veriKey", ED, {"type": ED25519, "publicKeyHex": ED.hex()}),
        ("did/pub/Ed25519", ED, {"type": "Ed25519", "publicKeyHex": ED.hex()}),
        ("did/pub/Ed25519/enc/hex", ED, {"type": "Ed25519", "publicKeyHex": ED.hex()}),
        ("did/pub/Ed25519/veriKey/jwk", ED, {"type": ED25519, "value": ED.hex()}),
        # Object.prototype lookups in the reference: a function is dropped, __proto__ is {}.
        ("did/pub/to/String", ED, {"publicKeyHex": ED.hex()}),
        ("did/pub/__/proto__", ED, {"type": {}, "publicKeyHex": ED.hex()}),
        ("did/pub/Ed25519/constructor", ED, {"type": "Ed25519", "publicKeyHex": ED.hex()}),
    ],
)  # fmt: skip
def test_key_attributes(name: str, value: bytes, expected: dict[str, Any]) -> None:
    doc = document([attribute(2, name, value)])
    ref = f"{DID}#delegate-1"
    assert method(doc, "delegate-1") == {"id": ref, "controller": DID, **expected}
    kind = name.split("/")[3] if name.count("/") >= 3 else None
    assert (ref in doc["authentication"]) == (kind == "sigAuth")
    assert (ref in doc.get("keyAgreement", [])) == (kind == "enc")
    assert (ref in doc["assertionMethod"]) == (kind != "enc")


def test_base58_keeps_leading_zero_bytes() -> None:
    assert base58(b"") == ""
    assert base58(b"\x00\x00\xff") == "115Q"
    assert base58(b"hello world") == "StV1DL6CwTryKyV"


def test_pem_that_is_not_utf8_is_counted_but_not_shown() -> None:
    doc = document(
        [attribute(2, "did/pub/RSA/veriKey/pem", b"\xff\xfe"), attribute(3, "did/pub/Ed25519", ED)]
    )
    assert ids(doc) == ["controller", "delegate-2"]


def test_revoked_key_agreement_key_stays_listed_in_key_agreement() -> None:
    # The reference's revocation clears every table but keyAgreement's.
    doc = document(
        [
            attribute(2, "did/pub/X25519/enc/base64", ED),
            attribute(3, "did/pub/X25519/enc/base64", ED, 0),
        ]
    )
    assert ids(doc) == ["controller"]
    assert doc["keyAgreement"] == [f"{DID}#delegate-1"]


def test_attribute_revocation_matches_name_and_value() -> None:
    doc = document(
        [
            attribute(2, "did/pub/Ed25519/veriKey/hex", ED),
            attribute(3, "did/pub/Ed25519/veriKey/hex", SECP, 0),  # another value: no effect
            attribute(4, "did/pub/Ed25519/veriKey/base64", ED, 0),  # another name: no effect
        ]
    )
    assert ids(doc) == ["controller", "delegate-1"]


def test_names_are_utf8_with_trailing_nuls_stripped() -> None:
    doc = document(
        [
            attribute(2, b"did/svc/A\x00B", b"x"),  # interior NUL: no match, not counted
            attribute(3, b"\xffdid/svc/Bad", b"x"),  # not UTF-8: dropped like the reference
            attribute(4, "did/svc/Hub", b"https://hub"),
            attribute(5, "did/svc/Hub\n", b"x"),  # JS `$` does not match before a newline
            attribute(6, "did/svc/Hüb", b"x"),  # JS \w is ASCII
            attribute(7, "other/attribute", b"x"),
        ]
    )
    assert doc["service"] == [
        {"id": f"{DID}#service-1", "type": "Hub", "serviceEndpoint": "https://hub"}
    ]
    # The dropped event is no version either; the others are.
    assert resolve([attribute(3, b"\xffdid/svc/Bad", b"x")]).did_document_metadata == {}


def test_delegate_type_that_is_not_utf8_is_dropped() -> None:
    events: list[RegistryEvent] = [
        delegate(2, b"\xc0\xafveriKey", OTHER),
        delegate(3, "veriKey", OTHER),
    ]
    assert ids(document(events)) == ["controller", "delegate-1"]


# -- services ---------------------------------------------------------------------------------


def endpoint(value: bytes) -> Any:
    doc = document([attribute(2, "did/svc/Svc", value)])
    return doc["service"][0]["serviceEndpoint"]


def test_service_endpoints_as_json_parse_sees_them() -> None:
    assert endpoint(b"https://hub.example/x") == "https://hub.example/x"
    assert endpoint(b'{"uri":"https://x","accept":["didcomm/v2"]}') == {
        "uri": "https://x",
        "accept": ["didcomm/v2"],
    }
    assert endpoint(b' ["a", 1.5, true, null] ') == ["a", 1.5, True, None]
    assert endpoint(b'"quoted"') == "quoted"
    assert endpoint(b"12345678901234567890") == 12345678901234567000  # an IEEE double
    assert endpoint(b"1e400") is None  # Infinity, which JSON.stringify writes as null
    assert endpoint(b"-0") == 0
    assert endpoint(b"NaN") == "NaN"  # not JSON: kept as text
    assert endpoint(b"{bad json") == "{bad json"
    assert endpoint(b"") == ""
    assert endpoint(b"\xef\xbb\xbf1") == "\ufeff1"  # a BOM is not JSON whitespace
    ordered = endpoint(b'{"b":1,"2":2,"1":3,"b":4}')
    assert list(ordered.items()) == [("1", 3), ("2", 2), ("b", 4)]  # JS property order


def test_service_numbering_and_revocation() -> None:
    doc = document(
        [
            attribute(2, "did/svc/A", b"a"),
            attribute(3, "did/svc/Bin", b"\xff"),  # not UTF-8: counted, not shown
            attribute(4, "did/svc/B", b"b"),
            attribute(5, "did/svc/A", b"a", 0),
            attribute(6, "did/svc/C", b"c", NOW - 1),  # expired
            attribute(7, "did/svc/D", b"d"),
        ]
    )
    assert [(s["id"].split("#")[1], s["type"]) for s in doc["service"]] == [
        ("service-3", "B"),
        ("service-6", "D"),
    ]


# -- versions ---------------------------------------------------------------------------------


def test_versions_and_next_versions() -> None:
    events: list[RegistryEvent] = [
        delegate(2, "veriKey", OTHER),
        delegate(4, "sigAuth", THIRD, index=0),
        attribute(4, "did/svc/Hub", b"h", index=1),
        delegate(7, "veriKey", OTHER, valid_to=T0 + 70),
    ]
    latest = resolve(events)
    assert latest.did_document_metadata == {"versionId": "7", "updated": iso_time(T0 + 70)}
    v5 = resolve(events, version=5)
    assert v5.did_document_metadata == {
        "versionId": "4",
        "updated": iso_time(T0 + 40),
        "nextVersionId": "7",
        "nextUpdate": iso_time(T0 + 70),
    }
    assert v5.did_document is not None
    assert ids(v5.did_document) == ["controller", "delegate-1", "delegate-2"]
    genesis = resolve(events, version=0)
    assert genesis.did_document_metadata == {"nextVersionId": "2", "nextUpdate": iso_time(T0 + 20)}


def test_a_version_judges_expiry_at_its_block_time() -> None:
    events: list[RegistryEvent] = [delegate(2, "veriKey", OTHER, valid_to=T0 + 50)]
    assert ids(document(events, version=5)) == ["controller", "delegate-1"]  # T0+50 >= T0+50
    assert ids(document(events, version=6)) == ["controller"]
    assert ids(document(events, now=T0 + 51)) == ["controller"]


def test_iso_time() -> None:
    assert iso_time(0) == "1970-01-01T00:00:00Z"
    assert iso_time(1_700_000_000) == "2023-11-14T22:13:20Z"
    with pytest.raises(NotFound):
        iso_time(253402300800)
