"""Signed consortium applications for tests, including ones that cannot be signed properly.

:func:`make_application` builds the content field by field (so a test can put an
invalid DID or address in it) and signs it with the real signing code whenever the
content can be signed at all; when it cannot (an address eth-account refuses to
encode, a did:key without its member address) it carries well-formed signatures over
nothing, so that the check that refuses the content is the one under test.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import replace

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from eth_account.signers.local import LocalAccount

from did_registry.consortium.application import (
    ApplicationContent,
    DidProof,
    SignedApplication,
    chain_sha256,
)
from did_registry.consortium.models import NodeType
from did_registry.consortium.signing import (
    DidSigningKey,
    default_verification_method,
    sign_application,
)
from did_registry.did_key import did_key
from did_registry.errors import CertificateRejected
from hub_kernel.multiformats import ED25519

PLACEHOLDER = b"\x01" * 65
HOUR = 3600


def ed25519_did(seed: bytes | None = None) -> tuple[str, Ed25519PrivateKey]:
    """A did:key; from ``seed`` when given, so that it can name a test (xdist workers must
    collect the same ids)."""
    key = Ed25519PrivateKey.from_private_bytes(seed) if seed else Ed25519PrivateKey.generate()
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return did_key(ED25519, raw), key


def node_type_label(node_type: str | int | NodeType) -> str:
    if isinstance(node_type, str):
        return node_type
    return NodeType(node_type).label


def make_application(
    chain_pem: bytes,
    *,
    organisation: str,
    did: str,
    did_key: DidSigningKey,
    node_key: LocalAccount,
    node_type: str | int | NodeType,
    chain_id: int,
    consortium: str,
    organisation_address: str | None = None,
    node_address: str | None = None,
    expires: int | None = None,
    nonce: bytes | None = None,
    verification_method: str | None = None,
) -> SignedApplication:
    if organisation_address is None and did.startswith("did:ethr:"):
        # What a signer fills in (the identity); left out of the JSON, as a signer may.
        signed_address: str | None = did.rsplit(":", 1)[-1]
    else:
        signed_address = organisation_address
    try:
        digest = chain_sha256(chain_pem)
    except CertificateRejected:  # not a chain at all: the certificate check refuses it
        digest = bytes(32)
    content = ApplicationContent(
        organisation=organisation,
        did=did,
        organisation_address=organisation_address,
        node_address=node_address or node_key.address,
        node_type=node_type_label(node_type),
        certificate_chain_sha256=digest,
        chain_id=chain_id,
        consortium=consortium,
        expires=expires or int(time.time()) + HOUR,
        nonce=nonce or secrets.token_bytes(32),
    )
    method = verification_method or _method(did)
    try:
        signed = sign_application(
            replace(content, organisation_address=signed_address),
            chain_pem,
            did_key=did_key,
            node_key=node_key,
            verification_method=method,
        )
        return replace(signed, content=content)
    except Exception:  # unsignable content: refused before any signature is looked at
        proof = DidProof(method, PLACEHOLDER)
        return SignedApplication(content, chain_pem.decode("latin-1"), proof, PLACEHOLDER)


def _method(did: str) -> str:
    try:
        return default_verification_method(did)
    except Exception:
        return did + "#controller"
