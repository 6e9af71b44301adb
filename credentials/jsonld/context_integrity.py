"""The bytes of the bundled contexts, and their digests as VC ``relatedResource`` entries.

VC Data Model 2.0 §5.3 "Integrity of Related Resources"
(https://www.w3.org/TR/vc-data-model-2.0/#integrity-of-related-resources): a credential
may list resources it depends on in ``relatedResource``, each ``{"id", "digestSRI"}``,
where ``digestSRI`` is a Subresource Integrity string over the resource's bytes
(W3C SRI §3.1, https://www.w3.org/TR/SRI/#integrity-metadata: ``<alg>-<base64 digest>``,
several space-separated, optional ``?options``; sha256, sha384, sha512). A context named
in ``@context`` is listed under the URL it has there, so a verifier holding a copy can
check that its copy is the one the issuer used.

The digests are over the files exactly as bundled (and as the hub serves them at
``/contexts/...``), never over a re-serialisation.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from credentials.errors import ContextError, MalformedCredential
from credentials.jsonld.contexts import CONTEXT_FILES

SRI_ALGORITHMS = {"sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}
JSON_LD = "application/ld+json"


@cache
def context_bytes(url: str) -> bytes:
    """The bundled context document of ``url``, byte for byte."""
    if url not in CONTEXT_FILES:
        raise ContextError(f"unknown JSON-LD context {url!r}: only bundled contexts are allowed")
    return resources.files("credentials.jsonld.contexts").joinpath(CONTEXT_FILES[url]).read_bytes()


def digest_sri(data: bytes, algorithm: str = "sha384") -> str:
    """The SRI string of ``data``: ``sha384-<base64 of the SHA-384>`` by default."""
    digest = SRI_ALGORITHMS[algorithm](data).digest()
    return f"{algorithm}-{base64.b64encode(digest).decode('ascii')}"


def related_context(url: str, location: str | None = None) -> list[dict[str, Any]]:
    """``relatedResource`` entries for the bundled context ``url``: one under ``url``
    (as ``@context`` names it), and one under ``location``, where its document can be
    fetched, when that differs; both with the same SHA-384 ``digestSRI``."""
    digest = digest_sri(context_bytes(url))
    entries = [{"id": url, "digestSRI": digest, "mediaType": JSON_LD}]
    if location is not None and location != url:
        entries.append({"id": location, "digestSRI": digest, "mediaType": JSON_LD})
    return entries


def sri_matches(sri: Any, data: bytes) -> bool:
    """Whether ``data`` matches the SRI string ``sri`` (one of its supported digests does).

    :class:`MalformedCredential` for what is no SRI string or names no supported algorithm.
    """
    if not isinstance(sri, str) or not sri.strip():
        raise MalformedCredential("digestSRI must be a non-empty SRI string")
    supported = []
    for token in sri.split():
        algorithm, dash, value = token.partition("-")
        if not dash:
            raise MalformedCredential(f"digestSRI {token!r} is not <algorithm>-<base64>")
        if algorithm in SRI_ALGORITHMS:
            try:
                expected = base64.b64decode(value.partition("?")[0], validate=True)
            except (ValueError, binascii.Error):
                raise MalformedCredential(f"digestSRI {token!r} is not base64") from None
            supported.append(
                hmac.compare_digest(expected, SRI_ALGORITHMS[algorithm](data).digest())
            )
    if not supported:
        raise MalformedCredential(f"digestSRI {sri!r} names no sha256, sha384 or sha512 digest")
    return any(supported)


def bundled_context_mismatches(document: Mapping[str, Any]) -> list[str]:
    """For each ``relatedResource`` naming a context of ``document``'s ``@context`` that is
    bundled here, a message if its ``digestSRI`` is not our copy's (none: all match).

    Entries for other resources (where a context is published, say) are not fetched,
    so not checked. :class:`MalformedCredential` for a malformed ``relatedResource``.
    """
    related = document.get("relatedResource")
    if related is None:
        return []
    entries = related if isinstance(related, list) else [related]
    contexts = document.get("@context")
    named = set(contexts) if isinstance(contexts, list) else {contexts}
    problems = []
    for entry in entries:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("id"), str):
            raise MalformedCredential("each relatedResource must be an object with an id")
        url = entry["id"]
        if url not in named or url not in CONTEXT_FILES:
            continue
        if "digestSRI" not in entry:
            continue  # digestMultibase only: not checked here
        if not sri_matches(entry["digestSRI"], context_bytes(url)):
            problems.append(f"the context {url} is not the one the credential was issued with")
    return problems
