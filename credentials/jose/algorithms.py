"""The JOSE signature algorithms Notary Hub accepts, each bound to the one key type it may use.

RFC 8725 (JWT BCP, https://www.rfc-editor.org/rfc/rfc8725) §3.1 "Perform Algorithm
Verification" and §3.2 "Use Appropriate Algorithms": :data:`ALGORITHMS` is an explicit
allow-list and each entry names its key type, so ``alg: none``, an HMAC ``alg`` with a
public key as its secret, or an ES256K header on an Ed25519 key never reaches a signature
check (:class:`UnsupportedAlgorithm`).

- ``EdDSA`` — RFC 8037 §3.1 (https://www.rfc-editor.org/rfc/rfc8037): Ed25519 (OKP) only;
  Ed448 shares the name but is not accepted.
- ``ES256K`` — RFC 8812 §3.2 (https://www.rfc-editor.org/rfc/rfc8812): ECDSA over
  secp256k1 with SHA-256, the signature ``R || S`` (32 bytes each, RFC 7518 §3.4).

ES256K and malleability: ``(r, s)`` and ``(r, n - s)`` both verify, so without a rule one
signature has two tokens. RFC 8812 sets none; did-jwt normalises S before verifying
(accepts both); Ethereum (EIP-2), libsecp256k1, eth_keys and did-jwt's signer produce low S.
We sign with low S and *reject* high S: a notary's evidence is identified by the hash of
the token, so a third party must not be able to mint a second valid token for it. The
cost is refusing the half of ES256K tokens from signers that leave S random (e.g.
OpenSSL-backed ``jose``); EdDSA has no such freedom (RFC 8032 §5.1.7, S < L, checked by
OpenSSL).

Address-only methods (``EcdsaSecp256k1RecoveryMethod2020`` with a ``blockchainAccountId``,
how did:ethr lists ``#controller``): a JWS ES256K signature carries no recovery id, so the
public key is recovered with both ids (eth_keys, over SHA-256 of the signing input, as
did-jwt's ``verifyRecoverableES256K`` does) and accepted only if its Ethereum address
equals the method's (constant-time); the signature is then still checked by jwcrypto
against that recovered key.

The signature operations are jwcrypto's (``JWA.signing_alg``); keys become ``JWK``s with
``JWK.from_pyca``. Public JWKs are memoised by key bytes (public data, a pure function).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from eth_keys.datatypes import Signature as EthSignature
from eth_keys.exceptions import BadSignature
from eth_utils.exceptions import ValidationError as EthKeysValidationError
from jwcrypto.jwa import JWA
from jwcrypto.jwk import JWK

from credentials.errors import KeyResolutionError, ProofError, UnsupportedAlgorithm
from credentials.keys.verification_methods import VerificationKey

SigningKey = Ed25519PrivateKey | ec.EllipticCurvePrivateKey

SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_HALF_ORDER = SECP256K1_ORDER // 2
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


@dataclass(frozen=True, slots=True)
class JoseAlgorithm:
    name: str  # the JWS "alg" value
    kty: str  # RFC 7517 key type of the only keys it may be used with
    crv: str  # and their curve
    signature_length: int  # bytes


ALGORITHMS: Mapping[str, JoseAlgorithm] = MappingProxyType(
    {
        "EdDSA": JoseAlgorithm("EdDSA", "OKP", "Ed25519", 64),
        "ES256K": JoseAlgorithm("ES256K", "EC", "secp256k1", 64),
    }
)
_ENGINES: Mapping[str, Any] = MappingProxyType({name: JWA.signing_alg(name) for name in ALGORITHMS})


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def algorithm(name: object) -> JoseAlgorithm:
    """The allow-listed algorithm ``name``, or :class:`UnsupportedAlgorithm`."""
    if isinstance(name, str) and name in ALGORITHMS:
        return ALGORITHMS[name]
    raise UnsupportedAlgorithm(
        f"JWS alg {_show(name)} is not accepted; allowed: {', '.join(ALGORITHMS)}"
    )


def _is_secp256k1(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) -> bool:
    return isinstance(key.curve, ec.SECP256K1)


def signing_algorithm(key: object, alg: object) -> JoseAlgorithm:
    """``alg`` if ``key`` is a private key of its type, else :class:`UnsupportedAlgorithm`."""
    chosen = algorithm(alg)
    if chosen.crv == "Ed25519" and isinstance(key, Ed25519PrivateKey):
        return chosen
    if (
        chosen.crv == "secp256k1"
        and isinstance(key, ec.EllipticCurvePrivateKey)
        and _is_secp256k1(key)
    ):
        return chosen
    raise UnsupportedAlgorithm(f"alg {chosen.name} needs a {chosen.crv} private key")


def sign(alg: JoseAlgorithm, key: SigningKey, signing_input: bytes) -> bytes:
    """The JWS signature of ``signing_input`` (check the pair with :func:`signing_algorithm`)."""
    signature: bytes = _ENGINES[alg.name].sign(JWK.from_pyca(key), signing_input)
    if alg.name == "ES256K":
        signature = _low_s(signature)
    return signature


def _low_s(signature: bytes) -> bytes:
    s = int.from_bytes(signature[32:], "big")
    if s <= _HALF_ORDER:
        return signature
    return signature[:32] + (SECP256K1_ORDER - s).to_bytes(32, "big")


def verify(
    alg: JoseAlgorithm, key: VerificationKey, signing_input: bytes, signature: bytes
) -> None:
    """Check ``signature`` over ``signing_input`` with the verification method's key.

    :class:`UnsupportedAlgorithm` when the method's key is not of ``alg``'s type;
    :class:`ProofError` when the signature does not verify.
    """
    if len(signature) != alg.signature_length:
        raise ProofError(
            f"an {alg.name} signature is {alg.signature_length} bytes, not {len(signature)}"
        )
    if alg.name == "EdDSA":
        if key.ed25519 is None:
            raise UnsupportedAlgorithm(f"alg EdDSA cannot be used with {key.type} {key.id}")
        public_key: Ed25519PublicKey | ec.EllipticCurvePublicKey = key.ed25519
    else:
        _check_scalars(signature)
        if key.secp256k1 is not None and _is_secp256k1(key.secp256k1):
            public_key = key.secp256k1
        elif key.secp256k1 is None and key.ed25519 is None and key.address is not None:
            public_key = recover_signer(signing_input, signature, key.address)
        else:
            raise UnsupportedAlgorithm(f"alg ES256K cannot be used with {key.type} {key.id}")
    try:
        _ENGINES[alg.name].verify(public_jwk(public_key), signing_input, signature)
    except InvalidSignature:
        raise ProofError(f"the {alg.name} signature does not verify with {key.id}") from None


def _check_scalars(signature: bytes) -> None:
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:], "big")
    if not (0 < r < SECP256K1_ORDER and 0 < s < SECP256K1_ORDER):
        raise ProofError("an ES256K signature's R and S lie in [1, n-1]")
    if s > _HALF_ORDER:
        raise ProofError(
            "the ES256K signature has a high S value; only low-S signatures are accepted"
        )


def address_bytes(address: str) -> bytes:
    """The 20 bytes of ``0x…`` or CAIP-10 ``eip155:<chain>:0x…`` (a ``blockchainAccountId``)."""
    candidate = address.rsplit(":", 1)[-1]
    if not _ADDRESS.fullmatch(candidate):
        raise KeyResolutionError(f"{_show(address)} is not an Ethereum address")
    return bytes.fromhex(candidate[2:])


def recover_signer(
    signing_input: bytes, signature: bytes, address: str
) -> ec.EllipticCurvePublicKey:
    """The public key whose address is ``address`` and that made ``signature``, if any."""
    expected = address_bytes(address)
    digest = hashlib.sha256(signing_input).digest()
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:], "big")
    found: bytes | None = None
    for recovery_id in (0, 1):  # both, always: the work does not depend on which matches
        try:
            candidate = EthSignature(vrs=(recovery_id, r, s))
            public = candidate.recover_public_key_from_msg_hash(digest)
        except (BadSignature, EthKeysValidationError):
            continue
        if hmac.compare_digest(public.to_canonical_address(), expected):
            found = public.to_bytes()
    if found is None:
        raise ProofError(f"the ES256K signature was not made by the key of {address}")
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256K1(), b"\x04" + found)


def public_jwk(key: Ed25519PublicKey | ec.EllipticCurvePublicKey) -> JWK:
    """The public key as a jwcrypto JWK (memoised by its bytes)."""
    if isinstance(key, Ed25519PublicKey):
        return _ed25519_jwk(key.public_bytes_raw())
    return _secp256k1_jwk(key.public_bytes(Encoding.X962, PublicFormat.CompressedPoint))


@lru_cache(maxsize=1024)
def _ed25519_jwk(raw: bytes) -> JWK:
    return JWK.from_pyca(Ed25519PublicKey.from_public_bytes(raw))


@lru_cache(maxsize=1024)
def _secp256k1_jwk(point: bytes) -> JWK:
    return JWK.from_pyca(ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256K1(), point))
