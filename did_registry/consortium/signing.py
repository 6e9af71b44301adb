"""The applicant's side of a consortium application: building and signing it.

Issue 9 item 10. :func:`sign_application` produces the document of
:mod:`did_registry.consortium.application` (the exact EIP-712 payload is documented
there and in ``docs/consortium-application.md``); ``notary-hub consortium
sign-application`` is its command line. Nothing here needs the hub: an applicant
signs offline with its own keys, for the chain id and registry address the
consortium publishes (``notary-hub chain info``).

Key files (:func:`load_private_key`): 32 bytes as 64 hex digits (an Ethereum key,
as wallets export it) or a PEM PKCS#8 private key (Ed25519, or EC on secp256k1).
"""

from __future__ import annotations

import secrets
import time

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from eth_account import Account
from eth_account.signers.local import LocalAccount

from did_registry.consortium.application import (
    DEFAULT_LIFETIME,
    ApplicationContent,
    DidProof,
    SignedApplication,
    chain_sha256,
    signable,
    signing_digest,
)
from did_registry.consortium.errors import MalformedApplication
from did_registry.did_key import parse_did_key
from did_registry.ethr.did import parse_ethr_did

DidSigningKey = LocalAccount | Ed25519PrivateKey


def new_content(
    *,
    organisation: str,
    did: str,
    organisation_address: str | None,
    node_address: str,
    node_type: str,
    certificate_chain: bytes,
    chain_id: int,
    consortium: str,
    lifetime: int = DEFAULT_LIFETIME,
    now: float | None = None,
) -> ApplicationContent:
    """Content with the chain's digest, a fresh random nonce, and ``expires`` = now + lifetime.

    A did:ethr's identity becomes the organisation address when none is given.
    """
    if organisation_address is None and did.startswith("did:ethr:"):
        # The DID's network is taken to be the target chain; the hub checks that it is.
        label = did.split(":")[2] if did.count(":") == 3 else None
        networks: dict[str | int, int] = {chain_id: chain_id}
        if label and not label.startswith("0x"):
            networks[label] = chain_id
        organisation_address = parse_ethr_did(did, networks=networks).address
    return ApplicationContent(
        organisation=organisation,
        did=did,
        organisation_address=organisation_address,
        node_address=node_address,
        node_type=node_type,
        certificate_chain_sha256=chain_sha256(certificate_chain),
        chain_id=chain_id,
        consortium=consortium,
        expires=int(time.time() if now is None else now) + lifetime,
        nonce=secrets.token_bytes(32),
    )


def default_verification_method(did: str) -> str:
    """did:ethr: its ``#controller`` (the owner's account); did:key: its one key."""
    if did.startswith("did:key:"):
        return f"{did}#{parse_did_key(did).multibase}"
    return f"{did}#controller"


def sign_application(
    content: ApplicationContent,
    certificate_chain: bytes,
    *,
    did_key: DidSigningKey,
    node_key: LocalAccount,
    verification_method: str | None = None,
) -> SignedApplication:
    """Sign ``content`` with the DID key and the node key (see the module docstring)."""
    if content.organisation_address is None:
        raise MalformedApplication("the organisation address is needed to sign (a did:key)")
    message = signable(content, content.organisation_address)
    if isinstance(did_key, Ed25519PrivateKey):
        did_signature = did_key.sign(signing_digest(message))
    else:
        did_signature = bytes(did_key.sign_message(message).signature)
    node_signature = bytes(node_key.sign_message(message).signature)
    method = verification_method or default_verification_method(content.did)
    chain = certificate_chain.decode("ascii")
    return SignedApplication(content, chain, DidProof(method, did_signature), node_signature)


def load_private_key(data: bytes, what: str) -> DidSigningKey:
    """A key file: 32 bytes as hex (an Ethereum key) or PEM PKCS#8 (Ed25519 or secp256k1).

    ``ValueError`` names the file's role (``what``), never its content.
    """
    text = data.strip()
    if text.startswith(b"-----BEGIN"):
        try:
            key = load_pem_private_key(text, password=None)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"the {what} is not a usable PEM private key: {exc}") from None
        if isinstance(key, Ed25519PrivateKey):
            return key
        if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256K1):
            secret = key.private_numbers().private_value.to_bytes(32, "big")
            account: LocalAccount = Account.from_key(secret)
            return account
        raise ValueError(f"the {what} is neither Ed25519 nor secp256k1")
    try:
        hex_key = text.decode("ascii").removeprefix("0x")
        if len(hex_key) != 64:
            raise ValueError("not 64 hex digits")
        loaded: LocalAccount = Account.from_key(bytes.fromhex(hex_key))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValueError(
            f"the {what} is neither 64 hex digits nor a PEM private key ({exc})"
        ) from None
    return loaded
