"""The canonicalization seam: JSON-LD document -> canonical N-Quads (RDFC-1.0).

RDF Dataset Canonicalization (https://www.w3.org/TR/rdf-canon/): §4.4 the
canonicalization algorithm, §4.4.3 step 5's "Hash N-Degree Quads" limit against
dataset poisoning (§6.1 "Dataset Poisoning"), §4.6 canonical N-Quads. The JSON-LD
to RDF step is JSON-LD 1.1 API §8 "Deserialize JSON-LD to RDF"
(https://www.w3.org/TR/json-ld11-api/#deserialize-json-ld-to-rdf-algorithm).

Cryptosuites take a :class:`Canonicalizer`; :class:`PyldCanonicalizer` is the
reference one, built on pyld (its URDNA2015 is RDFC-1.0's algorithm under its
former name). It is strict where a signature would otherwise silently cover less
than the document says (VC Data Integrity §2.4.1, jsonld.js "safe mode"):

- a term the contexts do not define, which expansion would drop, is a ContextError;
- a relative IRI (pyld would resolve it against ``http://example.org/base/`` or
  drop the triple) or a blank node property (dropped from RDF) is malformed;
- characters that RDFC-1.0's canonical N-Quads escape differently from pyld's
  serialiser (control characters other than TAB/LF/CR in literals, and the
  characters IRIs may not hold) are refused, so no hub signature ever depends
  on pyld's divergence from other implementations;
- contexts come only from the given loader (the bundled ones by default).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from cachetools import LRUCache
from pyld import jsonld
from pyld.canon import URDNA2015
from pyld.context_resolver import ContextResolver

from credentials.errors import ContextError, CredentialError, MalformedCredential
from credentials.jsonld.document_loader import document_loader as bundled_document_loader

DocumentLoader = Callable[[str, dict[str, Any]], dict[str, Any]]

# An absolute IRI (RFC 3987 scheme) or blank node id with no whitespace: anything else
# pyld's toRdf silently drops (its test is `([A-Za-z][A-Za-z0-9+-.]*|_):[^\s]*`).
_ABSOLUTE_IRI = re.compile(r"(?:[A-Za-z][A-Za-z0-9+.\-]*|_):\S*")
# Characters RDFC-1.0 (like rdf-canonize) writes as UCHAR or ECHAR and pyld writes raw.
_LITERAL_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_IRI_UNSAFE = re.compile(r'[\x00-\x20<>"{}|^`\\]')
# JSON-LD 1.1 API §9.4.3 error codes raised while processing a context.
_CONTEXT_ERROR_CODES = frozenset(
    {
        "context overflow", "cyclic IRI mapping", "invalid @import value",
        "invalid @propagate value", "invalid @protected value", "invalid @version value",
        "invalid base IRI", "invalid base direction", "invalid container mapping",
        "invalid context entry", "invalid context nullification", "invalid default language",
        "invalid IRI mapping", "invalid keyword alias", "invalid language mapping",
        "invalid local context", "invalid remote context", "invalid reverse property",
        "invalid scoped context", "invalid term definition", "invalid type mapping",
        "invalid vocab mapping", "keyword redefinition", "loading remote context failed",
        "processing mode conflict", "protected term redefinition",
    }
)  # fmt: skip
MAX_WORK_FACTOR = 1
# JSON nesting deeper than any credential needs; pyld's recursive expansion and the
# blank-node hashing of long chains grow quadratically with it (5000 levels: ~1 min).
MAX_DEPTH = 64  # rdf-canonize's default: deep iterations <= (non-unique blank nodes)^1


class Canonicalizer(Protocol):
    """Turns a JSON-LD document into its RDFC-1.0 canonical N-Quads (UTF-8 text).

    Raises :class:`ContextError` for contexts it cannot or will not load, or terms
    they do not define, and :class:`MalformedCredential` for anything else that
    cannot be canonicalized faithfully.
    """

    def canonize(self, document: Mapping[str, Any]) -> str: ...


class _GuardedUrdna2015(URDNA2015):  # type: ignore[misc]
    """pyld's canonicalization with RDFC-1.0's limit on Hash N-Degree Quads calls."""

    def __init__(self, max_work_factor: int) -> None:
        super().__init__()
        self._factor = max_work_factor
        self._remaining: int | None = None

    def hash_n_degree_quads(self, id_: str, issuer: Any) -> Any:
        if self._remaining is None:
            # First call is step 6: the map holds exactly the non-unique blank nodes.
            non_unique = sum(len(ids) for ids in self.hash_to_blank_nodes.values())
            self._remaining = non_unique**self._factor
        if self._remaining <= 0:
            raise MalformedCredential(
                "RDF canonicalization needs too much work (possible dataset poisoning, "
                "RDFC-1.0 §6.1): too many indistinguishable blank nodes"
            )
        self._remaining -= 1
        return super().hash_n_degree_quads(id_, issuer)


class PyldCanonicalizer:
    """RDFC-1.0 with pyld; never fetches (``loader`` serves the bundled contexts).

    Thread-safe: pyld's context caches are not, so one canonicalization runs at a
    time per instance (pyld is pure Python; the GIL would serialise it anyway).
    """

    def __init__(
        self,
        loader: DocumentLoader = bundled_document_loader,
        *,
        max_work_factor: int = MAX_WORK_FACTOR,
    ) -> None:
        self._loader = loader
        self._max_work_factor = max_work_factor
        # Our own cache: pyld's global one is keyed by URL and shared with any other
        # pyld user in the process, whose loader might serve something else.
        self._cache: LRUCache[Any, Any] = LRUCache(maxsize=64)
        self._lock = threading.Lock()

    def canonize(self, document: Mapping[str, Any]) -> str:
        if not isinstance(document, Mapping):
            raise MalformedCredential("a JSON-LD document must be a JSON object")
        _check_depth(document)
        with self._lock:
            try:
                return self._canonize(dict(document))
            except CredentialError:
                raise
            except jsonld.JsonLdError as exc:
                raise _translate(exc) from None
            except RecursionError:
                raise MalformedCredential("the document is nested too deeply") from None
            except (TypeError, ValueError, KeyError, AttributeError) as exc:
                # pyld trips over some shapes it does not validate (e.g. a number as @id).
                raise MalformedCredential(f"invalid JSON-LD: {exc!r}"[:300]) from None

    def _canonize(self, document: dict[str, Any]) -> str:
        dropped: list[str | None] = []
        processor = jsonld.JsonLdProcessor(on_property_dropped=dropped.append)
        options: dict[str, Any] = {
            "documentLoader": self._loader,
            "contextResolver": ContextResolver(self._cache, self._loader),
            "base": None,  # no document base: relative IRIs stay relative and are refused
            "processingMode": "json-ld-1.1",
        }
        expanded = processor.expand(document, options)
        if dropped:
            names = ", ".join(sorted({repr(name) for name in dropped}))
            raise ContextError(
                f"JSON-LD expansion drops {names}: a term the document's @context does "
                "not define (or a value JSON-LD cannot express), which a proof would not cover"
            )
        _check_expanded(expanded)
        dataset = processor.to_rdf(expanded, {**options, "produceGeneralizedRdf": False})
        _check_dataset(dataset)
        canonical = _GuardedUrdna2015(self._max_work_factor).main(
            dataset, {"format": "application/n-quads"}
        )
        assert isinstance(canonical, str)
        return canonical


def _check_depth(document: Mapping[str, Any]) -> None:
    pending: list[tuple[Any, int]] = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise MalformedCredential(f"the document is nested deeper than {MAX_DEPTH} levels")
        if isinstance(value, Mapping):
            pending.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            pending.extend((item, depth + 1) for item in value)


def _translate(exc: BaseException) -> CredentialError:
    """A pyld error as ours: a loader refusal keeps its message; else the innermost code."""
    chain: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and len(chain) < 32:
        if isinstance(cause, ContextError):
            return ContextError(cause.message)
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    coded = [e for e in chain if getattr(e, "code", None)] or chain
    inner = coded[-1]
    code = str(getattr(inner, "code", None) or getattr(inner, "type", "jsonld error"))
    message = inner.args[0] if inner.args else "JSON-LD processing failed"
    if code in _CONTEXT_ERROR_CODES:
        return ContextError(f"invalid JSON-LD context: {message} ({code})")
    return MalformedCredential(f"invalid JSON-LD: {message} ({code})")


def _is_iri_or_blank(value: Any) -> bool:
    return (
        isinstance(value, str)
        and _ABSOLUTE_IRI.fullmatch(value) is not None
        and _IRI_UNSAFE.search(value) is None
    )


def _check_expanded(node: Any) -> None:
    """Every @id, @type and property of the expanded form is absolute (or a blank node id)."""
    if isinstance(node, list):
        for item in node:
            _check_expanded(item)
        return
    if not isinstance(node, dict):
        return
    if "@value" in node:
        datatype = node.get("@type")
        if datatype is not None and datatype != "@json" and not _is_iri_or_blank(datatype):
            raise MalformedCredential(
                f"datatype {str(datatype)[:80]!r} is not a valid absolute IRI"
            )
        return  # a @json literal's value is opaque data, not JSON-LD
    for key, value in node.items():
        if key == "@id" and not _is_iri_or_blank(value):
            raise MalformedCredential(f"identifier {str(value)[:80]!r} is not a valid absolute IRI")
        elif key == "@type":
            for item in value if isinstance(value, list) else [value]:
                if not _is_iri_or_blank(item):
                    raise MalformedCredential(
                        f"type {str(item)[:80]!r} is not a valid absolute IRI"
                    )
        elif key.startswith("_:"):
            raise MalformedCredential(f"property {key[:80]!r} is a blank node, which RDF drops")
        elif not key.startswith("@") and not _is_iri_or_blank(key):
            raise MalformedCredential(f"property {key[:80]!r} is not a valid absolute IRI")
        elif not key.startswith("@") or key in ("@graph", "@list", "@set", "@included"):
            _check_expanded(value)
        elif key == "@reverse":
            for reverse_value in value.values():
                _check_expanded(reverse_value)


def _check_dataset(dataset: Mapping[str, list[dict[str, Any]]]) -> None:
    for graph, triples in dataset.items():
        if graph != "@default" and not graph.startswith("_:"):
            _check_iri(graph)
        for triple in triples:
            for position in ("subject", "predicate", "object"):
                term = triple[position]
                if term["type"] == "IRI":
                    _check_iri(term["value"])
                elif term["type"] == "literal":
                    _check_iri(term["datatype"])
                    if _LITERAL_UNSAFE.search(term["value"]):
                        raise MalformedCredential(
                            "a string holds a control character (U+0000-U+001F other than "
                            "TAB, LF, CR, or U+007F): not accepted in signed data"
                        )


def _check_iri(iri: str) -> None:
    if _IRI_UNSAFE.search(iri):
        raise MalformedCredential(
            f'IRI {iri[:80]!r} holds a space, control character or one of <>"{{}}|^`\\'
        )
