"""The notary's own DID: its controller key, its signing keys and its key-agreement key.

Issue 3 §7. The notary DID is the did:ethr of the hub's node account (the
controller key) on the hub's chain, ``did:ethr:<chain id hex>:<address>``
(did:ethr method specification, "Method Specific Identifier"). On first start it
publishes, as ERC-1056 attributes (method specification, "Public Keys"):

* an Ed25519 signing key, ``did/pub/Ed25519/veriKey/base58``: resolvers make it an
  ``Ed25519VerificationKey2018`` with ``publicKeyBase58`` in ``assertionMethod``,
  which is what signs credentials (``sigAuth`` would add ``authentication``, which
  the notary does not log in with);
* an X25519 key, ``did/pub/X25519/enc/base64``: an ``X25519KeyAgreementKey2019``
  in ``keyAgreement``, for messages encrypted to the notary.

Values are the raw 32-byte keys (RFC 8032 §5.1.5, RFC 7748 §5); the encoding suffix
only says how resolvers render them (ethr-did-resolver ``resolver.js``: ``base58``
-> ``publicKeyBase58``, ``base64`` -> ``publicKeyBase64``). The validity is the
registrar's maximum, so keys end by revocation, not by accident.

Why base58 for the signing key: Digital Bazaar's verifiers
(``@digitalbazaar/ed25519-multikey`` ``from``, used by the ``eddsa-rdfc-2022``
cryptosuite) read an ``Ed25519VerificationKey2018`` only from ``publicKeyBase58``
(the Ed25519Signature2018 suite, https://w3c-ccg.github.io/lds-ed25519-2018/).
Notaries started before that published their key as ``.../base64``
(:data:`LEGACY_SIGNING_ATTRIBUTE`): on start, :func:`ensure_notary_identity`
rotates such a key (:meth:`NotaryIdentity.migrate_legacy_signing_key`) to a new
one published as base58. The old attribute is not revoked: verifiers resolve the
DID as of each proof's ``created`` (and the old method stays listed), so every
letter signed before the rotation keeps verifying.

State lives only where it has to: the key store holds the private keys, encrypted
at rest, as ``notary-ed25519-<n>`` / ``notary-x25519-<n>`` (the highest ``n`` is
the newest; rotated keys stay, so history still verifies), and the chain says
which public keys are published or revoked. No table: nothing can disagree.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from chain_adapter.protocol import Receipt
from did_registry.errors import Deactivated, NotFound, NotOwner
from did_registry.ethr.attributes import public_key_name
from did_registry.ethr.did import ethr_did_for
from did_registry.registrar.operations import MAX_VALIDITY, RevokeAttribute, SetAttribute
from did_registry.registrar.service import Registrar
from did_registry.resolution import DidResolver
from hub_kernel.keystore import KeyExists, KeyStore
from hub_kernel.multiformats import b58decode

SIGNING_KIND = "ed25519"
AGREEMENT_KIND = "x25519"
SIGNING_ATTRIBUTE = public_key_name("Ed25519", "veriKey", "base58")
LEGACY_SIGNING_ATTRIBUTE = public_key_name("Ed25519", "veriKey", "base64")
AGREEMENT_ATTRIBUTE = public_key_name("X25519", "enc", "base64")
KEY_VALIDITY = MAX_VALIDITY
_ATTRIBUTES = {SIGNING_KIND: SIGNING_ATTRIBUTE, AGREEMENT_KIND: AGREEMENT_ATTRIBUTE}
# Every attribute a key of each kind may be published under, the one new keys use first.
_PUBLISHED_AS = {
    SIGNING_KIND: (SIGNING_ATTRIBUTE, LEGACY_SIGNING_ATTRIBUTE),
    AGREEMENT_KIND: (AGREEMENT_ATTRIBUTE,),
}
_KEY_NAME = re.compile(r"notary-(ed25519|x25519)-([1-9][0-9]{0,8})")

KeyState = Literal["published", "revoked", "expired", "unpublished"]


def key_name(kind: str, index: int) -> str:
    return f"notary-{kind}-{index}"


@dataclass(frozen=True, slots=True)
class NotaryKey:
    """One of the notary's keys: where its secret is, and what the chain says about it."""

    name: str  # in the key store
    kind: str  # "ed25519" or "x25519"
    index: int
    public_key: bytes
    attribute: str  # the did/pub/... attribute name it is published under
    state: KeyState
    valid_to: int | None  # of its last attribute event; 0 once revoked

    @property
    def public_key_base64(self) -> str:
        return base64.b64encode(self.public_key).decode("ascii")


@dataclass(frozen=True, slots=True)
class Rotation:
    previous: NotaryKey | None
    current: NotaryKey
    published: Receipt
    revoked: Receipt | None


def _private(kind: str, secret: bytes) -> Ed25519PrivateKey | X25519PrivateKey:
    if kind == SIGNING_KIND:
        return Ed25519PrivateKey.from_private_bytes(secret)
    return X25519PrivateKey.from_private_bytes(secret)


def _public_bytes(kind: str, secret: bytes) -> bytes:
    return _private(kind, secret).public_key().public_bytes_raw()


class NotaryIdentity:
    """The notary DID of one hub; every question is answered afresh from key store and chain.

    Re-reading (instead of caching) means a rotation made by another process of the
    same hub, e.g. ``notary-hub keys rotate``, is seen at once.
    """

    def __init__(
        self, keystore: KeyStore, registrar: Registrar, *, resolver: DidResolver | None = None
    ) -> None:
        self._keystore = keystore
        self._registrar = registrar
        self._resolver = resolver
        self.address = registrar.address
        self.did = ethr_did_for(self.address, registrar.chain_id)

    @property
    def registrar(self) -> Registrar:
        return self._registrar

    def list_keys(self, kind: str | None = None) -> list[NotaryKey]:
        """The notary's keys (of ``kind``, if given), oldest first, with their chain state."""
        found = []
        for name in self._keystore.names():
            match = _KEY_NAME.fullmatch(name)
            if match and kind in (None, match.group(1)):
                found.append((match.group(1), int(match.group(2)), name))
        if not found:
            return []
        last = self._last_events()
        now = self._registrar.head_timestamp()
        keys = []
        for key_kind, index, name in sorted(found):
            public = _public_bytes(key_kind, self._keystore.get(name))
            attribute, state, valid_to = _chain_state(key_kind, public, last, now)
            keys.append(NotaryKey(name, key_kind, index, public, attribute, state, valid_to))
        return keys

    def signing_key(self) -> NotaryKey:
        """The newest published Ed25519 key: the one new signatures are made with."""
        return self._newest_published(SIGNING_KIND)

    def agreement_key(self) -> NotaryKey:
        return self._newest_published(AGREEMENT_KIND)

    def private_signing_key(self, key: NotaryKey) -> Ed25519PrivateKey:
        """The private half of ``key`` (any of the notary's Ed25519 keys, current or not)."""
        private = _private(SIGNING_KIND, self._keystore.get(key_name(SIGNING_KIND, key.index)))
        assert isinstance(private, Ed25519PrivateKey)
        return private

    def private_agreement_key(self, key: NotaryKey) -> X25519PrivateKey:
        private = _private(AGREEMENT_KIND, self._keystore.get(key_name(AGREEMENT_KIND, key.index)))
        assert isinstance(private, X25519PrivateKey)
        return private

    def document(self) -> Mapping[str, Any]:
        """The notary's DID document now, from the resolver given at construction."""
        if self._resolver is None:
            raise NotFound("no DID document given and no resolver to resolve the notary DID")
        document = self._resolver.resolve(self.did).did_document
        if document is None:
            raise NotFound(f"the notary DID {self.did} did not resolve")
        return document

    def current_signing_key(
        self, document: Mapping[str, Any] | None = None
    ) -> tuple[str, Ed25519PrivateKey]:
        """(verification method id fragment, private key) of the newest key the document lists.

        The ``#delegate-N`` ids are numbered by resolvers from event order, so the id
        is looked up in a resolved document (``document``, or the notary DID resolved
        with the resolver given at construction) by the public key, never predicted.
        """
        if document is None:
            document = self.document()
        for key in reversed(self.list_keys(SIGNING_KIND)):
            fragment = verification_method_fragment(document, key.public_key, "assertionMethod")
            if fragment is not None:
                return fragment, self.private_signing_key(key)
        raise NotFound(
            f"none of the notary's signing keys is an assertionMethod of {self.did}: "
            "run `notary-hub keys rotate`"
        )

    def rotate(self, *, revoke_old: bool = False) -> Rotation:
        """Publish a new Ed25519 key, making it current; optionally revoke the previous one.

        The previous private key stays in the key store: credentials it signed must
        still verify against the DID resolved as of their issuance.
        """
        try:
            previous: NotaryKey | None = self.signing_key()
        except NotFound:
            previous = None
        current = self._create(SIGNING_KIND)
        published = self._publish(current)
        revoked = None
        if revoke_old and previous is not None:
            revoked = self._registrar.execute(
                self.address, RevokeAttribute(previous.attribute, previous.public_key)
            )
        return Rotation(previous, self._reload(current), published, revoked)

    def migrate_legacy_signing_key(self) -> Rotation | None:
        """Rotate to a base58-published key if the current signing key is published only
        as base64 (:data:`LEGACY_SIGNING_ATTRIBUTE`); ``None`` when there is nothing to do.

        A new key rather than the same one re-published: each key then has exactly one
        attribute, and its ``#delegate-N`` method is unambiguous. The old key is not
        revoked, so what it signed still verifies (DID resolved as of ``created``).
        """
        try:
            current = self.signing_key()
        except NotFound:
            return None
        if current.attribute != LEGACY_SIGNING_ATTRIBUTE:
            return None
        return self.rotate()

    def publish_missing(self) -> list[NotaryKey]:
        """Create and publish the newest key of each kind unless it exists and is on chain.

        Keys that were published and later revoked or expired are left alone: only
        ``keys rotate`` replaces them, deliberately.
        """
        owner = self._registrar.owner(self.address)
        if owner != self.address:
            raise NotOwner(
                f"the notary DID {self.did} is owned by {owner}: the hub can no longer update it"
            )
        if self._registrar.is_deactivated(self.address):
            raise Deactivated(f"the notary DID {self.did} is deactivated")
        published = []
        for kind in (SIGNING_KIND, AGREEMENT_KIND):
            existing = self.list_keys(kind)
            newest = existing[-1] if existing else self._create(kind)
            if newest.state == "unpublished":
                self._publish(newest)
                published.append(self._reload(newest))
        return published

    # -- internals --------------------------------------------------------------------

    def _last_events(self) -> dict[tuple[str, bytes], int]:
        """(attribute name, value) -> validTo of its last event for the notary address."""
        last: dict[tuple[str, bytes], int] = {}
        for event in self._registrar.events(self.address, "DIDAttributeChanged"):
            name = bytes(event.args["name"]).rstrip(b"\x00").decode("ascii", "replace")
            last[(name, bytes(event.args["value"]))] = int(event.args["validTo"])
        return last

    def _newest_published(self, kind: str) -> NotaryKey:
        for key in reversed(self.list_keys(kind)):
            if key.state == "published":
                return key
        raise NotFound(f"the notary DID {self.did} has no published {kind} key")

    def _create(self, kind: str) -> NotaryKey:
        indexes = [k.index for k in self.list_keys(kind)]
        index = max(indexes, default=0) + 1
        while True:
            secret = (
                Ed25519PrivateKey.generate().private_bytes_raw()
                if kind == SIGNING_KIND
                else X25519PrivateKey.generate().private_bytes_raw()
            )
            try:
                self._keystore.put(key_name(kind, index), secret, kind=kind)
                break
            except KeyExists:  # another process of this hub took the index first
                index += 1
        public = _public_bytes(kind, secret)
        name = key_name(kind, index)
        return NotaryKey(name, kind, index, public, _ATTRIBUTES[kind], "unpublished", None)

    def _publish(self, key: NotaryKey) -> Receipt:
        return self._registrar.execute(
            self.address, SetAttribute(key.attribute, key.public_key, KEY_VALIDITY)
        )

    def _reload(self, key: NotaryKey) -> NotaryKey:
        return next(k for k in self.list_keys(key.kind) if k.index == key.index)


def _chain_state(
    kind: str, public: bytes, last: Mapping[tuple[str, bytes], int], now: int
) -> tuple[str, KeyState, int | None]:
    """(attribute, state, validTo) of ``public``: the attribute it is published under now,
    else the first it has events under, else the one new keys of ``kind`` use."""
    seen = [(a, last[(a, public)]) for a in _PUBLISHED_AS[kind] if (a, public) in last]
    live = [(a, v) for a, v in seen if v >= now]
    if not seen:
        return _ATTRIBUTES[kind], "unpublished", None
    attribute, valid_to = (live or seen)[0]
    state: KeyState
    if valid_to == 0:
        state = "revoked"
    elif valid_to < now:
        state = "expired"
    else:
        state = "published"
    return attribute, state, valid_to


def _key_material(method: Mapping[str, Any]) -> bytes | None:
    """The raw public key of a verification method, for the encodings did:ethr produces."""
    try:
        if isinstance(method.get("publicKeyHex"), str):
            return bytes.fromhex(method["publicKeyHex"].removeprefix("0x"))
        if isinstance(method.get("publicKeyBase64"), str):
            return base64.b64decode(method["publicKeyBase64"], validate=True)
        if isinstance(method.get("publicKeyBase58"), str):
            return b58decode(method["publicKeyBase58"])
        jwk = method.get("publicKeyJwk")
        if isinstance(jwk, Mapping) and isinstance(jwk.get("x"), str) and "y" not in jwk:
            text = jwk["x"]
            return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, binascii.Error):
        return None
    return None


def verification_method_fragment(
    document: Mapping[str, Any], public_key: bytes, relationship: str
) -> str | None:
    """The id fragment of the method in ``document[relationship]`` whose key is ``public_key``.

    ``None`` if no such method; relationship entries may be id references or
    embedded methods (DID Core §5.3).
    """
    listed = document.get("verificationMethod", [])
    methods = {m.get("id"): m for m in listed if isinstance(m, Mapping)}
    for entry in document.get(relationship, []):
        method = methods.get(entry) if isinstance(entry, str) else entry
        if isinstance(method, Mapping) and _key_material(method) == public_key:
            method_id = str(method.get("id", ""))
            return method_id.partition("#")[2] or None
    return None


def ensure_notary_identity(
    keystore: KeyStore,
    registrar: Registrar,
    *,
    resolver: DidResolver | None = None,
    created: list[str] | None = None,
) -> NotaryIdentity:
    """The notary identity, with its keys created and published on first start, and a
    base64-published signing key rotated to a base58 one (idempotent)."""
    identity = NotaryIdentity(keystore, registrar, resolver=resolver)
    report: list[str] = []
    for key in identity.publish_missing():
        report.append(
            f"notary {key.kind} key {key.name} published for {identity.did} ({key.attribute})"
        )
    rotation = identity.migrate_legacy_signing_key()
    if rotation is not None and rotation.previous is not None:
        report.append(
            f"notary signing key {rotation.previous.name} was published only as base64: "
            f"now signing with {rotation.current.name} ({rotation.current.attribute}); "
            f"{rotation.previous.name} stays published for what it signed"
        )
    if created is not None:
        created.extend(report)
    return identity


def open_notary_identity(
    keystore: KeyStore,
    registrar: Registrar,
    *,
    resolver: DidResolver | None = None,
    created: list[str],
) -> NotaryIdentity:
    """Hub start-up: the notary identity of the hub whose node account sends with
    ``registrar`` and whose keys ``keystore`` holds, ensured; what was created goes to
    ``created`` (the hub's first-start report)."""
    return ensure_notary_identity(keystore, registrar, resolver=resolver, created=created)
