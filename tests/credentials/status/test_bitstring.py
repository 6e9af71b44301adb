"""Bitstring Status List v1.0: encoding, bit order, limits, entries and the Validate Algorithm."""

from __future__ import annotations

import base64
import gzip
import json
import shutil
import subprocess
from typing import Any

import pytest

from credentials.errors import StatusError
from credentials.jsonld.contexts import CREDENTIALS_V2, NOTARY_HUB_V1
from credentials.status.bitstring import (
    MIN_ENTRIES,
    Bitstring,
    MalformedStatusValue,
    StatusEntry,
    StatusListLengthError,
    StatusRangeError,
    StatusVerificationError,
    build_entry,
    build_list_credential,
    compress_bits,
    decode_list,
    encode_list,
    encoded_list_bytes,
    expand_bits,
    parse_entry,
    parse_list_credential,
    status_of,
)

# §2.2 "Example BitstringStatusListCredential" (https://www.w3.org/TR/vc-bitstring-status-list/)
SPEC_LIST = {
    "@context": ["https://www.w3.org/ns/credentials/v2"],
    "id": "https://example.com/credentials/status/3",
    "type": ["VerifiableCredential", "BitstringStatusListCredential"],
    "issuer": "did:example:12345",
    "validFrom": "2021-04-05T14:27:40Z",
    "credentialSubject": {
        "id": "https://example.com/status/3#list",
        "type": "BitstringStatusList",
        "statusPurpose": "revocation",
        "encodedList": "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA",
    },
}
# §2.1 "Example StatusListCredential using simple entries": the revocation entry.
SPEC_ENTRY = {
    "id": "https://example.com/credentials/status/3#94567",
    "type": "BitstringStatusListEntry",
    "statusPurpose": "revocation",
    "statusListIndex": "94567",
    "statusListCredential": "https://example.com/credentials/status/3",
}
URL = "https://hub.example/credentials/status/abc"


def encoded(data: bytes) -> str:
    return "u" + base64.urlsafe_b64encode(gzip.compress(data)).rstrip(b"=").decode()


def list_credential(bits: Bitstring, purpose: Any = "revocation", url: str = URL) -> dict[str, Any]:
    doc = build_list_credential(
        list_url=url,
        issuer="did:example:1",
        purpose="x",
        bits=bits,
        valid_from="2026-01-01T00:00:00Z",
    )
    doc["credentialSubject"]["statusPurpose"] = purpose
    return doc


# -- the spec's examples ----------------------------------------------------------------


def test_spec_example_list_is_131072_clear_entries() -> None:
    bits = decode_list(SPEC_LIST["credentialSubject"]["encodedList"])  # type: ignore[index]
    assert len(bits) == MIN_ENTRIES == 16 * 1024 * 8
    assert bits.count() == 0
    assert status_of(SPEC_ENTRY, SPEC_LIST) is False


def test_spec_example_entries_parse() -> None:
    assert parse_entry(SPEC_ENTRY) == StatusEntry(
        "revocation", 94567, SPEC_ENTRY["statusListCredential"], SPEC_ENTRY["id"]
    )
    suspension = {**SPEC_ENTRY, "statusPurpose": "suspension", "statusListIndex": "23452"}
    assert parse_entry(suspension).index == 23452
    # Against the spec's revocation list, a suspension entry is refused (§3.2 step 5).
    with pytest.raises(StatusVerificationError, match="statusPurpose 'suspension'"):
        status_of(suspension, SPEC_LIST)


# -- bit order and encoding ---------------------------------------------------------------


def test_index_zero_is_the_left_most_bit_of_the_first_byte() -> None:
    bits = Bitstring(MIN_ENTRIES)
    for index in (0, 7, 8, 13, MIN_ENTRIES - 1):
        bits.set(index, True)
    raw = bytes(bits)
    assert raw[0] == 0b1000_0001  # indexes 0 and 7
    assert raw[1] == 0b1000_0100  # indexes 8 and 13
    assert raw[-1] == 0b0000_0001  # the last index is the right-most bit
    assert bits.count() == 5
    bits.set(7, False)
    assert bytes(bits)[0] == 0x80 and not bits.get(7) and bits.get(0)
    assert gzip.decompress(base64.urlsafe_b64decode(encode_list(bits)[1:] + "==")) == bytes(bits)


def test_encoding_round_trips_and_is_deterministic() -> None:
    bits = Bitstring(MIN_ENTRIES * 2)
    for index in (1, 4242, 99_999, 262_143):
        bits.set(index, True)
    text = encode_list(bits)
    assert text.startswith("uH4sI") and "=" not in text
    assert text == encode_list(Bitstring.from_bytes(bytes(bits)))  # no timestamp inside
    assert decode_list(text) == bits
    assert len(text) < 200  # mostly zeros compress to almost nothing


def test_the_gzip_bytes_are_the_encoded_lists_payload() -> None:
    """What goes on chain: encodedList after multibase decoding, and back."""
    bits = Bitstring(MIN_ENTRIES)
    bits.set(77, True)
    compressed = compress_bits(bits)
    assert compressed[:2] == b"\x1f\x8b"  # RFC 1952 magic
    assert encoded_list_bytes(encode_list(bits)) == compressed
    assert expand_bits(compressed) == bits
    with pytest.raises(MalformedStatusValue, match="not GZIP data"):
        expand_bits(b"not gzip")
    with pytest.raises(MalformedStatusValue, match="truncated"):
        expand_bits(compressed[:-4])
    with pytest.raises(MalformedStatusValue, match="more than 1024 bytes"):
        expand_bits(compressed, max_bytes=1024)
    with pytest.raises(MalformedStatusValue, match="start with 'u'"):
        encoded_list_bytes("z" + encode_list(bits)[1:])


def test_an_independent_gunzip_reads_the_same_bits() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not on PATH")
    bits = Bitstring(MIN_ENTRIES)
    for index in (0, 9, 131_071):
        bits.set(index, True)
    script = (
        "const z=require('zlib');const b=z.gunzipSync(Buffer.from(process.argv[1].slice(1),"
        "'base64url'));const on=[];for(let i=0;i<b.length*8;i++)"
        "if(b[i>>3]&(0x80>>(i&7)))on.push(i);console.log(JSON.stringify([b.length,on]))"
    )
    out = subprocess.run(
        [node, "-e", script, encode_list(bits)], capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == [16384, [0, 9, 131_071]]


def test_range_of_a_bitstring() -> None:
    bits = Bitstring(MIN_ENTRIES)
    for index in (-1, MIN_ENTRIES):
        with pytest.raises(StatusRangeError):
            bits.get(index)
    with pytest.raises(ValueError):
        Bitstring(12)  # not whole bytes
    with pytest.raises(ValueError):
        Bitstring.from_bytes(b"")


# -- limits -----------------------------------------------------------------------------


def test_the_131072_entry_minimum() -> None:
    short = Bitstring(MIN_ENTRIES - 8)
    with pytest.raises(StatusListLengthError, match="fewer than the minimum 131072"):
        parse_list_credential(
            {
                **list_credential(Bitstring()),
                "credentialSubject": {
                    "type": "BitstringStatusList",
                    "statusPurpose": "revocation",
                    "encodedList": encode_list(short),
                },
            }
        )
    with pytest.raises(StatusListLengthError):
        build_list_credential(
            list_url=URL, issuer="did:example:1", purpose="revocation", bits=short, valid_from="x"
        )
    assert len(parse_list_credential(list_credential(Bitstring())).bits) == MIN_ENTRIES


def test_gzip_bomb_is_refused() -> None:
    bomb = gzip.compress(b"\0" * (16 * 1024 * 1024 + 1), mtime=0)
    assert len(bomb) < 20_000
    text = "u" + base64.urlsafe_b64encode(bomb).rstrip(b"=").decode()
    with pytest.raises(MalformedStatusValue, match="more than 16777216 bytes"):
        decode_list(text)
    with pytest.raises(MalformedStatusValue, match="more than 16384 bytes"):
        decode_list(encoded(b"\0" * 16385), max_bytes=16384)
    # Several gzip members add up (RFC 1952 §2.2): the limit is on the total.
    two = gzip.compress(b"\0" * 10_000) + gzip.compress(b"\0" * 10_000)
    with pytest.raises(MalformedStatusValue, match="more than"):
        decode_list("u" + base64.urlsafe_b64encode(two).decode().rstrip("="), max_bytes=16384)
    assert len(decode_list(encoded(b"\0" * 16384), max_bytes=16384)) == MIN_ENTRIES


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "must be a string"),
        (encoded(b"\0" * 16384)[1:], "start with 'u'"),
        ("z" + encoded(b"\0" * 16384)[1:], "start with 'u'"),
        (encoded(b"\0" * 16384) + "==", "without padding"),
        ("u" + "A+/B" * 10, "without padding"),
        ("u" + base64.urlsafe_b64encode(b"not gzip at all").decode().rstrip("="), "not GZIP"),
        (encoded(b"\0" * 16384)[:-8], "truncated|not GZIP"),
        ("u", "truncated"),
        (encoded(b""), "empty"),
        (encoded(b"\0" * 16384) + "AAAA", "not GZIP|truncated"),
    ],
    ids=[
        "not-string",
        "no-prefix",
        "base58-prefix",
        "padding",
        "base64-alphabet",
        "not-gzip",
        "truncated",
        "empty-body",
        "empty-bitstring",
        "trailing-garbage",
    ],
)
def test_malformed_encoded_lists(value: object, message: str) -> None:
    with pytest.raises(MalformedStatusValue, match=message):
        decode_list(value)


# -- entries ----------------------------------------------------------------------------


def test_build_entry() -> None:
    assert build_entry(URL, "suspension", 42) == {
        "id": f"{URL}#42",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "suspension",
        "statusListIndex": "42",
        "statusListCredential": URL,
    }
    assert parse_entry(build_entry(URL, "revocation", 0)).index == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"type": "StatusList2021Entry"}, "type must be BitstringStatusListEntry"),
        ({"statusPurpose": ""}, "statusPurpose"),
        ({"statusPurpose": ["revocation"]}, "statusPurpose"),
        ({"statusListIndex": 94567}, "as a string"),
        ({"statusListIndex": "-1"}, "as a string"),
        ({"statusListIndex": "0x10"}, "as a string"),
        ({"statusListIndex": " 1"}, "as a string"),
        ({"statusListIndex": "1.0"}, "as a string"),
        ({"statusListIndex": "9" * 40}, "beyond any status list"),
        ({"statusSize": 0}, "greater than zero"),
        ({"statusSize": True}, "greater than zero"),
        ({"statusSize": 2}, "not supported"),
        ({"statusListCredential": "did:example:123"}, "http"),
        ({"statusListCredential": 7}, "http"),
        ({"id": SPEC_ENTRY["statusListCredential"]}, "must not be the status list"),
    ],
    ids=lambda v: json.dumps(v) if isinstance(v, dict) else str(v)[:20],
)
def test_malformed_entries(change: dict[str, Any], message: str) -> None:
    with pytest.raises(StatusError, match=message):
        parse_entry({**SPEC_ENTRY, **change})


def test_entry_must_be_an_object() -> None:
    with pytest.raises(MalformedStatusValue):
        parse_entry([SPEC_ENTRY])


# -- the Validate Algorithm ------------------------------------------------------------


def test_status_of_reads_the_entry_bit() -> None:
    bits = Bitstring()
    bits.set(94567, True)
    doc = list_credential(bits)
    entry = build_entry(URL, "revocation", 94567)
    assert status_of(entry, doc) is True
    assert status_of(build_entry(URL, "revocation", 94566), doc) is False
    # A list may carry several purposes (§3.2 step 5).
    both = list_credential(bits, ["revocation", "suspension"])
    assert status_of(build_entry(URL, "suspension", 94567), both) is True


def test_index_outside_the_list_is_a_range_error() -> None:
    with pytest.raises(StatusRangeError, match="outside"):
        status_of(build_entry(URL, "revocation", MIN_ENTRIES), list_credential(Bitstring()))


def test_a_list_for_another_url_or_purpose_is_refused() -> None:
    doc = list_credential(Bitstring())
    with pytest.raises(StatusVerificationError, match="not the entry's"):
        status_of(build_entry(URL + "x", "revocation", 1), doc)
    with pytest.raises(StatusVerificationError, match="statusPurpose"):
        status_of(build_entry(URL, "suspension", 1), doc)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("type",), ["VerifiableCredential"], "not a BitstringStatusListCredential"),
        (("credentialSubject",), [], "credentialSubject"),
        (("credentialSubject", "type"), "StatusList2021", "must be BitstringStatusList"),
        (("credentialSubject", "statusPurpose"), [], "one or more strings"),
        (("credentialSubject", "statusPurpose"), 1, "one or more strings"),
        (("credentialSubject", "encodedList"), None, "must be a string"),
        (("issuer",), {"name": "x"}, "no issuer"),
        (("id",), 5, "id must be a string"),
    ],
    ids=lambda v: "/".join(v) if isinstance(v, tuple) else str(v)[:16],
)
def test_malformed_list_credentials(path: tuple[str, ...], value: Any, message: str) -> None:
    doc = list_credential(Bitstring())
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(StatusError, match=message):
        parse_list_credential(doc)


def test_list_credential_builder() -> None:
    anchor = {"chainId": 1337, "registry": "0x" + "11" * 20, "listId": "0x" + "22" * 32}
    bits = Bitstring()
    doc = build_list_credential(
        list_url=URL,
        issuer="did:ethr:0x539:0xabc",
        purpose="suspension",
        bits=bits,
        valid_from="2026-01-01T00:00:00Z",
        anchor=anchor,
        ttl_ms=60_000,
    )
    assert doc == {
        "@context": [CREDENTIALS_V2, NOTARY_HUB_V1],
        "id": URL,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": "did:ethr:0x539:0xabc",
        "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {
            "id": f"{URL}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "suspension",
            "encodedList": encode_list(bits),
            "ttl": 60_000,
        },
        "statusListAnchor": anchor,
    }
    parsed = parse_list_credential({**doc, "issuer": {"id": "did:ethr:0x539:0xabc"}})
    assert (parsed.url, parsed.issuer, parsed.purposes) == (
        URL,
        "did:ethr:0x539:0xabc",
        ("suspension",),
    )
