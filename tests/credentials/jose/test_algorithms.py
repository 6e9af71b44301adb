"""The JOSE allow-list, key binding, ES256K low-S and address recovery, and strict compact JWS.

Signatures are real (cryptography, eth-account keys); tokens are cross-checked with
jwcrypto's own JWS object, an independent path from the one the hub uses.
"""

from __future__ import annotations

import json
import sys

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from eth_account import Account
from jwcrypto import jwk, jws
from jwcrypto.common import base64url_decode, base64url_encode

from credentials.errors import (
    DocumentTooLarge,
    KeyResolutionError,
    MalformedCredential,
    ProofError,
    UnsupportedAlgorithm,
)
from credentials.jose import algorithms as jose_algorithms
from credentials.jose.algorithms import ALGORITHMS, SECP256K1_ORDER
from credentials.jose.jws_compact import (
    MAX_JSON_DEPTH,
    MAX_TOKEN_LENGTH,
    parse_compact,
    serialize,
    signing_input,
)
from credentials.keys.verification_methods import VerificationKey

HEADER = {"alg": "EdDSA", "kid": "did:example:a#k", "typ": "vc+jwt"}
PAYLOAD = {"hello": "world", "n": [1, 2, {"x": None}]}


def _ed25519_key(private: Ed25519PrivateKey) -> VerificationKey:
    return VerificationKey("did:example:a#k", "did:example:a", "Multikey", private.public_key())


def _secp256k1_key(private: ec.EllipticCurvePrivateKey) -> VerificationKey:
    return VerificationKey(
        "did:example:a#k", "did:example:a", "Multikey", secp256k1=private.public_key()
    )


def _address_key(address: str) -> VerificationKey:
    return VerificationKey(
        "did:example:a#controller",
        "did:example:a",
        "EcdsaSecp256k1RecoveryMethod2020",
        address=address,
    )


def _account_private_key(account: object) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(int.from_bytes(account.key), ec.SECP256K1())  # type: ignore[attr-defined]


def _split_s(signature: bytes) -> tuple[int, int]:
    return int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")


def _high_s(signature: bytes) -> bytes:
    r, s = _split_s(signature)
    return r.to_bytes(32, "big") + (SECP256K1_ORDER - s).to_bytes(32, "big")


# -- the allow-list ------------------------------------------------------------------------


def test_the_allow_list_is_eddsa_and_es256k_only() -> None:
    assert set(ALGORITHMS) == {"EdDSA", "ES256K"}
    assert (ALGORITHMS["EdDSA"].kty, ALGORITHMS["EdDSA"].crv) == ("OKP", "Ed25519")
    assert (ALGORITHMS["ES256K"].kty, ALGORITHMS["ES256K"].crv) == ("EC", "secp256k1")
    with pytest.raises(TypeError):
        ALGORITHMS["HS256"] = ALGORITHMS["EdDSA"]  # type: ignore[index]


@pytest.mark.parametrize(
    "name", ["none", "None", "HS256", "RS256", "ES256", "Ed25519", "Ed448", "eddsa", "", None, 1]
)
def test_every_other_alg_is_unsupported(name: object) -> None:
    with pytest.raises(UnsupportedAlgorithm):
        jose_algorithms.algorithm(name)


def test_signing_keys_must_fit_their_alg() -> None:
    ed = Ed25519PrivateKey.generate()
    k1 = ec.generate_private_key(ec.SECP256K1())
    p256 = ec.generate_private_key(ec.SECP256R1())
    assert jose_algorithms.signing_algorithm(ed, "EdDSA").name == "EdDSA"
    assert jose_algorithms.signing_algorithm(k1, "ES256K").name == "ES256K"
    for key, alg in [(ed, "ES256K"), (k1, "EdDSA"), (p256, "ES256K"), (ed.public_key(), "EdDSA")]:
        with pytest.raises(UnsupportedAlgorithm):
            jose_algorithms.signing_algorithm(key, alg)


def test_a_verification_key_of_the_other_type_is_refused_before_any_check() -> None:
    ed = Ed25519PrivateKey.generate()
    k1 = ec.generate_private_key(ec.SECP256K1())
    signed = signing_input(HEADER, PAYLOAD)
    ed_sig = jose_algorithms.sign(ALGORITHMS["EdDSA"], ed, signed)
    k1_sig = jose_algorithms.sign(ALGORITHMS["ES256K"], k1, signed)
    with pytest.raises(UnsupportedAlgorithm):  # an ES256K header on an Ed25519 key
        jose_algorithms.verify(ALGORITHMS["ES256K"], _ed25519_key(ed), signed, k1_sig)
    with pytest.raises(UnsupportedAlgorithm):  # an EdDSA header on a secp256k1 key
        jose_algorithms.verify(ALGORITHMS["EdDSA"], _secp256k1_key(k1), signed, ed_sig)
    with pytest.raises(UnsupportedAlgorithm):  # EdDSA against an address-only method
        jose_algorithms.verify(
            ALGORITHMS["EdDSA"], _address_key(Account.create().address), signed, ed_sig
        )


# -- EdDSA and ES256K with public keys -------------------------------------------------------


def test_eddsa_round_trip_and_jwcrypto_agrees() -> None:
    private = Ed25519PrivateKey.generate()
    signed = signing_input(HEADER, PAYLOAD)
    signature = jose_algorithms.sign(ALGORITHMS["EdDSA"], private, signed)
    jose_algorithms.verify(ALGORITHMS["EdDSA"], _ed25519_key(private), signed, signature)
    token = serialize(signed, signature)
    checked = jws.JWS()
    checked.deserialize(token)
    checked.verify(jwk.JWK.from_pyca(private.public_key()), alg="EdDSA")
    assert json.loads(checked.payload) == PAYLOAD
    other = Ed25519PrivateKey.generate()
    with pytest.raises(ProofError):
        jose_algorithms.verify(ALGORITHMS["EdDSA"], _ed25519_key(other), signed, signature)


def test_es256k_signs_low_s_only_and_jwcrypto_agrees() -> None:
    private = ec.generate_private_key(ec.SECP256K1())
    public = jwk.JWK.from_pyca(private.public_key())
    signed = signing_input({**HEADER, "alg": "ES256K"}, PAYLOAD)
    for _ in range(40):  # a random S is high half the time; every one we emit is low
        signature = jose_algorithms.sign(ALGORITHMS["ES256K"], private, signed)
        assert _split_s(signature)[1] <= SECP256K1_ORDER // 2
        jose_algorithms.verify(ALGORITHMS["ES256K"], _secp256k1_key(private), signed, signature)
        checked = jws.JWS()
        checked.deserialize(serialize(signed, signature))
        checked.verify(public, alg="ES256K")


def test_es256k_high_s_is_refused_though_it_is_a_valid_ecdsa_signature() -> None:
    private = ec.generate_private_key(ec.SECP256K1())
    signed = signing_input({**HEADER, "alg": "ES256K"}, PAYLOAD)
    high = _high_s(jose_algorithms.sign(ALGORITHMS["ES256K"], private, signed))
    r, s = _split_s(high)
    from cryptography.hazmat.primitives import hashes

    # The mirrored signature is mathematically valid: refusing it is our policy.
    private.public_key().verify(encode_dss_signature(r, s), signed, ec.ECDSA(hashes.SHA256()))
    with pytest.raises(ProofError, match="high S"):
        jose_algorithms.verify(ALGORITHMS["ES256K"], _secp256k1_key(private), signed, high)


@pytest.mark.parametrize(
    ("r", "s"),
    [(0, 1), (1, 0), (SECP256K1_ORDER, 1), (1, SECP256K1_ORDER), (2**256 - 1, 1)],
    ids=["r0", "s0", "r=n", "s=n", "r-max"],
)
def test_es256k_scalars_out_of_range_are_refused(r: int, s: int) -> None:
    key = _secp256k1_key(ec.generate_private_key(ec.SECP256K1()))
    signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    with pytest.raises(ProofError):
        jose_algorithms.verify(ALGORITHMS["ES256K"], key, b"a.b", signature)


@pytest.mark.parametrize("length", [0, 1, 63, 65, 96, 128])
def test_signatures_of_the_wrong_length_are_refused(length: int) -> None:
    ed = _ed25519_key(Ed25519PrivateKey.generate())
    k1 = _secp256k1_key(ec.generate_private_key(ec.SECP256K1()))
    with pytest.raises(ProofError):
        jose_algorithms.verify(ALGORITHMS["EdDSA"], ed, b"a.b", b"\x01" * length)
    with pytest.raises(ProofError):
        jose_algorithms.verify(ALGORITHMS["ES256K"], k1, b"a.b", b"\x01" * length)


# -- ES256K against an Ethereum address (EcdsaSecp256k1RecoveryMethod2020) ---------------------


def test_es256k_recovers_the_signer_of_an_address_only_method() -> None:
    account = Account.create()
    private = _account_private_key(account)
    signed = signing_input({**HEADER, "alg": "ES256K"}, PAYLOAD)
    for _ in range(8):  # both recovery ids occur
        signature = jose_algorithms.sign(ALGORITHMS["ES256K"], private, signed)
        jose_algorithms.verify(
            ALGORITHMS["ES256K"], _address_key(account.address), signed, signature
        )
        caip10 = f"eip155:1337:{account.address.lower()}"
        jose_algorithms.verify(ALGORITHMS["ES256K"], _address_key(caip10), signed, signature)
    with pytest.raises(ProofError, match="not made by the key of"):
        jose_algorithms.verify(
            ALGORITHMS["ES256K"], _address_key(Account.create().address), signed, signature
        )
    tampered = signing_input({**HEADER, "alg": "ES256K"}, {**PAYLOAD, "hello": "there"})
    with pytest.raises(ProofError):
        jose_algorithms.verify(
            ALGORITHMS["ES256K"], _address_key(account.address), tampered, signature
        )
    with pytest.raises(ProofError, match="high S"):
        jose_algorithms.verify(
            ALGORITHMS["ES256K"], _address_key(account.address), signed, _high_s(signature)
        )


@pytest.mark.parametrize("address", ["0x123", "eip155:1:0xZZ" + "0" * 38, "not an address", ""])
def test_malformed_addresses_are_key_resolution_errors(address: str) -> None:
    with pytest.raises(KeyResolutionError):
        jose_algorithms.address_bytes(address)


# -- strict compact serialisation --------------------------------------------------------------


def _b64(value: object) -> str:
    text: str = base64url_encode(value if isinstance(value, bytes) else json.dumps(value).encode())
    return text


NOT_UTF8 = b"\xff\xfe"
WITH_NAN = b'{"a": NaN}'
HUGE_INTEGER = b'{"a": 1' + b"0" * 5000 + b"}"
DUPLICATE_ALG = b'{"alg": "EdDSA", "alg": "none"}'


def test_parse_compact_reads_what_serialize_wrote() -> None:
    signed = signing_input(HEADER, PAYLOAD)
    parsed = parse_compact(serialize(signed, b"\x00" * 64))
    assert (parsed.header, parsed.payload) == (HEADER, PAYLOAD)
    assert parsed.signing_input == signed and parsed.signature == b"\x00" * 64


@pytest.mark.parametrize(
    "token",
    [
        None,
        b"a.b.c",
        42,
        "",
        "abc",
        "a.b",
        "a.b.c.d",
        "a.b.c.d.e",
        f".{_b64(PAYLOAD)}.AAAA",
        f"{_b64(HEADER)}..AAAA",
        f"{_b64(HEADER)}={_b64(PAYLOAD)}.AAAA",
        f"{_b64(HEADER)}=.{_b64(PAYLOAD)}.AAAA",  # padding
        f"{_b64(HEADER)}.{_b64(PAYLOAD)}.AA+/",  # base64, not base64url
        f"{_b64(HEADER)}.{_b64(PAYLOAD)}.AA A",  # whitespace the decoder would skip
        f"{_b64(HEADER)}.{_b64(PAYLOAD)}.AAB",  # stray trailing bits (canonical is AAA)
        f"{_b64(HEADER)}.{_b64(PAYLOAD)}.A",  # impossible length
        f"{_b64(HEADER)}.{_b64(PAYLOAD)}.AAAé",
        f"{_b64(b'not json')}.{_b64(PAYLOAD)}.AAAA",
        f"{_b64([HEADER])}.{_b64(PAYLOAD)}.AAAA",
        f"{_b64(HEADER)}.{_b64('a string')}.AAAA",
        f"{_b64(HEADER)}.{_b64(NOT_UTF8)}.AAAA",
        f"{_b64(HEADER)}.{_b64(WITH_NAN)}.AAAA",
        f"{_b64(HEADER)}.{_b64(HUGE_INTEGER)}.AAAA",
        f"{_b64(DUPLICATE_ALG)}.{_b64(PAYLOAD)}.AAAA",
    ],
    ids=lambda value: repr(value)[:24],
)
def test_malformed_compact_tokens(token: object) -> None:
    with pytest.raises(MalformedCredential):
        parse_compact(token)


def test_deep_nesting_is_refused_before_the_decoder_can_crash() -> None:
    import py_ecc  # noqa: F401 - imported by py-evm in the hub: raises the recursion limit

    # With this limit the C JSON decoder overflows the C stack (a segfault) on ~100k
    # levels instead of raising RecursionError: the depth is checked before decoding.
    assert sys.getrecursionlimit() >= 100_000
    for depth in (MAX_JSON_DEPTH + 1, 10_000, 100_000, 300_000):
        nested = b'{"a": ' + b"[" * depth + b"]" * depth + b"}"
        with pytest.raises(MalformedCredential, match="nests deeper"):
            parse_compact(f"{_b64(HEADER)}.{_b64(nested)}.AAAA")
    objects = b'{"a":' * 10_000 + b"1" + b"}" * 10_000
    with pytest.raises(MalformedCredential, match="nests deeper"):
        parse_compact(f"{_b64(HEADER)}.{_b64(objects)}.AAAA")


def _nested(levels: int) -> dict[str, object]:
    """``levels`` objects deep, with brackets, quotes and backslashes inside strings."""
    value: dict[str, object] = {"leaf": '[[[{{{ \\" ]]] \\\\', "more": "{" * 100}
    for _ in range(levels - 1):
        value = {"n": value, "s": '"[{'}
    return value


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    deepest = _nested(MAX_JSON_DEPTH)
    assert parse_compact(f"{_b64(HEADER)}.{_b64(deepest)}.AAAA").payload == deepest
    with pytest.raises(MalformedCredential, match="nests deeper"):
        parse_compact(f"{_b64(HEADER)}.{_b64(_nested(MAX_JSON_DEPTH + 1))}.AAAA")


def test_oversize_tokens_are_refused_before_decoding() -> None:
    token = "a" * (MAX_TOKEN_LENGTH + 1)
    with pytest.raises(DocumentTooLarge):
        parse_compact(token)


def test_the_signing_input_is_the_encoded_text_as_received() -> None:
    header = _b64(b'{"alg":"EdDSA",  "kid":"did:example:a#k"}')  # whitespace kept as signed
    payload = _b64(b'{ "x" : 1 }')
    parsed = parse_compact(f"{header}.{payload}.AAAA")
    assert parsed.signing_input == f"{header}.{payload}".encode()
    assert base64url_decode(header) == b'{"alg":"EdDSA",  "kid":"did:example:a#k"}'
