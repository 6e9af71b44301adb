"""The notary's signature of a WACZ: ``signedData`` in ``datapackage-digest.json``.

Spec: WACZ Signing and Verification 0.1.0 (Webrecorder),
https://specs.webrecorder.net/wacz-auth/0.1.0/ § Signature Data Format, the *anonymous
signature* variant: ``{"hash", "created", "software", "signature", "publicKey"}`` where
``hash`` is the digest file's ``sha256:<hex>`` of ``datapackage.json``, ``created`` is
``datapackage.json``'s, and identity comes from external key management (here: the
notary's key, pinned by the verifier).

The encoding is what ArchiveWeb.page writes and ReplayWeb.page (wabac.js
``verifyWACZSignature``) reads with WebCrypto: ECDSA with SHA-256 over the UTF-8 bytes of
``hash``; ``signature`` the IEEE P1363 form ``r || s`` (not DER), ``publicKey`` the DER
SubjectPublicKeyInfo, both in standard base64 with padding. ReplayWeb.page imports the
key as P-384 (``namedCurve: "P-384"``): a P-256 signature verifies here and in any
WebCrypto that is told the curve, but ReplayWeb.page refuses to import it.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_der_public_key,
)

from evidence.capture.errors import InvalidWaczInput, WaczVerificationFailed

__all__ = [
    "REPLAYWEB_CURVE",
    "SOFTWARE",
    "WaczSigner",
    "public_key_base64",
    "verify_signed_data",
]

SOFTWARE = "Notary Hub"
#: The curve ReplayWeb.page imports an anonymous signature's key with.
REPLAYWEB_CURVE = ec.SECP384R1
# Curve name → bytes of r and of s in the P1363 form.
_CURVES = {"secp256r1": 32, "secp384r1": 48}
_SIGNED_MEMBERS = frozenset({"hash", "created", "software", "version", "signature", "publicKey"})
_REQUIRED = ("hash", "created", "signature", "publicKey")


def _size(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) -> int:
    size = _CURVES.get(key.curve.name)
    if size is None:
        raise InvalidWaczInput(f"a WACZ signing key is P-256 or P-384, not {key.curve.name}")
    return size


def public_key_base64(key: ec.EllipticCurvePublicKey) -> str:
    """The ``publicKey`` member: base64 of the DER SubjectPublicKeyInfo."""
    spki = key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(spki).decode("ascii")


class WaczSigner:
    """Signs a WACZ's datapackage digest with the notary's ECDSA key (a
    :class:`~evidence.capture.wacz_package.DigestSigner`)."""

    def __init__(
        self, private_key: ec.EllipticCurvePrivateKey, *, software: str = SOFTWARE
    ) -> None:
        self._size = _size(private_key)
        self._key = private_key
        self._public = public_key_base64(private_key.public_key())
        self._software = software

    @property
    def public_key(self) -> str:
        """``publicKey`` of every signature: base64 DER SubjectPublicKeyInfo."""
        return self._public

    def sign(self, hash: str, created: str) -> dict[str, str]:
        der = self._key.sign(hash.encode("utf-8"), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        raw = r.to_bytes(self._size, "big") + s.to_bytes(self._size, "big")
        return {
            "hash": hash,
            "created": created,
            "software": self._software,
            "signature": base64.b64encode(raw).decode("ascii"),
            "publicKey": self._public,
        }


def _fail(why: str) -> WaczVerificationFailed:
    return WaczVerificationFailed(f"signature: {why}", "signature")


def _decode(signed: Mapping[str, object], name: str) -> bytes:
    value = signed[name]
    try:
        if not isinstance(value, str):
            raise ValueError
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise _fail(f"{name} is not base64") from None


def _trusted_key(
    signed: Mapping[str, object], trusted: Sequence[ec.EllipticCurvePublicKey]
) -> ec.EllipticCurvePublicKey:
    spki = _decode(signed, "publicKey")
    pinned = {base64.b64decode(public_key_base64(key)) for key in trusted}
    if spki not in pinned:
        raise _fail("signed by a key that is not trusted")
    key = load_der_public_key(spki)
    if not isinstance(key, ec.EllipticCurvePublicKey):  # a pinned key always is
        raise _fail("publicKey is not an ECDSA key")
    return key


def verify_signed_data(
    signed: object, hash: str, trusted: Sequence[ec.EllipticCurvePublicKey]
) -> Mapping[str, object]:
    """Check an anonymous ``signedData`` over ``hash`` by one of the ``trusted`` keys;
    :class:`WaczVerificationFailed` (check ``signature``) with the reason if not."""
    if not isinstance(signed, dict):
        raise _fail("no signedData in datapackage-digest.json")
    unknown = signed.keys() - _SIGNED_MEMBERS
    missing = [name for name in _REQUIRED if not isinstance(signed.get(name), str)]
    if unknown or missing:
        odd = sorted(unknown)[0] if unknown else missing[0]
        raise _fail(f"signedData member {odd!r} is not allowed or missing")
    if signed["hash"] != hash:
        raise _fail("signedData is over another datapackage hash than the digest file's")
    key = _trusted_key(signed, trusted)
    raw, size = _decode(signed, "signature"), _size(key)
    if len(raw) != 2 * size:
        raise _fail(f"a {key.curve.name} signature is {2 * size} bytes (r || s)")
    der = encode_dss_signature(int.from_bytes(raw[:size], "big"), int.from_bytes(raw[size:], "big"))
    try:
        key.verify(der, hash.encode("utf-8"), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise _fail("the signature does not verify") from None
    return signed
