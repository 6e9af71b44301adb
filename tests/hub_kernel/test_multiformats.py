"""base58btc, unsigned varints, multibase and multicodec prefixes (moved with the codecs
from the did:key tests, plus the multibase and multicodec helpers)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub_kernel.multiformats import (
    BASE58BTC,
    BASE64URL,
    BLS12_381_G1,
    BLS12_381_G1G2,
    BLS12_381_G2,
    ED25519,
    ED25519_PRIV,
    P256,
    P384,
    P521,
    RSA,
    SECP256K1,
    X25519,
    b58decode,
    b58encode,
    multibase_decode,
    multibase_encode,
    multicodec_decode,
    multicodec_encode,
    varint_decode,
    varint_encode,
)

# -- base58btc --------------------------------------------------------------------------------


@given(st.binary(max_size=80))
def test_base58btc_round_trips_with_leading_zeros(data: bytes) -> None:
    assert b58decode(b58encode(data)) == data


def test_base58btc_known_values() -> None:
    # draft-msporny-base58-03 §5 test vectors
    assert b58encode(b"Hello World!") == "2NEpo7TZRRrLZSi2U"
    assert b58encode(b"The quick brown fox jumps over the lazy dog.") == (
        "USm3fpXnKG5EUBx2ndxBDMPVciP5hGey2Jh4NDv6gmeo1LkMeiKrLJUUBk6Z"
    )
    assert b58encode(bytes.fromhex("0000287fb4cd")) == "11233QC4"


@pytest.mark.parametrize("char", ["0", "O", "I", "l", "+", " "])
def test_base58btc_refuses_characters_outside_the_alphabet(char: str) -> None:
    with pytest.raises(ValueError, match="not a base58btc character"):
        b58decode("2NEpo" + char)


# -- unsigned varint ---------------------------------------------------------------------------


@given(st.integers(min_value=0, max_value=2**63 - 1))
def test_varint_round_trips(value: int) -> None:
    encoded = varint_encode(value)
    assert varint_decode(encoded + b"\x99") == (value, len(encoded))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "truncated"),
        (b"\xed", "truncated"),
        (b"\xff" * 10, "overlong"),
        (b"\x81\x00", "not minimally encoded"),
    ],
)
def test_malformed_varints(data: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        varint_decode(data)


# -- multicodec --------------------------------------------------------------------------------


def test_multicodec_headers() -> None:
    assert varint_encode(ED25519) == b"\xed\x01"
    assert varint_encode(SECP256K1) == b"\xe7\x01"
    assert varint_encode(P256) == b"\x80\x24"


def test_the_codes_are_the_table_s() -> None:
    # https://github.com/multiformats/multicodec/blob/master/table.csv
    assert (ED25519, X25519, SECP256K1) == (0xED, 0xEC, 0xE7)
    assert (P256, P384, P521, RSA) == (0x1200, 0x1201, 0x1202, 0x1205)
    assert (BLS12_381_G1, BLS12_381_G2, BLS12_381_G1G2) == (0xEA, 0xEB, 0xEE)
    assert ED25519_PRIV == 0x1300
    assert varint_encode(ED25519_PRIV) == b"\x80\x26"


@given(st.integers(min_value=0, max_value=2**63 - 1), st.binary(max_size=40))
def test_multicodec_round_trips(code: int, data: bytes) -> None:
    assert multicodec_decode(multicodec_encode(code, data)) == (code, data)


def test_a_malformed_multicodec_prefix_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="minimally"):
        multicodec_decode(b"\xed\x81\x00")


# -- multibase ---------------------------------------------------------------------------------


@given(st.binary(max_size=80), st.sampled_from([BASE58BTC, BASE64URL]))
def test_multibase_round_trips(data: bytes, base: str) -> None:
    text = multibase_encode(data, base)
    assert text[0] == base
    assert "=" not in text
    assert multibase_decode(text) == data


def test_multibase_known_values() -> None:
    assert multibase_encode(b"Hello World!") == "z2NEpo7TZRRrLZSi2U"
    assert multibase_encode(b"\xfb\xff", BASE64URL) == "u-_8"
    # A did:key's multibase value: z + base58btc(0xed01 ‖ key).
    key = bytes(range(32))
    assert multibase_encode(multicodec_encode(ED25519, key)).startswith("z6Mk")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "prefix '' is not supported"),
        ("m" + "AAAA", "prefix 'm' is not supported"),  # base64 with padding rules: not ours
        ("uAB=", "not base64url"),
        ("uAB+", "not base64url"),
        ("uAB", "non-canonical"),  # stray bits after the last byte
        ("z0", "not a base58btc character"),
    ],
)
def test_malformed_multibase_values(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        multibase_decode(text)


def test_only_z_and_u_are_written() -> None:
    with pytest.raises(ValueError, match="not supported"):
        multibase_encode(b"x", "m")
