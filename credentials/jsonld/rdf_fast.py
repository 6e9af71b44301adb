"""A fast :class:`~credentials.jsonld.rdfc.Canonicalizer`, byte-identical to the pyld one.

RDF Dataset Canonicalization (https://www.w3.org/TR/rdf-canon/) of a JSON-LD
document (JSON-LD 1.1 API §8 "RDF Serialization/Deserialization",
https://www.w3.org/TR/json-ld11-api/#rdf-serialization-deserialization-algorithms).
Data Integrity's eddsa-rdfc-2022 canonicalizes twice per signature and twice per
verification; pyld spends most of that time in generic expansion and its node
map. Here the active contexts are processed once by pyld and memoised
(:mod:`credentials.jsonld.terms`), the compacted document goes straight to quads
(:mod:`credentials.jsonld.to_rdf`) and RDFC-1.0 runs on tuples of serialized terms
(:mod:`credentials.jsonld.rdf_canon`).

Whatever the fast path does not implement, and whatever pyld refuses, goes to
the reference :class:`~credentials.jsonld.rdfc.PyldCanonicalizer` unchanged: its result
or its error is the answer. So the fast path never has to reproduce an error.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from credentials.jsonld.contexts import CONTEXT_FILES
from credentials.jsonld.rdf_canon import WorkLimitExceeded, canonicalize
from credentials.jsonld.rdfc import MAX_WORK_FACTOR, Canonicalizer, PyldCanonicalizer
from credentials.jsonld.to_rdf import Unsupported, to_quads

_log = logging.getLogger(__name__)


class FastCanonicalizer:
    """RDFC-1.0 canonical N-Quads of documents over the bundled contexts.

    ``fallback`` handles everything else (default: :class:`PyldCanonicalizer`
    with the bundled contexts and the same work factor). Thread-safe.
    """

    def __init__(
        self,
        fallback: Canonicalizer | None = None,
        *,
        max_work_factor: int = MAX_WORK_FACTOR,
    ) -> None:
        self.fallback: Canonicalizer = fallback or PyldCanonicalizer(
            max_work_factor=max_work_factor
        )
        self.max_work_factor = max_work_factor

    def canonize(self, document: Mapping[str, Any]) -> str:
        try:
            canonical = self.try_canonize(document)
        except Exception:  # a gap in the fast path must never change the answer
            _log.warning("fast canonicalization failed; falling back to pyld", exc_info=True)
            canonical = None
        if canonical is None:
            return self.fallback.canonize(document)
        return canonical

    def try_canonize(self, document: Mapping[str, Any]) -> str | None:
        """The canonical form, or ``None`` where only the fallback can answer."""
        if not isinstance(document, Mapping) or not _bundled_contexts(document.get("@context")):
            return None
        try:
            quads = to_quads(document)
            return canonicalize(quads, self.max_work_factor)
        except (Unsupported, WorkLimitExceeded):
            return None


def _bundled_contexts(context: Any) -> bool:
    if isinstance(context, str):
        return context in CONTEXT_FILES
    return (
        isinstance(context, list)
        and bool(context)
        and all(isinstance(url, str) and url in CONTEXT_FILES for url in context)
        and len(set(context)) == len(context)
    )
