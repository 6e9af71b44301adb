"""did:key resolution against the method's published test vectors and every kind of bad input.

Vectors: w3c-ccg/did-method-key ``test-vectors/ed25519-x25519.json``, ``secp256k1.json``
and ``nist-curves.json``. They list each DID's key (``publicKeyBase58`` or a JWK) and,
for Ed25519, the derived X25519 key; the documents they show use the older
2018/2019/JsonWebKey2020 formats, so the expected documents here carry the same
keys and ids in the spec's default ``Multikey`` format.
"""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from did_registry.did_key import (
    DidKeyResolver,
    InvalidPublicKey,
    InvalidPublicKeyLength,
    UnsupportedPublicKeyType,
    did_key,
    ed25519_to_x25519,
    parse_did_key,
)
from did_registry.errors import InvalidDid, MethodNotSupported, RepresentationNotSupported
from did_registry.resolution import ResolutionOptions
from hub_kernel.multiformats import ED25519, P256, SECP256K1, b58decode, b58encode

# ed25519-x25519.json: DID -> (Ed25519 publicKeyBase58, X25519 key id, X25519 publicKeyBase58)
ED25519_VECTORS = {
    "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp": (
        "4zvwRjXUKGfvwnParsHAS3HuSVzV5cA4McphgmoCtajS",
        "z6LShs9GGnqk85isEBzzshkuVWrVKsRp24GnDuHk8QWkARMW",
        "7By6kV2t2d188odEM4ExAve1UithKT6dLva4dwsDT3ak",
    ),
    "did:key:z6MkjchhfUsD6mmvni8mCdXHw216Xrm9bQe2mBH1P5RDjVJG": (
        "6ASf5EcmmEHTgDJ4X4ZT5vT6iHVJBXPg5AN5YoTCpGWt",
        "z6LSrHyXiPBhUbvPUtyUCdf32sniiMGPTAesgHrtEa4FePtr",
        "FcoNC5NqP9CePWbhfz95iHaEsCjGkZUioK9Ck7Qiw286",
    ),
    "did:key:z6MknGc3ocHs3zdPiJbnaaqDi58NGb4pk1Sp9WxWufuXSdxf": (
        "8pM1DN3RiT8vbom5u1sNryaNT1nyL8CTTW3b5PwWXRBH",
        "z6LSkkqoZRC34AEpbkhZCqLDcHQVAxuLpQ7kC8XCXMVUfvjE",
        "A5fe37PAxhX5WNKngBpGHhC1KpNE7nwbK9oX2tqwxYxU",
    ),
    "did:key:z6MkvqoYXQfDDJRv8L4wKzxYeuKyVZBfi9Qo6Ro8MiLH3kDQ": (
        "HPYVwAQmskwT1qEEeRzhoomyfyupJGASQQtCXSNG8XS2",
        "z6LSiUo6AEDat8Ze4nQzDo67SGuHLLwsUGkxndHGUjsywHow",
        "7ocvdvQinfqtyQ3Dh9aA7ggoVCQkmfaoueZazHETDv3B",
    ),
    "did:key:z6MkwW6aqMnjgrhJXFUko3NnZPGzVpkNzhYK7yEhnsibmLwL": (
        "J3qYF7YJMKCqQke47UQwiHizgFUXapHxRxKmxbkar89x",
        "z6LSrGb3qm4xMCEBjvwkLb2WEcXfTM94Tu1RyGCbT5wbg8i9",
        "FbQtKTG6FjWSeYZyowWYv2KBcCbwmHqH6HUuxdJ4xkwP",
    ),
}
# secp256k1.json: DID -> compressed publicKeyBase58
SECP256K1_VECTORS = {
    "did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme": (
        "23o6Sau8NxxzXcgSc3PLcNxrzrZpbLeBn1izfv3jbKhuv"
    ),
    "did:key:zQ3shtxV1FrJfhqE1dvxYRcCknWNjHc3c5X1y3ZSoPDi2aur2": (
        "291KzQhqCPC18PqH83XKhxv1HdqrdnxyS7dh15t2uNRzJ"
    ),
    "did:key:zQ3shZc2QzApp2oymGvQbzP8eKheVshBHbU4ZYjeXqwSKEn6N": (
        "oesQ92MLiAkt2pjBcJFbW7H4DvzKJv22cotjYbmC2JEe"
    ),
    "did:key:zQ3shadCps5JLAHcZiuX5YUtWHHL8ysBJqFLWvjZDKAWUBGzy": (
        "pg3p1vprqePgUoqfAQ1TTgxhL6zLYhHyzooR1pqLxo9F"
    ),
    "did:key:zQ3shptjE6JwdkeKN4fcpnYQY3m9Cet3NiHdAfpvSUZBFoKBj": (
        "24waDFAUAS16UpZwQQTXVEAmm17rQRjadjuAeBDW8aqL1"
    ),
}
# nist-curves.json (P-256): DID -> JWK (x, y)
P256_VECTORS = {
    "did:key:zDnaerx9CtbPJ1q36T5Ln5wYt3MQYeGRG5ehnPAmxcf5mDZpv": (
        "igrFmi0whuihKnj9R3Om1SoMph72wUGeFaBbzG2vzns",
        "efsX5b10x8yjyrj4ny3pGfLcY7Xby1KzgqOdqnsrJIM",
    ),
    "did:key:zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169": (
        "fyNYMN0976ci7xqiSdag3buk-ZCwgXU4kz9XNkBlNUI",
        "hW2ojTNfH7Jbi8--CJUo3OCbH3y5n91g-IMA9MLMbTU",
    ),
}
# nist-curves.json: P-384 and P-521 keys, well-formed but not supported here
OTHER_CURVES = [
    "did:key:z82Lm1MpAkeJcix9K8TMiLd5NMAhnwkjjCBeWHXyu3U4oT2MVJJKXkcVBgjGhnLBn2Kaau9",
    "did:key:z2J9gaYxrKVpdoG9A4gRnmpnRCcxU6agDtFVVBVdn1JedouoZN7SzcyREXXzWgt3gGiwpoHq7K68X4m32D8HgzG8wv3sY5j7",
]

CONTEXT = ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"]
SIGNING = ("authentication", "assertionMethod", "capabilityInvocation", "capabilityDelegation")

resolver = DidKeyResolver()


def multikey(did: str, fragment: str) -> dict[str, str]:
    return {
        "id": f"{did}#{fragment}",
        "type": "Multikey",
        "controller": did,
        "publicKeyMultibase": fragment,
    }


def expected_document(did: str, agreement: str | None) -> dict[str, object]:
    own = did.removeprefix("did:key:")
    methods = [multikey(did, own)]
    document: dict[str, object] = {"@context": CONTEXT, "id": did, "verificationMethod": methods}
    document.update({relationship: [f"{did}#{own}"] for relationship in SIGNING})
    if agreement is not None:
        methods.append(multikey(did, agreement))
        document["keyAgreement"] = [f"{did}#{agreement}"]
    return document


def b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# -- the published vectors --------------------------------------------------------------------


def test_the_spec_example_document_exactly() -> None:
    did = "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
    vm = f"{did}#z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
    ka = f"{did}#z6LShs9GGnqk85isEBzzshkuVWrVKsRp24GnDuHk8QWkARMW"
    result = resolver.resolve(did)
    assert result.did_document == {
        "@context": [
            "https://www.w3.org/ns/did/v1",
            "https://w3id.org/security/multikey/v1",
        ],
        "id": did,
        "verificationMethod": [
            {
                "id": vm,
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": "z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
            },
            {
                "id": ka,
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": "z6LShs9GGnqk85isEBzzshkuVWrVKsRp24GnDuHk8QWkARMW",
            },
        ],
        "authentication": [vm],
        "assertionMethod": [vm],
        "capabilityInvocation": [vm],
        "capabilityDelegation": [vm],
        "keyAgreement": [ka],
    }
    assert result.did_resolution_metadata == {"contentType": "application/did+ld+json"}
    assert result.did_document_metadata == {}


@pytest.mark.parametrize("did", ED25519_VECTORS)
def test_ed25519_vectors_with_the_derived_x25519_key(did: str) -> None:
    ed_base58, x_multibase, x_base58 = ED25519_VECTORS[did]
    parsed = parse_did_key(did)
    assert (parsed.codec, parsed.public_key) == (ED25519, b58decode(ed_base58))
    assert ed25519_to_x25519(parsed.public_key) == b58decode(x_base58)
    assert resolver.resolve(did).did_document == expected_document(did, x_multibase)


@pytest.mark.parametrize("did", SECP256K1_VECTORS)
def test_secp256k1_vectors(did: str) -> None:
    parsed = parse_did_key(did)
    assert (parsed.codec, parsed.public_key) == (SECP256K1, b58decode(SECP256K1_VECTORS[did]))
    assert resolver.resolve(did).did_document == expected_document(did, None)


@pytest.mark.parametrize("did", P256_VECTORS)
def test_p256_vectors_decompress_to_the_jwk_point(did: str) -> None:
    x, y = P256_VECTORS[did]
    parsed = parse_did_key(did)
    assert parsed.codec == P256
    point = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), parsed.public_key)
    numbers = point.public_numbers()
    assert numbers.x.to_bytes(32, "big") == b64url(x)
    assert numbers.y.to_bytes(32, "big") == b64url(y)
    assert resolver.resolve(did).did_document == expected_document(did, None)


@pytest.mark.parametrize("did", OTHER_CURVES)
def test_other_key_types_are_not_supported(did: str) -> None:
    with pytest.raises(UnsupportedPublicKeyType) as info:
        resolver.resolve(did)
    assert (info.value.code, info.value.status_code) == ("unsupportedPublicKeyType", 501)


# -- keys made here ---------------------------------------------------------------------------


def raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def test_x25519_derivation_matches_the_private_key_side() -> None:
    # RFC 8032 §5.1.5: the Ed25519 scalar is the clamped first half of SHA-512(seed); as an
    # X25519 private key (which clamps the same way) its public key must be our u.
    for _ in range(25):
        signing = Ed25519PrivateKey.generate()
        seed = signing.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        agreement = X25519PrivateKey.from_private_bytes(hashlib.sha512(seed).digest()[:32])
        expected = agreement.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        assert ed25519_to_x25519(raw_public(signing)) == expected


def test_keys_of_every_supported_type_round_trip() -> None:
    ed = raw_public(Ed25519PrivateKey.generate())
    k1 = ec.generate_private_key(ec.SECP256K1()).public_key()
    p256 = ec.generate_private_key(ec.SECP256R1()).public_key()
    for codec, key in (
        (ED25519, ed),
        (SECP256K1, k1.public_bytes(Encoding.X962, PublicFormat.CompressedPoint)),
        (P256, p256.public_bytes(Encoding.X962, PublicFormat.CompressedPoint)),
    ):
        did = did_key(codec, key)
        assert parse_did_key(did).public_key == key
        assert resolver.resolve(did).did_document is not None


def test_options_and_representations() -> None:
    did = next(iter(ED25519_VECTORS))
    plain = resolver.resolve(did, ResolutionOptions(accept="application/did+json"))
    assert plain.did_document is not None and "@context" not in plain.did_document
    assert plain.did_resolution_metadata == {"contentType": "application/did+json"}
    assert resolver.resolve(did, ResolutionOptions(version_id=7)) == resolver.resolve(did)
    with pytest.raises(RepresentationNotSupported):
        resolver.resolve(did, ResolutionOptions(accept="text/html"))
    without = DidKeyResolver(enable_encryption_key_derivation=False).resolve(did).did_document
    assert without is not None and "keyAgreement" not in without
    assert len(without["verificationMethod"]) == 1
    versioned = did.replace("did:key:", "did:key:1:")
    document = resolver.resolve(versioned).did_document
    assert document is not None and document["id"] == versioned


# -- bad input ---------------------------------------------------------------------------------

# Fixed keys: they appear in test ids, which must be identical in every xdist worker.
ED = raw_public(Ed25519PrivateKey.from_private_bytes(bytes(range(32))))
K1 = (
    ec.derive_private_key(0x1234_5678_9ABC_DEF0, ec.SECP256K1())
    .public_key()
    .public_bytes(Encoding.X962, PublicFormat.CompressedPoint)
)
P = 2**255 - 19


def _off_curve_y() -> int:
    d = -121665 * pow(121666, -1, P) % P
    y = 2
    while True:  # x^2 = (y^2 - 1) / (d y^2 + 1) has no root: Euler's criterion says -1
        ratio = (y * y - 1) * pow(d * y * y + 1, -1, P) % P
        if ratio and pow(ratio, (P - 1) // 2, P) == P - 1:
            return y
        y += 1


def _off_curve_x(p: int, a: int, b: int) -> bytes:
    """A compressed point whose x has no y on y^2 = x^3 + a x + b (mod p)."""
    x = 1
    while pow((x**3 + a * x + b) % p, (p - 1) // 2, p) == 1:
        x += 1
    return b"\x02" + x.to_bytes(32, "big")


NOT_ON_SECP256K1 = _off_curve_x(2**256 - 2**32 - 977, 0, 7)
NOT_ON_P256 = _off_curve_x(
    2**256 - 2**224 + 2**192 + 2**96 - 1,
    -3,
    0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B,
)


def multibase(codec_bytes: bytes, key: bytes) -> str:
    return "did:key:z" + b58encode(codec_bytes + key)


@pytest.mark.parametrize(
    ("did", "error"),
    [
        ("", InvalidDid),
        ("key:z6Mk", InvalidDid),
        ("DID:key:z6Mk", InvalidDid),
        ("did:", InvalidDid),
        ("did:web:example.com", MethodNotSupported),
        ("did:KEY:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp", MethodNotSupported),
        ("did:key:", InvalidDid),
        ("did:key:z", InvalidDid),
        ("did:key:m7QEJ", InvalidDid),  # base64 multibase
        ("did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooW0", InvalidDid),  # "0"
        ("did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWl", InvalidDid),  # "l"
        ("did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp#key-1", InvalidDid),
        ("did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp/path", InvalidDid),
        ("did:key:0:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp", InvalidDid),
        ("did:key:v1:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp", InvalidDid),
        ("did:key:1:2:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp", InvalidDid),
        ("did:key:z" + "1" * 2000, InvalidDid),  # longer than any key
        (multibase(b"\xed", ED), InvalidDid),  # truncated varint
        (multibase(b"\xed\x81\x00", ED), InvalidDid),  # non-minimal varint
        (multibase(b"\xff" * 10, ED), InvalidDid),  # overlong varint
        (multibase(b"\x01", ED), InvalidDid),  # not a key codec
        (multibase(b"\xed\x01", ED[:31]), InvalidPublicKeyLength),
        (multibase(b"\xed\x01", ED + b"\x00"), InvalidPublicKeyLength),
        (multibase(b"\xe7\x01", b"\x04" + K1[1:] + K1[1:]), InvalidPublicKeyLength),
        (multibase(b"\xe7\x01", b"\x04" + K1[1:]), InvalidPublicKey),
        (multibase(b"\xe7\x01", NOT_ON_SECP256K1), InvalidPublicKey),
        (multibase(b"\x80\x24", NOT_ON_P256), InvalidPublicKey),
        (multibase(b"\xed\x01", _off_curve_y().to_bytes(32, "little")), InvalidPublicKey),
        (multibase(b"\xed\x01", (1).to_bytes(32, "little")), InvalidPublicKey),  # identity
        (multibase(b"\xed\x01", (P - 1).to_bytes(32, "little")), InvalidPublicKey),  # order 2
        (multibase(b"\xed\x01", (0).to_bytes(32, "little")), InvalidPublicKey),  # order 4
        (multibase(b"\xed\x01", (P + 1).to_bytes(32, "little")), InvalidPublicKey),  # y >= p
        (multibase(b"\xec\x01", ED), UnsupportedPublicKeyType),  # X25519 on its own
    ],
)
def test_every_malformation_is_refused(did: str, error: type[Exception]) -> None:
    with pytest.raises(error) as info:
        resolver.resolve(did)
    assert type(info.value) is error  # the precise error, not a broader one


def test_error_codes_follow_the_spec() -> None:
    assert issubclass(InvalidPublicKeyLength, InvalidDid)
    assert issubclass(InvalidPublicKey, InvalidDid)
    assert InvalidPublicKeyLength.code == "invalidPublicKeyLength"
    assert InvalidPublicKey.code == "invalidPublicKey"
    assert InvalidPublicKey.status_code == 400
