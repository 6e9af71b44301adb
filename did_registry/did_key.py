"""did:key resolution: a DID document expanded from the public key inside the DID itself.

The did:key Method v0.7 (W3C CCG, https://w3c-ccg.github.io/did-method-key/):

- §2 "Format": ``did:key:[<version>:]<mb-value>``; the multibase value is ``z`` +
  base58btc(varint(multicodec) ‖ raw public key);
- §3.1.1 "Document Creation Algorithm" (steps 1-10, below in :meth:`DidKeyResolver.document`),
  §3.1.2 "Signature Method Creation Algorithm", §3.1.5 "Encryption Method
  Creation Algorithm" with §3.1.6 "Derive Encryption Key" (Ed25519 -> X25519),
  §3.1.7 "Context Creation Algorithm"; verification methods are ``Multikey``
  (Controlled Identifiers §2.2.2 "Multikey"), the spec's default ``publicKeyFormat``.

Supported keys (multicodec table, https://github.com/multiformats/multicodec):
Ed25519 ``0xed`` (32 bytes), secp256k1 ``0xe7`` and P-256 ``0x1200`` (33-byte SEC 1
compressed points). Every malformation is :class:`InvalidDid` (the spec's
``invalidDid`` / ``invalidPublicKeyLength`` / ``invalidPublicKey`` codes); a
well-formed key of another type is :class:`UnsupportedPublicKeyType` (501, as an
unsupported method: the DID is fine, this resolver does not implement it).

The base58btc, varint, multibase and multicodec codecs are the kernel's
(:mod:`hub_kernel.multiformats`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from did_registry.errors import InvalidDid, MethodNotSupported, RepresentationNotSupported
from did_registry.resolution import ResolutionOptions, ResolutionResult
from hub_kernel.multiformats import (
    BLS12_381_G1,
    BLS12_381_G1G2,
    BLS12_381_G2,
    ED25519,
    P256,
    P384,
    P521,
    RSA,
    SECP256K1,
    X25519,
    multibase_decode,
    multibase_encode,
    multicodec_decode,
    multicodec_encode,
)

DID_CONTEXT = "https://www.w3.org/ns/did/v1"
MULTIKEY_CONTEXT = "https://w3id.org/security/multikey/v1"
DID_LD_JSON = "application/did+ld+json"
DID_JSON = "application/did+json"
DID_RESOLUTION = "application/did-resolution"

# multicodec -> raw public key length (§3.1.2 step 3's table, for the supported types)
KEY_LENGTHS = {ED25519: 32, SECP256K1: 33, P256: 33}
# Known key codecs this resolver does not expand (X25519 alone, BLS12-381, P-384, P-521, RSA).
OTHER_KEY_CODECS = {X25519, BLS12_381_G2, BLS12_381_G1, BLS12_381_G1G2, P384, P521, RSA}
MAX_DID_LENGTH = 1024  # far above any supported key; bounds the quadratic base58 decode


class InvalidPublicKeyLength(InvalidDid):
    code = "invalidPublicKeyLength"


class InvalidPublicKey(InvalidDid):
    code = "invalidPublicKey"


class UnsupportedPublicKeyType(MethodNotSupported):
    code = "unsupportedPublicKeyType"


# -- Ed25519 points (RFC 8032 §5.1.3) and the map to X25519 (RFC 7748 §4.1) -----------------

_P = 2**255 - 19
_D = -121665 * pow(121666, -1, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)
_IDENTITY = (0, 1)


def _decode_edwards(encoded: bytes) -> tuple[int, int]:
    """The point an Ed25519 public key encodes, per RFC 8032 §5.1.3; ValueError otherwise."""
    y = int.from_bytes(encoded, "little") & ((1 << 255) - 1)
    sign = encoded[31] >> 7
    if y >= _P:
        raise ValueError("non-canonical y coordinate")
    u, v = (y * y - 1) % _P, (_D * y * y + 1) % _P
    x = u * pow(v, 3, _P) * pow(u * pow(v, 7, _P), (_P - 5) // 8, _P) % _P
    if v * x * x % _P == (-u) % _P:
        x = x * _SQRT_M1 % _P
    elif v * x * x % _P != u:
        raise ValueError("not a point on the curve")
    if x == 0 and sign:
        raise ValueError("invalid sign bit for x = 0")
    if x & 1 != sign:
        x = _P - x
    return x, y


def _edwards_add(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    # RFC 8032 §5.1.4 addition on -x^2 + y^2 = 1 + d x^2 y^2 (complete: d is not a square).
    (x1, y1), (x2, y2) = a, b
    t = _D * x1 * x2 * y1 * y2 % _P
    x3 = (x1 * y2 + y1 * x2) * pow(1 + t, -1, _P) % _P
    y3 = (y1 * y2 + x1 * x2) * pow(1 - t, -1, _P) % _P
    return x3, y3


def _has_small_order(point: tuple[int, int]) -> bool:
    """[8]P is the identity: one of the 8 torsion points, useless (and unsafe) as a key."""
    for _ in range(3):
        point = _edwards_add(point, point)
    return point == _IDENTITY


def ed25519_to_x25519(public_key: bytes) -> bytes:
    """The X25519 public key of an Ed25519 one: RFC 7748 §4.1's birational map u = (1+y)/(1-y).

    The Montgomery u-coordinate is written as 32 bytes little-endian (RFC 7748 §5).
    ``ValueError`` for an invalid or small-order point (where 1 - y can be 0).
    """
    point = _decode_edwards(public_key)
    if _has_small_order(point):
        raise ValueError("small-order point")
    y = point[1]
    u = (1 + y) * pow(1 - y, -1, _P) % _P
    return u.to_bytes(32, "little")


# -- parsing -----------------------------------------------------------------------------------

_DID_KEY = re.compile(r"did:key:(?:(?P<version>[^:]*):)?(?P<mb>[^:]*)")


@dataclass(frozen=True, slots=True)
class DidKey:
    did: str
    multibase: str  # "z" + base58btc(varint(codec) ‖ key)
    codec: int
    public_key: bytes


def multibase_key(codec: int, public_key: bytes) -> str:
    return multibase_encode(multicodec_encode(codec, public_key))


def did_key(codec: int, public_key: bytes) -> str:
    """The did:key of a public key (no validation: for building test and wallet DIDs)."""
    return f"did:key:{multibase_key(codec, public_key)}"


def parse_did_key(did: str) -> DidKey:
    """§3.1.1 steps 2-3 and §3.1.2 steps 2-4: the identifier's parts and its checked key."""
    if not isinstance(did, str) or len(did) > MAX_DID_LENGTH:
        raise InvalidDid("not a did:key (or longer than any supported key makes it)")
    scheme, _, rest = did.partition(":")
    method, _, _ = rest.partition(":")
    if scheme != "did" or not method:
        raise InvalidDid(f"{did[:80]!r} is not a DID")
    if method != "key":
        raise MethodNotSupported(f"did:{method} is not did:key")
    match = _DID_KEY.fullmatch(did)
    if match is None:
        raise InvalidDid("a did:key has the form did:key:[<version>:]<multibase value>")
    version = match["version"]
    if version is not None and not (version.isascii() and version.isdigit() and int(version) > 0):
        raise InvalidDid(f"did:key version {version[:20]!r} is not a positive integer")
    multibase = match["mb"]
    if not multibase.startswith("z"):
        raise InvalidDid("the did:key multibase value must be base58btc (start with 'z')")
    try:
        codec, public_key = multicodec_decode(multibase_decode(multibase))
    except ValueError as exc:
        raise InvalidDid(f"malformed did:key multibase value: {exc}") from None
    if codec not in KEY_LENGTHS:
        if codec in OTHER_KEY_CODECS:
            raise UnsupportedPublicKeyType(f"did:key with multicodec {codec:#x} is not supported")
        raise InvalidDid(f"multicodec {codec:#x} is not a public key type")
    if len(public_key) != KEY_LENGTHS[codec]:
        raise InvalidPublicKeyLength(
            f"a {codec:#x} key is {KEY_LENGTHS[codec]} bytes, not {len(public_key)}"
        )
    _check_key(codec, public_key)
    return DidKey(did, multibase, codec, public_key)


@lru_cache(maxsize=8192)  # only keys that pass are remembered: a failure raises
def _check_key(codec: int, public_key: bytes) -> None:
    """§3.1.2 step 4: the bytes are a valid key of their type, or invalidPublicKey."""
    try:
        if codec == ED25519:
            Ed25519PublicKey.from_public_bytes(public_key)
            # OpenSSL takes any 32 bytes here; decoding the point is the real check.
            if _has_small_order(_decode_edwards(public_key)):
                raise ValueError("small-order point")
        else:
            curve = ec.SECP256K1() if codec == SECP256K1 else ec.SECP256R1()
            if public_key[0] not in (2, 3):
                raise ValueError("not a compressed point")
            ec.EllipticCurvePublicKey.from_encoded_point(curve, public_key)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise InvalidPublicKey(f"invalid {codec:#x} public key: {exc}") from None


# -- the document --------------------------------------------------------------------------------


def _representation(accept: str) -> tuple[bool, str]:
    if accept in (DID_RESOLUTION, DID_LD_JSON):
        return True, DID_LD_JSON
    if accept == DID_JSON:
        return False, DID_JSON
    raise RepresentationNotSupported(
        f"did:key documents are available as {DID_LD_JSON} or {DID_JSON}, not {accept!r}"
    )


class DidKeyResolver:
    """Resolves did:key per the method's Read operation (no network, no state).

    ``enable_encryption_key_derivation`` is the spec's option (the reference
    implementation's default, on): an Ed25519 DID also gets the X25519 key
    agreement key derived from it.
    """

    def __init__(self, *, enable_encryption_key_derivation: bool = True) -> None:
        self._derive = enable_encryption_key_derivation

    def resolve(self, did: str, options: ResolutionOptions | None = None) -> ResolutionResult:
        # versionId / versionTime change nothing: a did:key has exactly one version.
        options = options or ResolutionOptions()
        with_context, content_type = _representation(options.accept)
        document = self.document(did)
        if not with_context:
            del document["@context"]
        return ResolutionResult(
            did_document=document,
            did_resolution_metadata={"contentType": content_type},
            did_document_metadata={},
        )

    def document(self, did: str) -> dict[str, Any]:
        """§3.1.1 Document Creation Algorithm, with Multikey verification methods."""
        parsed = parse_did_key(did)  # steps 2-3 and the key checks of §3.1.2
        signing = _multikey(did, parsed.multibase)  # step 4 (§3.1.2)
        document: dict[str, Any] = {"@context": [DID_CONTEXT, MULTIKEY_CONTEXT], "id": did}
        document["verificationMethod"] = [signing]  # step 6
        for relationship in (  # step 7
            "authentication",
            "assertionMethod",
            "capabilityInvocation",
            "capabilityDelegation",
        ):
            document[relationship] = [signing["id"]]
        if self._derive and parsed.codec == ED25519:  # step 8 (§3.1.5, §3.1.6)
            try:
                x25519 = ed25519_to_x25519(parsed.public_key)
            except ValueError as exc:  # unreachable after _check_key; kept as a guard
                raise InvalidPublicKey(str(exc)) from None
            agreement = _multikey(did, multibase_key(X25519, x25519))
            document["verificationMethod"].append(agreement)
            document["keyAgreement"] = [agreement["id"]]
        # Step 9 (§3.1.7): the default context, then one per verification method type
        # used; every method here is a Multikey, hence exactly these two.
        return document


def _multikey(did: str, multibase: str) -> dict[str, Any]:
    """§3.1.2 steps 5-9 (publicKeyFormat = Multikey)."""
    return {
        "id": f"{did}#{multibase}",
        "type": "Multikey",
        "controller": did,
        "publicKeyMultibase": multibase,
    }
