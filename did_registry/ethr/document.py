"""The did:ethr DID document and metadata, built from an identity's ERC-1056 events.

Pure: no chain, no clock. It reproduces what the reference resolver
(``ethr-did-resolver`` 11.1.3, ``src/resolver.ts`` ``wrapDidDocument`` and
``resolve``; ``src/logParser.ts``; ``src/helpers.ts``) returns for the same chain
state, including its quirks, because verifiers will resolve our DIDs with it:

- did:ethr method specification, "Read (Resolve)"
  (https://github.com/decentralized-identity/ethr-did-resolver/blob/master/doc/did-method-spec.md);
- W3C DID Core §5 (document), §7.1.3 (document metadata: ``deactivated``,
  ``versionId``, ``updated``, ``nextVersionId``, ``nextUpdate``);
- W3C DID Resolution §7.1 (the resolution result).

The events are folded oldest first. A delegate or attribute counts while its
``validTo >= now`` (``now``: the resolved block's timestamp, or the caller's clock
for the latest version, as the reference does); otherwise it revokes the entry with
the same (type, delegate or value). Ids ``#delegate-N`` / ``#service-N`` count
every key or service event seen, revoked or expired ones included, so ids stay
stable as long as history does. An owner change to the zero address deactivates
the DID and ends the fold there.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from did_registry.errors import NotFound, RepresentationNotSupported
from did_registry.ethr.did import EthrDid
from did_registry.ethr.events import AttributeChanged, DelegateChanged, OwnerChanged, RegistryEvent
from did_registry.ethr.values import base58, js_json_parse, utf8
from did_registry.resolution import Head, ResolutionResult

DID_LD_JSON = "application/did+ld+json"
DID_JSON = "application/did+json"
DID_RESOLUTION = "application/did-resolution"  # "the whole result": the reference's default

CONTEXT = [
    "https://www.w3.org/ns/did/v1",
    # EcdsaSecp256k1RecoveryMethod2020 and blockchainAccountId
    "https://w3id.org/security/suites/secp256k1recovery-2020/v2",
    # publicKeyHex and EcdsaSecp256k1VerificationKey2019
    "https://w3id.org/security/v3-unstable",
]

RECOVERY_METHOD = "EcdsaSecp256k1RecoveryMethod2020"
SECP256K1_KEY = "EcdsaSecp256k1VerificationKey2019"
NULL_ADDRESS = "0x" + "00" * 20

# helpers.ts legacyAttrTypes / legacyAlgoMap: the attribute name's <type> part and
# the <algorithm><type> spellings the reference maps to verification method types.
LEGACY_ATTR_TYPES = {
    "sigAuth": "SignatureAuthentication2018",
    "veriKey": "VerificationKey2018",
    "enc": "KeyAgreementKey2019",
}
LEGACY_ALGO_MAP = {
    "Secp256k1VerificationKey2018": SECP256K1_KEY,
    "Ed25519SignatureAuthentication2018": "Ed25519VerificationKey2018",
    "Secp256k1SignatureAuthentication2018": SECP256K1_KEY,
    "RSAVerificationKey2018": "RSAVerificationKey2018",
    "Ed25519VerificationKey2018": "Ed25519VerificationKey2018",
    "X25519KeyAgreementKey2019": "X25519KeyAgreementKey2019",
}
# The reference looks both maps up on plain JS objects, so these names hit
# Object.prototype members: "__proto__" yields an object, the others functions.
_PROTO_OBJECT = "__proto__"
_PROTO_FUNCTIONS = frozenset(
    {
        "constructor", "hasOwnProperty", "isPrototypeOf", "propertyIsEnumerable",
        "toLocaleString", "toString", "valueOf", "__defineGetter__", "__defineSetter__",
        "__lookupGetter__", "__lookupSetter__",
    }
)  # fmt: skip
_DROP = object()  # a JS function value: JSON.stringify leaves the key out

# resolver.ts: /^did\/(pub|svc)\/(\w+)(\/(\w+))?(\/(\w+))?$/ — JS \w is ASCII.
_ATTRIBUTE = re.compile(r"did/(pub|svc)/(\w+)(/(\w+))?(/(\w+))?", re.ASCII)
_MAX_ISO_TIMESTAMP = 253402300799  # 9999-12-31T23:59:59Z


def build_resolution(
    did: EthrDid,
    events: Sequence[RegistryEvent],
    *,
    at: Head | None,
    now: int,
    accept: str = DID_RESOLUTION,
) -> ResolutionResult:
    """The resolution result of ``did`` from its ``events`` (oldest first, any extent).

    ``at`` is the block to resolve as of (``versionId``), ``None`` for the latest
    version; events after it only yield ``nextVersionId`` / ``nextUpdate``.
    ``now`` is the unix time expiries are judged at: the caller passes
    ``at.timestamp`` for a version and its clock for the latest one.
    """
    with_context, content_type = representation(accept)
    fold = _Fold(did, -1 if at is None else at.block_number, now)
    fold.run(events)
    document = fold.document()
    if with_context:
        document["@context"] = list(CONTEXT)
    metadata: dict[str, Any] = {}
    if fold.deactivated:
        metadata["deactivated"] = True
    if fold.version is not None:
        metadata["versionId"] = str(fold.version[0])
        metadata["updated"] = iso_time(fold.version[1])
    if fold.next_version is not None:
        metadata["nextVersionId"] = str(fold.next_version[0])
        metadata["nextUpdate"] = iso_time(fold.next_version[1])
    return ResolutionResult(
        did_document=document,
        did_resolution_metadata={"contentType": content_type},
        did_document_metadata=metadata,
        valid_until=fold.expiry if at is None else None,  # a version is judged at its block
    )


def iso_time(timestamp: int) -> str:
    """A block time as the reference writes it: ISO 8601 UTC, seconds, no milliseconds."""
    if not 0 <= timestamp <= _MAX_ISO_TIMESTAMP:
        # JS would write an extended year ("+010000-…"); no real chain gets there.
        raise NotFound(f"block timestamp {timestamp} is outside the years 1970-9999")
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def representation(accept: str) -> tuple[bool, str]:
    """(include @context, contentType) for ``accept``, as resolver.ts ``resolve`` decides."""
    if accept in (DID_RESOLUTION, DID_LD_JSON):
        # The reference takes "no accept" as JSON-LD; our "whole result" default is that.
        return True, DID_LD_JSON
    if accept == DID_JSON:
        return False, DID_JSON
    raise RepresentationNotSupported(
        f"did:ethr documents are available as {DID_LD_JSON} or {DID_JSON}, not {accept!r}"
    )


@dataclass(frozen=True, slots=True)
class _Event:
    """An event as the reference sees it after logParser.ts: bytes32 fields as text."""

    raw: RegistryEvent
    label: str  # delegate type or attribute name, trailing NULs stripped

    @property
    def block(self) -> int:
        return self.raw.at.block_number

    def key(self) -> str:
        """resolver.ts ``eventIndex``: what a later event must match to revoke this one."""
        raw = self.raw
        if isinstance(raw, DelegateChanged):
            # `delegateType || name`: an empty delegate type falls through to undefined.
            return f"DIDDelegateChanged-{self.label or 'undefined'}-{raw.delegate}"
        assert isinstance(raw, AttributeChanged)
        return f"DIDAttributeChanged-{self.label}-0x{raw.value.hex()}"


def _decoded(events: Sequence[RegistryEvent]) -> list[_Event]:
    out: list[_Event] = []
    for event in events:
        if isinstance(event, OwnerChanged):
            out.append(_Event(event, ""))
            continue
        field = event.delegate_type if isinstance(event, DelegateChanged) else event.name
        label = utf8(field)
        # logParser.ts drops events whose bytes32 is not UTF-8 ("not a DID-spec event").
        if label is not None:
            out.append(_Event(event, label.rstrip("\x00")))
    return out


class _Fold:
    """resolver.ts ``wrapDidDocument``: one pass over the history."""

    def __init__(self, did: EthrDid, height: int, now: int) -> None:
        self.did = did
        self.height = height  # -1: latest
        self.now = now
        self.controller = did.address
        self.deactivated = False
        self.version: tuple[int, int] | None = None  # (block, timestamp)
        self.next_version: tuple[int, int] | None = None
        self.expiry: int | None = None  # the earliest validTo among the live entries
        self.delegates = 0
        self.services = 0
        # Keyed by event key; Python dicts keep JS objects' insertion order
        # (these keys are never array indices, which JS would order first).
        self.auth: dict[str, str] = {}
        self.agreement: dict[str, str] = {}
        self.signing: dict[str, str] = {}
        self.keys: dict[str, dict[str, Any]] = {}
        self.service: dict[str, dict[str, Any]] = {}

    def run(self, events: Sequence[RegistryEvent]) -> None:
        for event in _decoded(events):
            if self.height != -1 and event.block > self.height:
                if self.next_version is None or event.block < self.next_version[0]:
                    self.next_version = (event.block, event.raw.at.block_timestamp)
                continue
            if self.version is None or self.version[0] < event.block:
                self.version = (event.block, event.raw.at.block_timestamp)
            raw = event.raw
            if isinstance(raw, OwnerChanged):
                self.controller = raw.owner
                if raw.owner == NULL_ADDRESS:
                    self.deactivated = True
                    break  # later events (and their versions) are not looked at
            elif raw.valid_to and raw.valid_to >= self.now:
                if self.expiry is None or raw.valid_to < self.expiry:
                    self.expiry = raw.valid_to
                if isinstance(raw, DelegateChanged):
                    self._delegate(event, raw)
                else:
                    self._attribute(event, raw)
            else:
                self._revoke(event)

    def _ref(self, prefix: str, number: int) -> str:
        return f"{self.did.did}#{prefix}-{number}"

    def _delegate(self, event: _Event, raw: DelegateChanged) -> None:
        self.delegates += 1
        if event.label not in ("sigAuth", "veriKey"):
            return  # counted, never shown
        ref, key = self._ref("delegate", self.delegates), event.key()
        if event.label == "sigAuth":
            self.auth[key] = ref
        self.keys[key] = {
            "id": ref,
            "type": RECOVERY_METHOD,
            "controller": self.did.did,
            "blockchainAccountId": f"eip155:{self.did.chain_id}:{raw.delegate}",
        }
        self.signing[key] = ref

    def _attribute(self, event: _Event, raw: AttributeChanged) -> None:
        match = _ATTRIBUTE.fullmatch(event.label)
        if match is None:
            return
        section, algorithm, kind, encoding = match.group(1, 2, 4, 6)
        key = event.key()
        if section == "pub":
            self.delegates += 1
            ref = self._ref("delegate", self.delegates)
            entry: dict[str, Any] = {"id": ref}
            method_type = _method_type(algorithm, kind)
            if method_type is not _DROP:
                entry["type"] = method_type
            entry["controller"] = self.did.did
            if not _set_key_material(entry, encoding, raw.value):
                return  # "pem" that is not UTF-8: counted, not shown
            self.keys[key] = entry
            if kind == "sigAuth":
                self.auth[key] = ref
                self.signing[key] = ref
            elif kind == "enc":
                self.agreement[key] = ref
            else:
                self.signing[key] = ref
        else:
            self.services += 1
            text = utf8(raw.value)
            if text is None:
                return  # not UTF-8: counted, not shown
            try:
                endpoint: Any = js_json_parse(text)
            except ValueError:
                endpoint = text
            self.service[key] = {
                "id": self._ref("service", self.services),
                "type": algorithm,
                "serviceEndpoint": endpoint,
            }

    def _revoke(self, event: _Event) -> None:
        # An expired or revoked entry still takes its number, so later ids do not shift.
        if isinstance(event.raw, DelegateChanged) or event.label.startswith("did/pub/"):
            self.delegates += 1
        elif event.label.startswith("did/svc/"):
            self.services += 1
        key = event.key()
        # The reference leaves keyAgreement alone here: a revoked or expired "enc" key
        # disappears from verificationMethod but its id stays listed in keyAgreement.
        for table in (self.auth, self.signing, self.keys, self.service):
            table.pop(key, None)

    def document(self) -> dict[str, Any]:
        did = self.did.did
        document: dict[str, Any] = {
            "id": did,
            "verificationMethod": [],
            "authentication": [],
            "assertionMethod": [],
        }
        if self.deactivated:
            return document
        controller = f"{did}#controller"
        methods: list[dict[str, Any]] = [
            {
                "id": controller,
                "type": RECOVERY_METHOD,
                "controller": did,
                "blockchainAccountId": f"eip155:{self.did.chain_id}:{self.controller}",
            }
        ]
        refs = [controller]
        # The public-key form's key only speaks for the identity while it owns itself.
        if self.did.public_key is not None and self.controller == self.did.address:
            methods.append(
                {
                    "id": f"{did}#controllerKey",
                    "type": SECP256K1_KEY,
                    "controller": did,
                    "publicKeyHex": self.did.identifier[2:],  # hex case as written in the DID
                }
            )
            refs.append(f"{did}#controllerKey")
        document["verificationMethod"] = methods + list(self.keys.values())
        document["authentication"] = refs + list(self.auth.values())
        document["assertionMethod"] = refs + list(self.signing.values())
        if self.service:
            document["service"] = list(self.service.values())
        if self.agreement:
            document["keyAgreement"] = list(self.agreement.values())
        return document


def _method_type(algorithm: str, kind: str | None) -> Any:
    """resolver.ts: ``legacyAlgoMap[algorithm + (legacyAttrTypes[kind] || kind)] || algorithm``."""
    if kind is None:
        suffix = "undefined"  # JS template literal of a missing group
    elif kind == _PROTO_OBJECT or kind in _PROTO_FUNCTIONS:
        suffix = " [an Object.prototype member]"  # never a legacyAlgoMap key
    else:
        suffix = LEGACY_ATTR_TYPES.get(kind, kind)
    spelled = algorithm + suffix
    if spelled in LEGACY_ALGO_MAP:
        return LEGACY_ALGO_MAP[spelled]
    if spelled == _PROTO_OBJECT:
        return {}
    if spelled in _PROTO_FUNCTIONS:
        return _DROP
    return algorithm


def _set_key_material(entry: dict[str, Any], encoding: str | None, value: bytes) -> bool:
    if encoding in (None, "hex"):
        entry["publicKeyHex"] = value.hex()
    elif encoding == "base64":
        entry["publicKeyBase64"] = base64.b64encode(value).decode("ascii")
    elif encoding == "base58":
        entry["publicKeyBase58"] = base58(value)
    elif encoding == "pem":
        text = utf8(value)
        if text is None:
            return False
        entry["publicKeyPem"] = text
    else:
        entry["value"] = value.hex()  # an encoding the reference does not know: raw hex
    return True
