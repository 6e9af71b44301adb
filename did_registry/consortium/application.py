"""The signed consortium application: the exact payload an applicant signs, and its JSON.

Issue 9 item 10. An organisation proves what it claims by signing its application
with its DID key and with its node key. Both sign one EIP-712 typed-data digest
(https://eips.ethereum.org/EIPS/eip-712), encoded by eth-account's
``encode_typed_data``:

.. code-block:: text

    domain  = EIP712Domain(string name, string version, uint256 chainId,
                           address verifyingContract)
              name = "Notary Hub Consortium", version = "1",
              chainId = the consortium chain's id,
              verifyingContract = the ConsortiumRegistry address
    message = ConsortiumApplication(
                  string  organisation,           the organisation's name (its certificate's
                                                  subject O, or a subjectAltName)
                  string  did,                    the organisation's DID
                  address organisationAddress,    the member account: the did:ethr identity,
                                                  or the one named with a did:key
                  address nodeAddress,            the node to admit
                  string  nodeType,               "service" or "producer"
                  bytes32 certificateChainSha256, SHA-256(DER(cert 1) ‖ … ‖ DER(cert n)),
                                                  the chain as sent, leaf first
                  uint256 expires,                unix seconds
                  bytes32 nonce)                  random; a registry accepts it once
    digest  = keccak256(0x19 ‖ 0x01 ‖ hashStruct(domain) ‖ hashStruct(message))

The domain binds a signature to one chain and one registry, ``expires`` and
``nonce`` to one use (see :mod:`did_registry.consortium.verification`). Signatures:

* the node key (secp256k1): ``Account.sign_typed_data``, 65 bytes r ‖ s ‖ v, which must
  recover ``nodeAddress``;
* the DID key, a verification method the DID document lists under ``authentication``
  or ``assertionMethod`` (did:ethr's ``#controller`` is its owner's account):
  a secp256k1 key signs the same way (the recovered address must be the method's),
  an Ed25519 key makes an RFC 8032 signature (64 bytes) over the 32-byte ``digest``.

The JSON document (``docs/consortium-application.md``) carries the message fields
with ``chainId`` and ``consortium`` (the domain's, so a wrong target is named as
such), the PEM chain the digest covers, and the two proofs; byte strings are
``0x``-prefixed lowercase hex. ``organisationAddress`` may be left out for a
did:ethr: it is then the DID's identity, and that is what was signed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eth_account.messages import SignableMessage, encode_typed_data
from eth_utils.crypto import keccak

from did_registry.consortium.certificates import MAX_CHAIN_PEM_BYTES, evidence_hash, parse_chain
from did_registry.consortium.errors import ApplicationUnsigned, MalformedApplication

DOMAIN_NAME = "Notary Hub Consortium"
DOMAIN_VERSION = "1"
PRIMARY_TYPE = "ConsortiumApplication"
TYPES: dict[str, list[dict[str, str]]] = {
    "EIP712Domain": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
        {"name": "verifyingContract", "type": "address"},
    ],
    PRIMARY_TYPE: [
        {"name": "organisation", "type": "string"},
        {"name": "did", "type": "string"},
        {"name": "organisationAddress", "type": "address"},
        {"name": "nodeAddress", "type": "address"},
        {"name": "nodeType", "type": "string"},
        {"name": "certificateChainSha256", "type": "bytes32"},
        {"name": "expires", "type": "uint256"},
        {"name": "nonce", "type": "bytes32"},
    ],
}
DEFAULT_LIFETIME = 24 * 3600
MAX_ORGANISATION_LENGTH = 64  # RFC 5280 Appendix A ub-organization-name
_BYTES32 = re.compile(r"0x[0-9a-f]{64}")
_HEX = re.compile(r"0x(?:[0-9a-fA-F]{2})+")
_CONTENT_KEYS = {
    "organisation",
    "did",
    "organisationAddress",
    "nodeAddress",
    "nodeType",
    "certificateChainSha256",
    "chainId",
    "consortium",
    "expires",
    "nonce",
}


@dataclass(frozen=True, slots=True)
class ApplicationContent:
    """The fields an applicant signs (the EIP-712 message plus its domain's target)."""

    organisation: str
    did: str
    organisation_address: str | None
    node_address: str
    node_type: str
    certificate_chain_sha256: bytes
    chain_id: int
    consortium: str
    expires: int
    nonce: bytes


@dataclass(frozen=True, slots=True)
class DidProof:
    verification_method: str  # absolute DID URL of the key that signed
    signature: bytes


@dataclass(frozen=True, slots=True)
class SignedApplication:
    content: ApplicationContent
    certificate_chain: str  # PEM, leaf first: what certificateChainSha256 covers
    did_proof: DidProof | None
    node_signature: bytes | None

    def to_json(self) -> dict[str, Any]:
        c = self.content
        application: dict[str, Any] = {
            "organisation": c.organisation,
            "did": c.did,
            "nodeAddress": c.node_address,
            "nodeType": c.node_type,
            "certificateChainSha256": "0x" + c.certificate_chain_sha256.hex(),
            "chainId": c.chain_id,
            "consortium": c.consortium,
            "expires": c.expires,
            "nonce": "0x" + c.nonce.hex(),
        }
        if c.organisation_address is not None:
            application["organisationAddress"] = c.organisation_address
        proofs: dict[str, Any] = {}
        if self.did_proof is not None:
            proofs["did"] = {
                "verificationMethod": self.did_proof.verification_method,
                "signature": "0x" + self.did_proof.signature.hex(),
            }
        if self.node_signature is not None:
            proofs["node"] = {"signature": "0x" + self.node_signature.hex()}
        return {
            "application": application,
            "certificateChain": self.certificate_chain,
            "proofs": proofs,
        }

    @classmethod
    def from_json(cls, value: object) -> SignedApplication:
        """Parse the JSON document strictly; :class:`MalformedApplication` saying what is wrong.

        Missing proofs are not a parse error: :func:`require_signatures` refuses them.
        """
        body = _object(value, "the signed application")
        _only(body, {"application", "certificateChain", "proofs"}, "the signed application")
        fields = _object(body.get("application"), "application")
        _only(fields, _CONTENT_KEYS, "application")
        address = fields.get("organisationAddress")
        content = ApplicationContent(
            organisation=_organisation(fields.get("organisation")),
            did=_text(fields.get("did"), "application.did", 256),
            organisation_address=(
                None if address is None else _text(address, "application.organisationAddress", 42)
            ),
            node_address=_text(fields.get("nodeAddress"), "application.nodeAddress", 42),
            node_type=_text(fields.get("nodeType"), "application.nodeType", 16),
            certificate_chain_sha256=_bytes32(
                fields.get("certificateChainSha256"), "application.certificateChainSha256"
            ),
            chain_id=_integer(fields.get("chainId"), "application.chainId"),
            consortium=_text(fields.get("consortium"), "application.consortium", 42),
            expires=_integer(fields.get("expires"), "application.expires"),
            nonce=_bytes32(fields.get("nonce"), "application.nonce"),
        )
        chain = _text(body.get("certificateChain"), "certificateChain", MAX_CHAIN_PEM_BYTES)
        proofs = _object(body.get("proofs", {}), "proofs")
        _only(proofs, {"did", "node"}, "proofs")
        did_proof = node_signature = None
        if proofs.get("did") is not None:
            did = _object(proofs["did"], "proofs.did")
            _only(did, {"verificationMethod", "signature"}, "proofs.did")
            did_proof = DidProof(
                _text(did.get("verificationMethod"), "proofs.did.verificationMethod", 512),
                _signature(did.get("signature"), "proofs.did.signature"),
            )
        if proofs.get("node") is not None:
            node = _object(proofs["node"], "proofs.node")
            _only(node, {"signature"}, "proofs.node")
            node_signature = _signature(node.get("signature"), "proofs.node.signature")
        return cls(content, chain, did_proof, node_signature)


def require_signatures(application: SignedApplication) -> tuple[DidProof, bytes]:
    """Both proofs, or :class:`ApplicationUnsigned` naming the missing ones."""
    missing = [
        name
        for name, proof in (
            ("the DID key's", application.did_proof),
            ("the node key's", application.node_signature),
        )
        if proof is None
    ]
    if missing or application.did_proof is None or application.node_signature is None:
        raise ApplicationUnsigned(
            f"the application lacks {' and '.join(missing)} signature: sign it with "
            "`notary-hub consortium sign-application` (docs/consortium-application.md)"
        )
    return application.did_proof, application.node_signature


def chain_sha256(chain_pem: bytes) -> bytes:
    """certificateChainSha256: SHA-256 over the DER of the certificates as sent, leaf first.

    The construction of the on-chain ``evidenceHash``
    (:func:`did_registry.consortium.certificates.evidence_hash`), over the presented chain
    instead of the validated path; PEM whitespace and headers do not change it.
    """
    return evidence_hash(parse_chain(chain_pem))


def typed_data(content: ApplicationContent, organisation_address: str) -> dict[str, Any]:
    """The EIP-712 ``full_message`` for ``content``; ``organisation_address`` is the one signed."""
    return {
        "types": TYPES,
        "primaryType": PRIMARY_TYPE,
        "domain": {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": content.chain_id,
            "verifyingContract": content.consortium,
        },
        "message": {
            "organisation": content.organisation,
            "did": content.did,
            "organisationAddress": organisation_address,
            "nodeAddress": content.node_address,
            "nodeType": content.node_type,
            "certificateChainSha256": content.certificate_chain_sha256,
            "expires": content.expires,
            "nonce": content.nonce,
        },
    }


def signable(content: ApplicationContent, organisation_address: str) -> SignableMessage:
    return encode_typed_data(full_message=typed_data(content, organisation_address))


def signing_digest(message: SignableMessage) -> bytes:
    """EIP-191 version 0x01 (= EIP-712): keccak256(0x19 ‖ 0x01 ‖ domain hash ‖ struct hash)."""
    return keccak(b"\x19" + message.version + message.header + message.body)


# -- strict JSON reading -----------------------------------------------------------------


def _object(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise MalformedApplication(f"{where} must be a JSON object")
    return value


def _only(value: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise MalformedApplication(f"{where} has unknown members: {', '.join(unknown)}")


def _text(value: object, where: str, limit: int) -> str:
    if not isinstance(value, str) or not value:
        raise MalformedApplication(f"{where} must be a non-empty string")
    if len(value) > limit:
        raise MalformedApplication(f"{where} is longer than {limit} characters")
    return value


def _organisation(value: object) -> str:
    name = _text(value, "application.organisation", MAX_ORGANISATION_LENGTH)
    if name != name.strip():
        raise MalformedApplication("application.organisation has surrounding whitespace")
    return name


def _integer(value: object, where: str) -> int:
    # bool is an int in Python, not in JSON.
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 2**63:
        raise MalformedApplication(f"{where} must be a positive integer")
    return value


def _bytes32(value: object, where: str) -> bytes:
    # Lowercase only: one spelling per value, and eth-account would pad a short one.
    if not isinstance(value, str) or not _BYTES32.fullmatch(value):
        raise MalformedApplication(f"{where} must be 0x and 64 lowercase hex digits")
    return bytes.fromhex(value[2:])


def _signature(value: object, where: str) -> bytes:
    if not isinstance(value, str) or not _HEX.fullmatch(value) or len(value) > 2 + 2 * 72:
        raise MalformedApplication(f"{where} must be 0x-prefixed hex (64 or 65 bytes)")
    return bytes.fromhex(value[2:])
