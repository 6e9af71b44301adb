"""evidence.digests: one-pass SHA-256 + SM3, and declared digests in hex and multibase."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes

from evidence.digests import (
    HASH_ALGORITHMS,
    SHA256,
    SM3,
    DeclaredDigest,
    MultiDigest,
    digest_multibase,
    hash_algorithm,
    parse_digest,
)
from evidence.errors import InvalidDeposit, UnsupportedHashAlgorithm
from hub_kernel.multiformats import b58encode

REPO = Path(__file__).resolve().parents[2]
CONTENT = bytes(range(256)) * 1000 + b"tail"  # 256 004 bytes: several parallel-sized pieces


def _openssl_sm3(data: bytes, tmp_path: Path) -> bytes:
    path = tmp_path / "content.bin"
    path.write_bytes(data)
    out = subprocess.run(
        ["openssl", "dgst", "-sm3", "-r", str(path)], check=True, capture_output=True, text=True
    ).stdout
    return bytes.fromhex(out.split()[0])


def _cryptography_sm3(data: bytes) -> bytes:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()


def test_allow_list() -> None:
    assert set(HASH_ALGORITHMS) == {"sha-256", "sm3"}
    assert hash_algorithm("SHA-256").multihash_code == 0x12
    assert hash_algorithm("sm3").multihash_code == 0x534D
    for name in ("md5", "sha1", "sha256", "sha-512", "sm3-256", "", None):
        with pytest.raises(UnsupportedHashAlgorithm):
            hash_algorithm(name)  # type: ignore[arg-type]


def test_sm3_standard_vector() -> None:
    # GB/T 32905-2016 Appendix A, example 1: SM3("abc").
    digest = MultiDigest()
    digest.update(b"abc")
    assert digest.finalize().sm3.hex() == (
        "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    )


@pytest.mark.parametrize("piece", [1, 1000, 65536, 100_000, len(CONTENT)])
def test_multi_digest_matches_independent_implementations(piece: int, tmp_path: Path) -> None:
    serial, overlapped = MultiDigest(), MultiDigest()
    for start in range(0, len(CONTENT), piece):
        view = memoryview(CONTENT)[start : start + piece]
        serial.update(view)
        with overlapped.hashing(view):
            pass
    expected_sm3 = _openssl_sm3(CONTENT, tmp_path)
    assert expected_sm3 == _cryptography_sm3(CONTENT)
    for result in (serial.finalize(), overlapped.finalize()):
        assert result.sha256 == hashlib.sha256(CONTENT).digest()
        assert result.sm3 == expected_sm3
        assert result.size == len(CONTENT)


def test_empty_content(tmp_path: Path) -> None:
    result = MultiDigest().finalize()
    assert result.size == 0
    assert result.sha256 == hashlib.sha256(b"").digest()
    assert result.sm3 == _openssl_sm3(b"", tmp_path)


def test_hashing_waits_for_sm3_even_when_the_block_fails() -> None:
    data = os.urandom(200_000)
    digest = MultiDigest()
    with pytest.raises(RuntimeError), digest.hashing(data):
        raise RuntimeError("sink failed")
    # SM3 took the data before the exception left the block.
    assert digest.finalize().sm3 == _cryptography_sm3(data)


def test_digests_get_and_matches() -> None:
    digest = MultiDigest()
    digest.update(CONTENT)
    result = digest.finalize()
    assert result.get("sha-256") == result.sha256
    assert result.get("SM3") == result.sm3
    assert result.matches(DeclaredDigest(SM3, result.sm3))
    assert result.matches(DeclaredDigest(SHA256, result.sha256))
    assert not result.matches(DeclaredDigest(SHA256, result.sm3))
    assert not result.matches(DeclaredDigest(SHA256, result.sha256[:31]))


def test_sha256_digest_multibase_is_a_base58btc_multihash() -> None:
    digest = hashlib.sha256(CONTENT).digest()
    encoded = digest_multibase(SHA256, digest)
    # Every base58btc sha2-256 multihash (0x12 0x20 ...) spells "Qm..." (IPFS CIDv0).
    assert encoded.startswith("zQm")
    assert len(encoded) == 1 + 46


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_digest_multibase_agrees_with_base58_universal() -> None:
    """The base58btc of the multihash, checked against the npm base58-universal package."""
    sha = hashlib.sha256(CONTENT).digest()
    sm3 = _cryptography_sm3(CONTENT)
    multihashes = [bytes([0x12, 0x20]) + sha, bytes([0xCD, 0xA6, 0x01, 0x20]) + sm3]
    script = (
        "import('base58-universal').then(({encode}) => { for (const h of process.argv.slice(1))"
        " console.log('z' + encode(Buffer.from(h, 'hex'))); })"
    )
    out = subprocess.run(
        ["node", "-e", script, *(h.hex() for h in multihashes)],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.split()
    assert out == [digest_multibase(SHA256, sha), digest_multibase(SM3, sm3)]


@pytest.mark.parametrize("algorithm", [SHA256, SM3])
def test_parse_round_trips(algorithm: str) -> None:
    value = hashlib.sha256(algorithm.encode()).digest()
    multihash = (
        bytes([0x12, 0x20]) if algorithm == SHA256 else bytes([0xCD, 0xA6, 0x01, 0x20])
    ) + value
    base64url = "u" + base64.urlsafe_b64encode(multihash).rstrip(b"=").decode()
    expected = DeclaredDigest(algorithm, value)
    assert parse_digest(value.hex(), algorithm) == expected
    assert parse_digest(value.hex().upper(), algorithm.upper()) == expected
    assert parse_digest(digest_multibase(algorithm, value)) == expected
    assert parse_digest(digest_multibase(algorithm, value), algorithm) == expected
    assert parse_digest(base64url) == expected
    assert expected.multibase() == digest_multibase(algorithm, value)


def test_parse_rejections() -> None:
    sha = hashlib.sha256(b"x").digest()
    multibase = digest_multibase(SHA256, sha)
    sha512 = hashlib.sha512(b"x").digest()
    bad = {
        "hex without algorithm": (sha.hex(), None, InvalidDeposit),
        "short hex": (sha.hex()[:-2], SHA256, InvalidDeposit),
        "long hex": (sha.hex() + "00", SM3, InvalidDeposit),
        "empty": ("", SHA256, InvalidDeposit),
        "algorithm mismatch": (multibase, SM3, InvalidDeposit),
        "unknown algorithm": (sha.hex(), "md5", UnsupportedHashAlgorithm),
        "sha2-512 multihash": (
            digest_multibase_raw(bytes([0x13, 0x40]) + sha512),
            None,
            UnsupportedHashAlgorithm,
        ),
        "length byte lies": (digest_multibase_raw(bytes([0x12, 0x1F]) + sha), None, InvalidDeposit),
        "digest too short": (
            digest_multibase_raw(bytes([0x12, 0x20]) + sha[:31]),
            None,
            InvalidDeposit,
        ),
        "trailing bytes": (
            digest_multibase_raw(bytes([0x12, 0x20]) + sha + b"\0"),
            None,
            InvalidDeposit,
        ),
        "not base58": (multibase[:-1] + "0", None, InvalidDeposit),
        "base58 with l": ("z" + "l" * 40, None, InvalidDeposit),
        "other multibase": (
            "m" + base64.b64encode(bytes([0x12, 0x20]) + sha).decode(),
            None,
            InvalidDeposit,
        ),
        "base64url with padding": (
            "u" + base64.urlsafe_b64encode(bytes([0x12, 0x20]) + sha).decode() + "=",
            None,
            InvalidDeposit,
        ),
        "0x hex": ("0x" + sha.hex(), SHA256, InvalidDeposit),
        "not a string": (sha, SHA256, InvalidDeposit),
    }
    for label, (text, algorithm, error) in bad.items():
        with pytest.raises(error):
            parse_digest(text, algorithm)  # type: ignore[arg-type]
            pytest.fail(label)


def digest_multibase_raw(multihash: bytes) -> str:
    return "z" + b58encode(multihash)


def test_digest_multibase_rejects_wrong_sizes() -> None:
    with pytest.raises(InvalidDeposit):
        digest_multibase(SHA256, b"\0" * 31)
    with pytest.raises(UnsupportedHashAlgorithm):
        digest_multibase("sha-512", b"\0" * 64)
