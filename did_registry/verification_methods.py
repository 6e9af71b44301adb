"""From a verification method id to the public key it names, checked for a proof purpose.

W3C Controlled Identifiers v1.0 §3.3 "Retrieve Verification Method"
(https://www.w3.org/TR/cid-1.0/#retrieve-verification-method): resolve the
controller document, check its ``id``, find the method by its absolute id, check
the method's ``controller`` is the document, and that the method is listed (by
reference or embedded) under the verification relationship named by the proof
purpose (§2.3, Data Integrity §2.2 "Proof Purposes"). DID Core §5.3 for relative
ids (``#key-1``), DID Resolution for ``versionTime`` and ``deactivated``.

Key formats read (type -> properties):

- ``Multikey`` (CID §2.2.2): ``publicKeyMultibase``;
- ``Ed25519VerificationKey2018`` / ``2020`` (W3C CCG suites): ``publicKeyBase58`` (what
  the notary's did:ethr key carries), ``publicKeyBase64`` (what it carried before the
  base58 migration, see :mod:`did_registry.notary_identity`), ``publicKeyHex``,
  ``publicKeyMultibase``, ``publicKeyJwk``;
- ``EcdsaSecp256k1VerificationKey2019``: ``publicKeyHex`` (compressed or not),
  ``publicKeyJwk``, ``publicKeyBase64``, ``publicKeyBase58``, ``publicKeyMultibase``;
- ``JsonWebKey2020`` / ``JsonWebKey`` (CID §2.2.3): ``publicKeyJwk`` (OKP Ed25519 or
  EC secp256k1, read with jwcrypto; a private JWK is refused);
- ``EcdsaSecp256k1RecoveryMethod2020``: ``blockchainAccountId`` (CAIP-10
  ``eip155:<chain>:<address>``) or ``ethereumAddress``: an address, no key.

Raw and multibase keys are checked as did:key checks them (lengths, points on the
curve, no small-order Ed25519 points). Every refusal is
:class:`InvalidVerificationMethod`, saying why; the layers above give it their own
name (credentials: ``INVALID_VERIFICATION_METHOD``; consortium applications:
``applicationSignatureInvalid``).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from eth_utils.address import is_checksum_address, is_hex_address, to_checksum_address
from jwcrypto import jwk
from jwcrypto.common import JWException

from did_registry.did_key import did_key, parse_did_key
from did_registry.errors import DidError, MethodNotSupported
from did_registry.resolution import DidResolver, ResolutionOptions
from hub_kernel.multiformats import ED25519, SECP256K1, b58decode, varint_decode

log = logging.getLogger(__name__)


class InvalidVerificationMethod(DidError):
    """The verification method does not resolve, or is not authorised for the purpose."""

    code = "invalidVerificationMethod"
    status_code = 422


class UnsupportedKey(DidError):
    """A well-formed key of a type this module does not verify with (reported with its id)."""


PublicKey = Ed25519PublicKey | ec.EllipticCurvePublicKey
MAX_MULTIBASE_LENGTH = 200  # well above any supported key; bounds the quadratic base58 decode

PROOF_PURPOSES = frozenset(
    {"assertionMethod", "authentication", "capabilityInvocation", "capabilityDelegation"}
)
MULTIKEY = "Multikey"
ED25519_TYPES = frozenset({"Ed25519VerificationKey2018", "Ed25519VerificationKey2020"})
SECP256K1_TYPE = "EcdsaSecp256k1VerificationKey2019"
JWK_TYPES = frozenset({"JsonWebKey2020", "JsonWebKey"})
RECOVERY_TYPE = "EcdsaSecp256k1RecoveryMethod2020"
_KEY_PROPERTIES = (
    "publicKeyMultibase",
    "publicKeyBase58",
    "publicKeyBase64",
    "publicKeyHex",
    "publicKeyJwk",
)


@dataclass(frozen=True)
class VerificationKey:
    """A verification method's key, once the method is known to speak for its controller."""

    id: str  # absolute DID URL
    controller: str
    type: str
    ed25519: Ed25519PublicKey | None = None
    secp256k1: ec.EllipticCurvePublicKey | None = None
    address: str | None = None  # EIP-55 checksummed, for EcdsaSecp256k1RecoveryMethod2020


def retrieve_verification_key(
    resolver: DidResolver, method_id: str, purpose: str, *, at: int | None = None
) -> VerificationKey:
    """The key of ``method_id`` if its DID document (as of unix time ``at``) authorises
    it for ``purpose``; :class:`InvalidVerificationMethod` saying why not otherwise.

    ``at`` becomes ``versionTime``: did:ethr resolves the document as of the newest
    block at or before it, so a key rotated out later still verifies what it
    signed; did:key has a single version and ignores it.
    """
    did = _did_of(method_id)
    if purpose not in PROOF_PURPOSES:
        raise InvalidVerificationMethod(
            f"proof purpose {purpose!r} is not a verification relationship"
        )
    try:
        result = resolver.resolve(did, ResolutionOptions(version_time=at))
    except DidError as exc:
        raise InvalidVerificationMethod(
            f"{did} did not resolve ({exc.code}): {exc.message}"
        ) from None
    except Exception as exc:  # an outage (chain node down, database gone) is a failure too
        log.warning("resolving %s failed", did, exc_info=True)
        raise InvalidVerificationMethod(f"resolving {did} failed: {type(exc).__name__}") from None
    if result.did_document_metadata.get("deactivated") is True:
        raise InvalidVerificationMethod(f"{did} is deactivated")
    document = result.did_document
    if not isinstance(document, Mapping):
        raise InvalidVerificationMethod(f"{did} resolved to no DID document")
    if document.get("id") != did:
        raise InvalidVerificationMethod(f"the DID document of {did} has id {document.get('id')!r}")
    method = _find_method(document, did, method_id)
    if not _authorised(document.get(purpose), did, method_id):
        raise InvalidVerificationMethod(f"{method_id} is not authorised for {purpose} by {did}")
    controller = method.get("controller")
    if not isinstance(controller, str) or _absolute(controller, did) != did:
        raise InvalidVerificationMethod(
            f"{method_id} has controller {controller!r}, not its DID document {did}"
        )
    return _key(method, method_id, did)


def _did_of(method_id: Any) -> str:
    if not isinstance(method_id, str) or not method_id.startswith("did:"):
        raise InvalidVerificationMethod(
            f"verification method {str(method_id)[:120]!r} is not a DID URL"
        )
    did, _, fragment = method_id.partition("#")
    if not fragment:
        raise InvalidVerificationMethod(f"verification method {method_id[:120]!r} has no #fragment")
    if "/" in did or "?" in did:
        raise InvalidVerificationMethod(
            f"verification method {method_id[:120]!r}: DID URLs with a path or query "
            "are not supported"
        )
    return did


def _absolute(reference: str, did: str) -> str:
    """DID Core §3.2.2: a relative DID URL (``#frag``) is relative to the document's DID."""
    return did + reference if reference.startswith("#") else reference


def _find_method(document: Mapping[str, Any], did: str, method_id: str) -> Mapping[str, Any]:
    """The method with absolute id ``method_id``, listed or embedded in a relationship."""
    candidates: list[Any] = list(_as_list(document.get("verificationMethod")))
    for purpose in (*sorted(PROOF_PURPOSES), "keyAgreement"):
        candidates.extend(e for e in _as_list(document.get(purpose)) if isinstance(e, Mapping))
    matches = [
        m
        for m in candidates
        if isinstance(m, Mapping)
        and isinstance(m.get("id"), str)
        and _absolute(m["id"], did) == method_id
    ]
    if not matches:
        raise InvalidVerificationMethod(f"{method_id} is not a verification method of {did}")
    if any(m != matches[0] for m in matches[1:]):
        raise InvalidVerificationMethod(f"{did} defines {method_id} more than once, differently")
    method: Mapping[str, Any] = matches[0]
    return method


def _authorised(relationship: Any, did: str, method_id: str) -> bool:
    for entry in _as_list(relationship):
        reference = entry.get("id") if isinstance(entry, Mapping) else entry
        if isinstance(reference, str) and _absolute(reference, did) == method_id:
            return True
    return False


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _key(method: Mapping[str, Any], method_id: str, did: str) -> VerificationKey:
    method_type = method.get("type")
    if not isinstance(method_type, str):
        raise InvalidVerificationMethod(f"{method_id} has no type")
    try:
        if method_type == RECOVERY_TYPE:
            address = _address(method, method_id)
            return VerificationKey(method_id, did, method_type, address=address)
        key = _public_key(method, method_type, method_id)
    except UnsupportedKey as exc:  # e.g. a multicodec that is not Ed25519 or secp256k1
        raise InvalidVerificationMethod(f"{method_id}: {exc.message}") from None
    if isinstance(key, Ed25519PublicKey):
        return VerificationKey(method_id, did, method_type, ed25519=key)
    return VerificationKey(method_id, did, method_type, secp256k1=key)


def _public_key(method: Mapping[str, Any], method_type: str, method_id: str) -> PublicKey:
    if method_type not in (MULTIKEY, SECP256K1_TYPE, *ED25519_TYPES, *JWK_TYPES):
        raise InvalidVerificationMethod(
            f"{method_id}: verification method type {method_type!r} is unsupported"
        )
    present = [name for name in _KEY_PROPERTIES if name in method]
    if len(present) != 1:
        found = ", ".join(present) or "none"
        raise InvalidVerificationMethod(
            f"{method_id} must carry exactly one public key property (found: {found})"
        )
    name = present[0]
    value = method[name]
    if method_type == MULTIKEY:
        if name != "publicKeyMultibase":
            raise InvalidVerificationMethod(f"a Multikey carries publicKeyMultibase, not {name}")
        return _multibase_key(value)
    if method_type in JWK_TYPES:
        if name != "publicKeyJwk":
            raise InvalidVerificationMethod(f"a {method_type} carries publicKeyJwk, not {name}")
        return _jwk_key(value, method_id)
    if method_type in ED25519_TYPES:
        key = _jwk_key(value, method_id) if name == "publicKeyJwk" else _encoded(name, value)
        if not isinstance(key, Ed25519PublicKey):
            raise InvalidVerificationMethod(
                f"{method_id} is an {method_type} without an Ed25519 key"
            )
        return key
    # EcdsaSecp256k1VerificationKey2019
    if name == "publicKeyJwk":
        key = _jwk_key(value, method_id)
    else:
        key = _encoded(name, value, codec=SECP256K1)
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise InvalidVerificationMethod(f"{method_id} is an {method_type} without a secp256k1 key")
    return key


def _encoded(name: str, value: Any, *, codec: int = ED25519) -> PublicKey:
    """A raw key in one of the text encodings; ``publicKeyMultibase`` carries its codec."""
    if not isinstance(value, str):
        raise InvalidVerificationMethod(f"{name} is not a string")
    if name == "publicKeyMultibase":
        return _multibase_key(value)
    try:
        if name == "publicKeyBase58":
            raw = b58decode(value)
        elif name == "publicKeyBase64":
            raw = base64.b64decode(value, validate=True)
        else:  # publicKeyHex
            raw = bytes.fromhex(value.removeprefix("0x"))
    except (ValueError, binascii.Error) as exc:
        raise InvalidVerificationMethod(f"{name} is not valid: {exc}") from None
    if codec == SECP256K1 and len(raw) == 65 and raw[0] == 4:
        # Uncompressed SEC 1 point (what some 2019 documents carry): check it is on the curve.
        try:
            return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256K1(), raw)
        except ValueError as exc:
            raise InvalidVerificationMethod(f"{name} is not a secp256k1 point: {exc}") from None
    return public_key_from_raw(codec, raw)


def _jwk_key(value: Any, method_id: str) -> PublicKey:
    """RFC 7517 / RFC 8037 public JWK: OKP Ed25519 or EC secp256k1 only."""
    if not isinstance(value, Mapping):
        raise InvalidVerificationMethod(f"{method_id}: publicKeyJwk is not a JSON object")
    if "d" in value:
        raise InvalidVerificationMethod(f"{method_id}: publicKeyJwk holds a private key")
    kty, crv = value.get("kty"), value.get("crv")
    if (kty, crv) not in (("OKP", "Ed25519"), ("EC", "secp256k1")):
        raise InvalidVerificationMethod(
            f"{method_id}: JWK kty={kty!r} crv={crv!r} is not supported"
        )
    try:
        key = jwk.JWK.from_json(json.dumps(dict(value))).get_op_key("verify")
    except (JWException, ValueError, TypeError, KeyError) as exc:
        raise InvalidVerificationMethod(f"{method_id}: invalid publicKeyJwk: {exc}") from None
    if isinstance(key, Ed25519PublicKey):
        # The did:key checks (no small-order points) apply to JWK-carried keys too.
        checked = public_key_from_raw(ED25519, key.public_bytes_raw())
        return checked
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256K1):
        return key
    raise InvalidVerificationMethod(f"{method_id}: publicKeyJwk is not an Ed25519 or secp256k1 key")


def _address(method: Mapping[str, Any], method_id: str) -> str:
    account = method.get("blockchainAccountId")
    address: Any
    if isinstance(account, str):
        namespace, _, rest = account.partition(":")
        chain, _, address = rest.partition(":")
        if namespace != "eip155" or not chain.isdigit():
            raise InvalidVerificationMethod(
                f"{method_id}: blockchainAccountId {account[:80]!r} is not eip155:<chain>:<address>"
            )
    else:
        address = method.get("ethereumAddress")
    if not isinstance(address, str) or not is_hex_address(address):
        raise InvalidVerificationMethod(f"{method_id} carries no Ethereum address")
    digits = address[2:]
    if digits not in (digits.lower(), digits.upper()) and not is_checksum_address(address):
        raise InvalidVerificationMethod(
            f"{method_id}: address {address} has a wrong EIP-55 checksum"
        )
    return str(to_checksum_address(address))


def _multibase_key(text: Any) -> PublicKey:
    """A ``publicKeyMultibase`` value: ``z`` + base58btc(varint(multicodec) ‖ raw key)."""
    if not isinstance(text, str) or not text.startswith("z"):
        raise InvalidVerificationMethod(
            "a multibase value must be a base58btc string (start with 'z')"
        )
    if len(text) > MAX_MULTIBASE_LENGTH:
        raise InvalidVerificationMethod(
            f"multibase value longer than {MAX_MULTIBASE_LENGTH} characters"
        )
    try:
        data = b58decode(text[1:])
    except ValueError as exc:
        raise InvalidVerificationMethod(f"malformed base58btc: {exc}") from None
    try:
        codec, used = varint_decode(data)
    except ValueError as exc:
        raise InvalidVerificationMethod(f"malformed multicodec prefix: {exc}") from None
    return public_key_from_raw(codec, data[used:])


def public_key_from_raw(codec: int, raw: bytes) -> PublicKey:
    """A checked Ed25519 or secp256k1 public key from its multicodec and raw bytes, checked
    as did:key checks it (lengths, points on the curve, no small-order Ed25519 points)."""
    if codec not in (ED25519, SECP256K1):
        raise UnsupportedKey(f"multicodec {codec:#x} is not an Ed25519 or secp256k1 key")
    try:
        parsed = parse_did_key(did_key(codec, raw))
    except MethodNotSupported as exc:
        raise UnsupportedKey(exc.message) from None
    except DidError as exc:
        raise InvalidVerificationMethod(f"invalid public key: {exc.message}") from None
    if codec == ED25519:
        return Ed25519PublicKey.from_public_bytes(parsed.public_key)
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256K1(), parsed.public_key)
