"""Checking that a consortium application proves what it claims, before anything is sent.

Issue 9 item 10; the signed payload is documented in
:mod:`did_registry.consortium.application` (EIP-712 typed data). The service
(:meth:`did_registry.consortium.service.ConsortiumService.apply`) runs these checks, each
with its own refusal (:mod:`did_registry.consortium.errors`), around the X.509
checks of :mod:`did_registry.consortium.x509_checks`:

1. :meth:`ApplicationVerifier.check_target`: the signed domain is this hub's chain id
   and ``ConsortiumRegistry`` (``applicationWrongDomain``), and ``expires`` is in the
   future but at most :data:`MAX_LIFETIME` ahead (``applicationExpired``), so a
   signature cannot be replayed to another registry or chain, or kept for later;
2. :meth:`ApplicationVerifier.check_claims`, once the chain is valid:
   ``certificateChainSha256`` is the chain sent (``certificateChainMismatch``); the
   leaf certificate names the organisation, in its subject O or a subjectAltName
   (``organisationMismatch``); the node key's signature recovers ``nodeAddress``; the
   DID key's signature verifies with a verification method that the DID document,
   resolved now through the hub's resolver, lists under ``authentication`` or
   ``assertionMethod`` (both ``applicationSignatureInvalid``).

The nonce (one use per registry) is the service's to check: it keeps the applications.
Signatures are verified with eth-account (secp256k1 recovery, EIP-2 low ``s`` enforced
by :func:`did_registry.registrar.signatures.parse_signature`) and ``cryptography`` (Ed25519).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from eth_account import Account
from eth_account.messages import SignableMessage
from eth_keys.datatypes import PublicKey
from eth_keys.exceptions import BadSignature
from eth_utils.address import to_checksum_address
from eth_utils.exceptions import ValidationError as EthValidationError

from did_registry.consortium.application import (
    DidProof,
    SignedApplication,
    chain_sha256,
    signable,
    signing_digest,
)
from did_registry.consortium.chain import checked_address
from did_registry.consortium.errors import (
    ApplicationExpired,
    ApplicationSignatureInvalid,
    ApplicationWrongDomain,
    CertificateChainMismatch,
    DidResolutionUnavailable,
    OrganisationMismatch,
)
from did_registry.consortium.x509_checks import CheckedOrganisation
from did_registry.errors import DidError, InvalidApplication, InvalidDid
from did_registry.ethr.did import Networks, parse_ethr_did
from did_registry.registrar.signatures import parse_signature
from did_registry.resolution import DidResolver, ResolutionOptions, ResolutionResult
from did_registry.verification_methods import (
    InvalidVerificationMethod,
    VerificationKey,
    retrieve_verification_key,
)

MAX_LIFETIME = 7 * 24 * 3600  # a signed application is good for at most a week
# did:key with a base58btc multibase key (W3C did:key §3.1); resolution checks the key.
_DID_KEY = re.compile(r"did:key:z[1-9A-HJ-NP-Za-km-z]{32,128}", re.ASCII)
PURPOSES = ("authentication", "assertionMethod")


def member_address(did: str, explicit: str | None, networks: Networks) -> str:
    """The organisation's member account: its did:ethr's identity (on a network of
    ``networks``), or for a did:key, which names no Ethereum account, the one given."""
    if not isinstance(did, str) or len(did) > 256:
        raise InvalidDid("a DID is a string of at most 256 characters")
    if did.startswith("did:key:"):
        if not _DID_KEY.fullmatch(did):
            raise InvalidDid(f"{did!r} is not a did:key with a base58btc (z...) key")
        if explicit is None:
            raise InvalidApplication(
                "a did:key names no Ethereum account: give the organisation address"
            )
        return checked_address("organisation address", explicit)
    if not did.startswith("did:ethr:"):
        raise InvalidDid(f"{did[:32]!r} is neither a did:ethr nor a did:key")
    parsed = parse_ethr_did(did, networks=networks)
    if explicit is not None and checked_address("organisation address", explicit) != (
        parsed.address
    ):
        raise InvalidApplication(
            f"the organisation address {explicit} is not the identity {parsed.address} of {did}"
        )
    return parsed.address


class ApplicationVerifier:
    """The checks of the module docstring for one hub: its chain, registry and resolver."""

    def __init__(
        self,
        resolver: DidResolver,
        chain_id: int,
        consortium: str,
        clock: Callable[[], datetime],
    ) -> None:
        self._resolver = resolver
        self._chain_id = chain_id
        self._consortium = to_checksum_address(consortium)
        self._clock = clock

    def check_target(self, application: SignedApplication) -> None:
        content = application.content
        if content.chain_id != self._chain_id:
            raise ApplicationWrongDomain(
                f"the application was signed for chain {content.chain_id}, this consortium "
                f"is on chain {self._chain_id}"
            )
        if content.consortium.lower() != self._consortium.lower():
            raise ApplicationWrongDomain(
                f"the application was signed for the registry {content.consortium}, this "
                f"consortium is {self._consortium}"
            )
        now = int(self._clock().timestamp())
        if content.expires <= now:
            raise ApplicationExpired(
                f"the application expired at {content.expires} (unix time; now {now}): "
                "sign it again"
            )
        if content.expires > now + MAX_LIFETIME:
            raise ApplicationExpired(
                f"the application expires at {content.expires}, more than {MAX_LIFETIME} s "
                "ahead: sign it with a shorter lifetime"
            )

    def check_claims(
        self,
        application: SignedApplication,
        checked: CheckedOrganisation,
        *,
        organisation_address: str,
        node_address: str,
        did_proof: DidProof,
        node_signature: bytes,
    ) -> None:
        content = application.content
        sent = chain_sha256(application.certificate_chain.encode("ascii"))
        if sent != content.certificate_chain_sha256:
            raise CertificateChainMismatch(
                f"the application signs the certificate chain digest "
                f"0x{content.certificate_chain_sha256.hex()}, the chain sent has 0x{sent.hex()}"
            )
        check_organisation_named(content.organisation, checked.path[0])
        message = signable(content, organisation_address)
        node = recover(message, node_signature, "node")
        if node != node_address:
            raise ApplicationSignatureInvalid(
                f"the node signature is by {node}, not by the node {node_address}"
            )
        self._verify_did_signature(content.did, did_proof, message)

    def _verify_did_signature(self, did: str, proof: DidProof, message: SignableMessage) -> None:
        method = proof.verification_method
        if method.partition("#")[0] != did:
            raise ApplicationSignatureInvalid(
                f"the DID signature names the key {method[:160]}, which is not one of {did}"
            )
        key = self._key(method)
        if key.ed25519 is not None:
            try:
                key.ed25519.verify(proof.signature, signing_digest(message))
            except InvalidSignature:
                raise ApplicationSignatureInvalid(
                    f"the DID signature does not verify with {method}"
                ) from None
            return
        expected = key.address or _address_of(key.secp256k1)
        signer = recover(message, proof.signature, "DID")
        if signer != expected:
            raise ApplicationSignatureInvalid(
                f"the DID signature is by {signer}, not by {method} ({expected})"
            )

    def _key(self, method: str) -> VerificationKey:
        """The method's key if the document authorises it for one of :data:`PURPOSES`."""
        reasons = []
        resolver = _WatchedResolver(self._resolver)
        for purpose in PURPOSES:
            try:
                return retrieve_verification_key(resolver, method, purpose)
            except InvalidVerificationMethod as exc:
                if resolver.failure is not None:
                    did = method.partition("#")[0]
                    raise DidResolutionUnavailable(
                        f"{did} could not be resolved now ({resolver.failure}); the application "
                        "was not judged: try again"
                    ) from None
                reasons.append(exc.message)
        raise ApplicationSignatureInvalid(
            f"{method[:160]} cannot sign for its DID: {reasons[0]}"
            + ("" if reasons[0] == reasons[-1] else f"; {reasons[-1]}")
        )


class _WatchedResolver:
    """The hub's resolver, noting failures that are the hub's (not the applicant's) fault.

    ``retrieve_verification_key`` turns every failure into a refusal of the key; an index
    that has not caught up, or a database or chain that is away (500, 503, anything not
    a :class:`DidError`), must not become a verdict on the application.
    """

    def __init__(self, resolver: DidResolver) -> None:
        self._resolver = resolver
        self.failure: str | None = None

    def resolve(self, did: str, options: ResolutionOptions | None = None) -> ResolutionResult:
        try:
            return self._resolver.resolve(did, options)
        except DidError as exc:
            if exc.status_code in (500, 503):
                self.failure = exc.code
            raise
        except Exception as exc:
            self.failure = type(exc).__name__
            raise


def recover(message: SignableMessage, signature: bytes, who: str) -> str:
    """The address whose secp256k1 key made ``signature`` over ``message`` (65 bytes r‖s‖v)."""
    try:
        vrs = parse_signature(signature)
        return str(Account.recover_message(message, vrs=vrs))
    except DidError as exc:
        raise ApplicationSignatureInvalid(
            f"the {who} signature is not valid: {exc.message}"
        ) from None
    except (BadSignature, EthValidationError, ValueError) as exc:  # no key recovers from it
        raise ApplicationSignatureInvalid(f"the {who} signature is not valid: {exc}") from None


def _address_of(key: ec.EllipticCurvePublicKey | None) -> str:
    if key is None:  # retrieve_verification_key returns one of the three
        raise ApplicationSignatureInvalid("the DID key is neither Ed25519 nor secp256k1")
    point = key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return str(PublicKey(point[1:]).to_checksum_address())


def organisation_names(leaf: x509.Certificate) -> list[str]:
    """What the certificate calls its subject: subject O, and O / DNS / URI subjectAltNames."""
    names = [
        str(a.value) for a in leaf.subject.get_attributes_for_oid(x509.NameOID.ORGANIZATION_NAME)
    ]
    try:
        alternatives = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return names
    for directory in alternatives.get_values_for_type(x509.DirectoryName):
        names.extend(
            str(a.value) for a in directory.get_attributes_for_oid(x509.NameOID.ORGANIZATION_NAME)
        )
    names.extend(alternatives.get_values_for_type(x509.DNSName))
    names.extend(alternatives.get_values_for_type(x509.UniformResourceIdentifier))
    return names


def check_organisation_named(organisation: str, leaf: x509.Certificate) -> None:
    """The application's organisation must be one the certificate names (case and
    whitespace aside, Unicode NFC): a certificate of another organisation proves nothing."""
    wanted = _normal(organisation)
    names = organisation_names(leaf)
    if not any(_normal(name) == wanted for name in names):
        shown = ", ".join(repr(n) for n in names[:5]) or "nothing"
        raise OrganisationMismatch(
            f"the application is for {organisation!r}, but the certificate names {shown}"
        )


def _normal(name: str) -> str:
    return unicodedata.normalize("NFC", " ".join(name.split())).casefold()
