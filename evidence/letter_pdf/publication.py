"""The document-signing certificate's fingerprint in the notary's DID document, on chain.

A verifier has nothing but a chain node, so that is where the notary says which
certificate signs its PDF letters: a did:ethr service (ERC-1056 attribute
``did/svc/NotaryDocumentSigning``, did:ethr method specification "Service Endpoints"),
whose endpoint is the certificate's SHA-256 as an RFC 6920 Named Information URI,
``ni:///sha-256;<base64url>``. Resolvers show it as a ``service`` entry of type
``NotaryDocumentSigning``. Published by the notary's own registrar path at start-up when
missing (idempotent); an older certificate's entry is left in place, and verifiers resolve
the DID as of each signature's timestamp anyway.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from chain_adapter.protocol import Receipt
from did_registry.ethr.attributes import SVC_PREFIX
from did_registry.notary_identity import KEY_VALIDITY, NotaryIdentity
from did_registry.registrar.operations import SetAttribute

SERVICE_TYPE = "NotaryDocumentSigning"
ATTRIBUTE = f"{SVC_PREFIX}{SERVICE_TYPE}"
_NI_PREFIX = "ni:///sha-256;"


def fingerprint_uri(fingerprint: str) -> str:
    """RFC 6920 §3 ``ni`` URI of a SHA-256 given in hex."""
    raw = bytes.fromhex(fingerprint)
    return _NI_PREFIX + base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _fingerprint_of(uri: Any) -> str | None:
    if not isinstance(uri, str) or not uri.startswith(_NI_PREFIX):
        return None
    body = uri.removeprefix(_NI_PREFIX)
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (ValueError, binascii.Error):
        return None
    return raw.hex() if len(raw) == 32 else None


def published_fingerprints(document: Mapping[str, Any] | None) -> set[str]:
    """The hex fingerprints a DID document lists as ``NotaryDocumentSigning`` services."""
    found: set[str] = set()
    services = document.get("service", []) if isinstance(document, Mapping) else []
    for service in services if isinstance(services, list) else []:
        if not isinstance(service, Mapping) or service.get("type") != SERVICE_TYPE:
            continue
        endpoints = service.get("serviceEndpoint")
        for endpoint in endpoints if isinstance(endpoints, list) else [endpoints]:
            value = _fingerprint_of(endpoint)
            if value is not None:
                found.add(value)
    return found


def ensure_published(notary: NotaryIdentity, fingerprint: str) -> Receipt | None:
    """Publish ``fingerprint`` on the notary's DID unless its document lists it already;
    the transaction's receipt, or ``None`` when there was nothing to do."""
    if fingerprint in published_fingerprints(notary.document()):
        return None
    operation = SetAttribute(ATTRIBUTE, fingerprint_uri(fingerprint).encode(), KEY_VALIDITY)
    return notary.registrar.execute(notary.address, operation)
