"""A did:key holder and the credentials it presents, for the presentation tests and benchmark.

:func:`did_key_holder` is an Ed25519 (or secp256k1) did:key made from a seed, with its
verification method URL; :func:`credential_for` is a credential about the holder,
issued by another did:key with the project's Data Integrity code (or as a vc+jwt), so
any verifier can check it offline.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from credentials.data_integrity.proofs import SigningKey, add_proof
from credentials.jose.vc_jose import sign_credential_jwt
from did_registry.did_key import did_key, multibase_key
from hub_kernel.multiformats import ED25519, SECP256K1

VC_V2 = "https://www.w3.org/ns/credentials/v2"
VALID_FROM = "2025-01-01T00:00:00Z"


@dataclass(frozen=True)
class Holder:
    did: str
    method: str  # the verification method URL of ``key``
    key: Ed25519PrivateKey | ec.EllipticCurvePrivateKey


def did_key_holder(seed: str, kind: str = "ed25519") -> Holder:
    """A did:key for ``seed``: the same seed gives the same DID."""
    secret = hashlib.sha256(seed.encode()).digest()
    key: Ed25519PrivateKey | ec.EllipticCurvePrivateKey
    if kind == "ed25519":
        key = Ed25519PrivateKey.from_private_bytes(secret)
        codec, public = ED25519, key.public_key().public_bytes_raw()
    else:
        key = ec.derive_private_key(int.from_bytes(secret, "big"), ec.SECP256K1())
        codec = SECP256K1
        public = key.public_key().public_bytes(Encoding.X962, PublicFormat.CompressedPoint)
    did = did_key(codec, public)
    return Holder(did, f"{did}#{multibase_key(codec, public)}", key)


def credential_for(subject: str, issuer: Holder, *, jwt: bool = False, **claims: Any) -> Any:
    """A credential about ``subject`` signed by ``issuer`` (eddsa-rdfc-2022, or vc+jwt)."""
    credential = {
        "@context": [VC_V2],
        "type": ["VerifiableCredential"],
        "issuer": issuer.did,
        "validFrom": VALID_FROM,
        "credentialSubject": {"id": subject, **claims},
    }
    if jwt:
        alg = "EdDSA" if isinstance(issuer.key, Ed25519PrivateKey) else "ES256K"
        return sign_credential_jwt(credential, key=issuer.key, kid=issuer.method, alg=alg)
    assert isinstance(issuer.key, Ed25519PrivateKey)
    return add_proof(credential, suite="eddsa-rdfc-2022", key=SigningKey(issuer.method, issuer.key))
