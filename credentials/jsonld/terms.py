"""Active JSON-LD contexts of the bundled contexts, processed by pyld once and memoised.

JSON-LD 1.1 Processing Algorithms and API (https://www.w3.org/TR/json-ld11-api/):
§4.1 "Context Processing" and §4.2 "Create Term Definition" are pyld's own
(``JsonLdProcessor._process_context``); this module only remembers their results.
An :class:`ActiveContext` wraps one pyld active context and memoises every
transition the expansion algorithm (§5.1) makes from it: reverting a type-scoped
context, applying a property-scoped context (step 3 and 13.4), an embedded
``@context`` (step 9) and a type-scoped context (step 11). §4.5 "IRI Expansion"
is mirrored in :meth:`ActiveContext.expand_iri` with pyld's quirks (a relative
IRI is resolved against pyld's stand-in base ``http://example.org/base/``),
and reports *how* a value expanded so that :mod:`credentials.jsonld.strict` can
reject what would be silently dropped or altered.

Only string contexts served by :mod:`credentials.jsonld.document_loader` are processed:
anything else raises :class:`UnsupportedContext`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from typing import Any, Final

from pyld import jsonld
from pyld.context_resolver import ContextResolver

from credentials.jsonld.contexts import CONTEXT_FILES
from credentials.jsonld.document_loader import document_loader

KEYWORDS: Final = frozenset(jsonld.KEYWORDS)
_KEYWORD_LIKE = re.compile(r"^@[a-zA-Z]+$")
# pyld's test for an absolute IRI (a blank node identifier passes too); the
# character class is pyld's, ``+-.`` being a range.
_ABSOLUTE = re.compile(r"^([A-Za-z][A-Za-z0-9+-.]*|_):[^\s]*$")

# How a string expanded (JSON-LD 1.1 API §4.5).
KEYWORD, DROPPED, TERM, COMPACT, ABSOLUTE, BLANK, VOCAB, RELATIVE = (
    "keyword",
    "dropped",
    "term",
    "compact IRI",
    "absolute IRI",
    "blank node",
    "vocab",
    "relative IRI",
)

# Distinct active contexts kept before the memo starts over (each holds pyld's term
# definitions, some 10-50 KB), and memoised entries per active context.
_MAX_CONTEXTS = 512
_MAX_KEYS = 1024


class UnsupportedContext(Exception):
    """A context this module does not process, or one pyld rejects (its ``cause``)."""


def is_absolute_iri(value: str) -> bool:
    return _ABSOLUTE.match(value) is not None


class _Pyld:
    """pyld's processor and options, with a resolver cache private to the bundled contexts."""

    def __init__(self) -> None:
        self.processor = jsonld.JsonLdProcessor()
        self.options: dict[str, Any] = {
            "base": "",
            "documentLoader": document_loader,
            "contextResolver": ContextResolver({}, document_loader),
            "processingMode": "json-ld-1.1",
        }
        self.lock = threading.Lock()
        self.contexts: dict[int, ActiveContext] = {}
        self.roots: dict[tuple[str, ...] | None, ActiveContext] = {}

    def wrap(self, raw: Any) -> ActiveContext:
        found = self.contexts.get(id(raw))
        if found is not None and found.raw is raw:
            return found
        if len(self.contexts) >= _MAX_CONTEXTS:
            # Forget everything: wrappers already handed out keep working on their own.
            self.contexts = {}
            self.roots = {}
        wrapper = ActiveContext(raw)
        self.contexts[id(raw)] = wrapper
        return wrapper

    def process(self, raw: Any, local: Any, **flags: bool) -> ActiveContext:
        with self.lock:
            try:
                result = self.processor._process_context(raw, local, self.options, **flags)
            except jsonld.JsonLdError as error:
                raise UnsupportedContext(str(error)) from error
            return self.wrap(result)


_PYLD = _Pyld()


def _context_urls(value: Any) -> tuple[str, ...] | None:
    """The URLs of an ``@context`` value made of bundled context URLs; ``None`` is null."""
    if value is None:
        return None
    urls = (value,) if isinstance(value, str) else value
    if (
        not isinstance(urls, list | tuple)
        or not all(isinstance(url, str) and url in CONTEXT_FILES for url in urls)
        or len(set(urls)) != len(urls)  # each at most once: the contexts stay few
    ):
        raise UnsupportedContext("only bundled context URLs, each once, are processed")
    return tuple(urls)


def initial_context() -> ActiveContext:
    return _PYLD.wrap(_PYLD.processor._get_initial_context(_PYLD.options))


def root_context(context: Any) -> ActiveContext:
    """The active context of a top-level ``@context`` (bundled URLs only)."""
    key = _context_urls(context)
    found = _PYLD.roots.get(key)
    if found is None:
        found = initial_context().with_local(context)
        _PYLD.roots[key] = found
    return found


def node_contexts(
    ctx: ActiveContext, prop: str | None, element: Mapping[str, Any]
) -> tuple[ActiveContext, ActiveContext]:
    """The contexts for the members of map ``element``, value of ``prop`` (§5.1.2 steps 7-11).

    ``ctx`` is the context ``prop``'s value is expanded with. Returns the active
    context for the members and the one ``@type`` values expand with (before
    type-scoped contexts). The order of steps is pyld's.
    """
    scoped = ctx.scoped_context(prop)
    revert = True
    if ctx.has_previous and len(element) <= 2 and "@context" not in element:
        for key in sorted(element):
            expanded = ctx.expand_key(key)
            if expanded == "@value" or (expanded == "@id" and len(element) == 1):
                revert = False  # a value object or node reference keeps the type scope
                break
    if revert:
        ctx = ctx.reverted()
    if scoped is not None:
        ctx = ctx.with_property_scope(scoped)
    if "@context" in element:
        ctx = ctx.with_local(element["@context"])
    type_ctx = ctx
    for key in sorted(element):
        if ctx.expand_key(key) != "@type":
            continue
        value = element[key]
        types = value if isinstance(value, list) else [value]
        for name in sorted(t for t in types if isinstance(t, str)):
            scoped_type = type_ctx.scoped_context(name)
            if scoped_type is not None and scoped_type is not False:
                ctx = ctx.with_type_scope(scoped_type)
    return ctx, type_ctx


def property_context(ctx: ActiveContext, key: str) -> ActiveContext:
    """The context ``key``'s value expands with: its property-scoped context (step 13.4)."""
    scoped = ctx.scoped_context(key)
    return ctx if scoped is None else ctx.with_property_scope(scoped)


class ActiveContext:
    """One pyld active context, with its transitions and expansions memoised."""

    __slots__ = (
        "_keys",
        "_local",
        "_previous",
        "_scoped",
        "mappings",
        "memo",
        "raw",
        "vocab",
    )

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.mappings: dict[str, Any] = raw["mappings"]
        self.vocab: str | None = raw.get("@vocab")
        if "@base" in raw or "@language" in raw or "@direction" in raw:
            # The bundled contexts set none of these; expansion here ignores them.
            raise UnsupportedContext("@base, @language and @direction are not supported")
        self._keys: dict[str, tuple[str | None, str]] = {}
        # for callers' own per-context derivations (bounded by remember())
        self.memo: dict[Any, Any] = {}
        self._previous: ActiveContext | None = None
        self._scoped: dict[tuple[int, str], tuple[Any, ActiveContext]] = {}
        self._local: dict[tuple[str, ...] | None, ActiveContext] = {}

    # -- transitions (JSON-LD 1.1 API §5.1.2) ---------------------------------

    @property
    def has_previous(self) -> bool:
        return "previousContext" in self.raw

    def reverted(self) -> ActiveContext:
        """Step 7: the context before any non-propagated (type-scoped) context."""
        if "previousContext" not in self.raw:
            return self
        if self._previous is None:
            self._previous = _PYLD.wrap(self.raw["previousContext"])
        return self._previous

    def scoped_context(self, term: str | None) -> Any:
        """``term``'s scoped ``@context``: ``None`` without one, ``False`` for null."""
        if term is None:
            return None
        mapping = self.mappings.get(term)
        return None if mapping is None else mapping.get("@context")

    def with_property_scope(self, scoped: Any) -> ActiveContext:
        """Steps 3 / 13.4: a property-scoped context (``scoped_context`` of the property)."""
        return self._apply(scoped, "property", override_protected=True)

    def with_type_scope(self, scoped: Any) -> ActiveContext:
        """Step 11: a type-scoped context, which does not propagate to nested nodes."""
        return self._apply(scoped, "type", propagate=False)

    def _apply(self, scoped: Any, kind: str, **flags: bool) -> ActiveContext:
        # Scoped contexts are objects inside term definitions that live as long as
        # their context; the entry keeps ``scoped`` so that its id stays unique.
        key = (id(scoped), kind)
        entry = self._scoped.get(key)
        if entry is None or entry[0] is not scoped:
            entry = (scoped, _PYLD.process(self.raw, scoped, **flags))
            self._scoped[key] = entry
        return entry[1]

    def with_local(self, context: Any) -> ActiveContext:
        """Step 9: an embedded ``@context`` (bundled URLs or null)."""
        key = _context_urls(context)
        found = self._local.get(key)
        if found is None:
            found = _PYLD.process(self.raw, list(key) if key is not None else None)
            self._local[key] = found
        return found

    def remember(self, key: Any, value: Any) -> Any:
        """Store ``value`` in :attr:`memo` unless the memo is full; return it."""
        if len(self.memo) < _MAX_KEYS:
            self.memo[key] = value
        return value

    # -- terms and IRIs (JSON-LD 1.1 API §4.5) ---------------------------------

    def term(self, key: str) -> dict[str, Any] | None:
        mapping = self.mappings.get(key)
        return mapping if isinstance(mapping, dict) else None

    def container(self, key: str) -> Sequence[str]:
        mapping = self.mappings.get(key)
        if mapping is None:
            return ()
        container: Sequence[str] = mapping.get("@container", ())
        return container

    def type_mapping(self, key: str | None) -> str | None:
        if key is None:
            return None
        mapping = self.mappings.get(key)
        return None if mapping is None else mapping.get("@type")

    def expand_key(self, key: str) -> str | None:
        """A property name expanded with ``vocab=True`` (memoised)."""
        return self.classify_key(key)[0]

    def classify_key(self, key: str) -> tuple[str | None, str]:
        """``expand_iri(key, vocab=True, base=False)``, memoised."""
        found = self._keys.get(key)
        if found is None:
            found = self.expand_iri(key, vocab=True, base=False)
            if len(self._keys) < _MAX_KEYS:
                self._keys[key] = found
        return found

    def expand_iri(self, value: str, *, vocab: bool, base: bool = True) -> tuple[str | None, str]:
        """``(expanded, how)`` as pyld's ``_expand_iri(value, vocab=vocab, base='' or None)``.

        With ``base`` a relative IRI is resolved against pyld's stand-in base (as
        ``jsonld.normalize`` does by default), without it is returned as it is.
        """
        if value in KEYWORDS:
            return value, KEYWORD
        if _KEYWORD_LIKE.match(value):
            return None, DROPPED
        mappings = self.mappings
        if vocab and value in mappings:
            mapping = mappings[value]
            if mapping is None:
                return None, DROPPED
            iri: str | None = mapping["@id"]
            return iri, (KEYWORD if iri in KEYWORDS else TERM)
        colon = value.find(":")
        if colon > 0:
            prefix, suffix = value[:colon], value[colon + 1 :]
            if prefix == "_":
                return value, BLANK
            if suffix.startswith("//"):
                return value, ABSOLUTE
            mapping = mappings.get(prefix)
            if mapping and mapping["_prefix"]:
                return mapping["@id"] + suffix, COMPACT
            if _ABSOLUTE.match(value):
                return value, ABSOLUTE
        if vocab and self.vocab is not None:
            return self.vocab + value, VOCAB
        if not base:
            return value, RELATIVE
        return jsonld.resolve(value, jsonld.DEFAULT_BASE_IRI), RELATIVE
