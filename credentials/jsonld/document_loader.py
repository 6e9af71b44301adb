"""The JSON-LD document loader: bundled contexts only, never the network.

JSON-LD 1.1 API §9.4 "LoadDocumentCallback"
(https://www.w3.org/TR/json-ld11-api/#loaddocumentcallback). VC Data Model 2.0
§4.3 "Contexts" lets a verifier pin the contexts it accepts; Data Integrity §4.5
("Contexts and Vocabularies") warns that fetching them is a tracking and
tampering risk. So every URL outside :data:`credentials.jsonld.contexts.CONTEXT_FILES`
is a :class:`~credentials.errors.ContextError`, whether or not it would resolve.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from importlib import resources
from typing import Any

from credentials.errors import ContextError
from credentials.jsonld.contexts import CONTEXT_FILES


@cache
def _load(url: str) -> dict[str, Any]:
    name = CONTEXT_FILES[url]
    text = resources.files("credentials.jsonld.contexts").joinpath(name).read_text("utf-8")
    document = json.loads(text)
    assert isinstance(document, dict)
    return document


def load_context(url: str) -> dict[str, Any]:
    """The context document for ``url``, a private copy the caller may change."""
    if url not in CONTEXT_FILES:
        raise ContextError(f"unknown JSON-LD context {url!r}: only bundled contexts are allowed")
    return copy.deepcopy(_load(url))


def document_loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """A pyld ``documentLoader``; the returned document is shared and must not be changed.

    pyld copies what it keeps, so handing out the cached object is safe there and
    saves a deep copy on every expansion.
    """
    if url not in CONTEXT_FILES:
        raise ContextError(f"unknown JSON-LD context {url!r}: only bundled contexts are allowed")
    return {"contextUrl": None, "documentUrl": url, "document": _load(url)}
