"""Compacted JSON-LD straight to RDF quads, for documents over the bundled contexts.

JSON-LD 1.1 API (https://www.w3.org/TR/json-ld11-api/): §5.1.2 "Expansion
Algorithm", §5.3 "Value Expansion", §7.2 "Node Map Generation" and §8.1 / §8.2
"Deserialize JSON-LD to RDF" / "Object to RDF Conversion" fused into one walk
that never builds the expanded form. It follows pyld 3.3 step for step (the
order of context transitions, which duplicate values collapse, the lexical
forms of numbers) because its output must be byte-identical to
:class:`credentials.jsonld.rdfc.PyldCanonicalizer`, which also decides what is refused.

Anything outside the subset raises :class:`Unsupported` and the caller falls back
to pyld: ``@reverse``, ``@nest``, ``@included``, ``@index``/``@direction``,
language/index/id/type maps, nested arrays, ``@graph`` keys, terms that expand
to nothing (pyld drops them; the strict canonicalizer refuses them), relative
IRIs, blank node properties and types, non-finite numbers, and characters the
strict canonicalizer refuses.

A quad is four N-Quads term strings ``(subject, predicate, object, graph)``: an
IRI is ``<iri>``, a blank node ``_:label``, a literal its escaped form; the
default graph is ``""`` (terms are written by :mod:`credentials.jsonld.rdf_terms`).
Duplicates are kept where pyld keeps them. How a member name or a scalar expands
is worked out once per active context (:mod:`credentials.jsonld.to_rdf_plans`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from credentials.jsonld.rdf_terms import (
    RDF_FIRST,
    RDF_NIL,
    RDF_REST,
    RDF_TYPE,
    Quad,
    Unsupported,
    iri_term,
    literal,
    strict_key,
)
from credentials.jsonld.terms import (
    KEYWORDS,
    RELATIVE,
    ActiveContext,
    UnsupportedContext,
    initial_context,
    node_contexts,
)
from credentials.jsonld.to_rdf_plans import key_plan, scalar_coercion

__all__ = ["MAX_DEPTH", "Quad", "Unsupported", "literal", "to_quads"]


# (kind, object term, what pyld compares to merge duplicates or None if it never does):
# "v" value (datatype, language, value), "n" node (its id), "t" type (IRI), "l" list (None)
_Item = tuple[str, str, Any]

_SAFE_BLANK = re.compile(r"^_:[A-Za-z0-9_.\-]+$")
_SCALARS = (str, bool, int, float)
# Deeper documents go to pyld, which has its own (larger) limit and error for them.
MAX_DEPTH = 32


def to_quads(document: Mapping[str, Any]) -> list[Quad]:
    """The RDF dataset of ``document`` (JSON-LD 1.1 API §8.1), as pyld would produce it."""
    converter = _Converter()
    try:
        converter.node(initial_context(), None, document, "", top=True)
    except (UnsupportedContext, RecursionError) as error:
        raise Unsupported(str(error)) from error
    return converter.quads


class _Converter:
    def __init__(self) -> None:
        self.quads: list[Quad] = []
        self._seen: dict[tuple[str, str, str], _Item | dict[Any, str]] = {}
        self._blank: dict[str, str] = {}
        self._fresh = 0
        self._depth = 0  # JSON arrays and objects around the value being converted

    def new_blank(self) -> str:
        self._fresh += 1
        return f"_:f{self._fresh}"

    def _id(self, ctx: ActiveContext, value: Any, *, vocab: bool) -> tuple[str, str]:
        """(node key, term) for an IRI or blank node identifier value."""
        if not isinstance(value, str):
            raise Unsupported("identifier that is not a string")
        iri, how = ctx.expand_iri(value, vocab=vocab)
        if iri is None or how == RELATIVE or iri in KEYWORDS:
            raise Unsupported(f"identifier {value[:60]!r}")
        if iri.startswith("_:"):
            if _SAFE_BLANK.match(iri) is None:
                raise Unsupported(f"blank node identifier {value[:60]!r}")
            term = self._blank.get(iri)
            if term is None:
                term = self._blank[iri] = f"_:d{len(self._blank)}"
            return term, term
        return iri, iri_term(iri)

    def _link(self, graph: str, subject: str, predicate: str, item: _Item) -> None:
        _kind, term, raw = item
        if raw is not None:
            # pyld's node map keeps the first of the values it considers equal
            # (add_value); equality is only worked out once a second value comes.
            bucket = (graph, subject, predicate)
            seen = self._seen.get(bucket)
            if seen is None:
                self._seen[bucket] = item
            else:
                if isinstance(seen, tuple):
                    seen = self._seen[bucket] = {_dedupe_key(seen): seen[1]}
                key = _dedupe_key(item)
                first = seen.get(key)
                if first is not None:
                    if first != term:
                        raise Unsupported("values pyld merges although their RDF differs")
                    return
                seen[key] = term
        self.quads.append((subject, predicate, term, graph))

    # -- expansion of one value (§5.1.2 steps 1-5) ---------------------------------

    def value(
        self, ctx: ActiveContext, prop: str, value: Any, graph: str, inside_list: bool
    ) -> list[_Item]:
        if isinstance(value, list | dict):
            self._depth += 1
            if self._depth > MAX_DEPTH:
                raise Unsupported("deeply nested document")
            items = self._container(ctx, prop, value, graph, inside_list)
            self._depth -= 1
            return items
        if value is None:
            return []
        if not isinstance(value, _SCALARS):
            raise Unsupported(f"{type(value).__name__} value")
        return [self.scalar(ctx, prop, value)]

    def _container(
        self, ctx: ActiveContext, prop: str, value: Any, graph: str, inside_list: bool
    ) -> list[_Item]:
        if isinstance(value, dict):
            return self.node(ctx, prop, value, graph, top=False, inside_list=inside_list)
        inside_list = inside_list or "@list" in ctx.container(prop)
        items: list[_Item] = []
        for element in value:
            if isinstance(element, list):
                raise Unsupported("nested array")
            if element is not None:
                items.extend(self.value(ctx, prop, element, graph, inside_list))
        return items

    def _json(self, value: Any) -> _Item:
        if self._depth + _json_depth(value) > MAX_DEPTH:
            raise Unsupported("deeply nested document")
        return ("v", literal(value, "@json", None), ("@json", None, value))

    def scalar(self, ctx: ActiveContext, prop: str, value: Any) -> _Item:
        """§5.3 Value Expansion, then §8.2 for the value object."""
        coercion = ctx.memo.get(("scalar", prop))
        if coercion is None:
            coercion = ctx.remember(("scalar", prop), scalar_coercion(ctx, prop))
        iri_vocab, datatype, language = coercion
        if iri_vocab is not None and isinstance(value, str):
            key, term = self._id(ctx, value, vocab=iri_vocab)
            return ("n", term, key)
        if language is not None and not isinstance(value, str):
            language = None
        return ("v", literal(value, datatype, language), (datatype, language, value))

    # -- a map: node, value, list or set object (§5.1.2 steps 6-20) ---------------

    def node(
        self,
        ctx: ActiveContext,
        prop: str | None,
        element: Mapping[str, Any],
        graph: str,
        *,
        top: bool,
        inside_list: bool = False,
    ) -> list[_Item]:
        ctx, type_ctx = node_contexts(ctx, prop, element)
        return self._members(ctx, type_ctx, prop, element, graph, top, inside_list)

    def _members(
        self,
        ctx: ActiveContext,
        type_ctx: ActiveContext,
        prop: str | None,
        element: Mapping[str, Any],
        graph: str,
        top: bool,
        inside_list: bool,
    ) -> list[_Item]:
        node_id, types, special, links = self._read_members(ctx, type_ctx, element, graph)
        if "@value" in special or "@language" in special:
            if links or node_id is not None or "@list" in special or "@set" in special:
                raise Unsupported("invalid value object")
            return self._value_object(special, types)
        if "@list" in special or "@set" in special:
            if links or node_id is not None or types or len(special) != 1:
                raise Unsupported("invalid list or set object")
            return self._list_or_set(ctx, prop, special, graph, top=top, inside_list=inside_list)
        if node_id is None:
            blank = self.new_blank()
            node_id = (blank, blank)
        key, subject = node_id
        for iri in types:
            self._link(graph, subject, RDF_TYPE, self._type_item(iri))
        for predicate, items in links:
            for item in items:
                self._link(graph, subject, predicate, item)
        return [("n", subject, key)]

    def _read_members(
        self,
        ctx: ActiveContext,
        type_ctx: ActiveContext,
        element: Mapping[str, Any],
        graph: str,
    ) -> tuple[tuple[str, str] | None, list[str], dict[str, Any], list[tuple[str, list[_Item]]]]:
        """A map's members, in pyld's order: (its ``@id``, types, other keywords, links)."""
        node_id: tuple[str, str] | None = None
        types: list[str] = []
        special: dict[str, Any] = {}
        links: list[tuple[str, list[_Item]]] = []
        for key in sorted(element):
            if key == "@context":
                continue
            plan = ctx.memo.get(("key", key))
            if plan is None:
                plan = ctx.remember(("key", key), key_plan(ctx, key))
            if isinstance(plan, tuple) and plan[0] == "!":
                raise Unsupported(plan[1])
            if isinstance(plan, str):
                if plan in special or (plan == "@id" and node_id is not None):
                    raise Unsupported("colliding keywords")
                if plan == "@id":
                    node_id = self._id(ctx, element[key], vocab=False)
                else:
                    self._keyword(type_ctx, plan, element[key], types, special)
                continue
            predicate, term_ctx, container, is_json = plan
            links.append(
                (predicate, self._property(term_ctx, container, is_json, key, element[key], graph))
            )
        return node_id, types, special, links

    def _keyword(
        self,
        type_ctx: ActiveContext,
        expanded: str,
        value: Any,
        types: list[str],
        special: dict[str, Any],
    ) -> None:
        """A keyword member other than ``@id``: its types, or kept in ``special``."""
        if expanded == "@type":
            values = value if isinstance(value, list) else [value]
            special["@type"] = value
            for name in values:
                if not isinstance(name, str):
                    raise Unsupported("@type that is not a string")
                iri, how = type_ctx.expand_iri(name, vocab=True)
                if iri is None or how == RELATIVE or iri.startswith("_:"):
                    raise Unsupported(f"type {name!r}")
                types.append(iri)
        elif expanded == "@language" and value is None:
            return  # pyld drops a null @language as if it were absent
        elif expanded in ("@value", "@language", "@list", "@set"):
            special[expanded] = value
        else:
            raise Unsupported(expanded)

    def _list_or_set(
        self,
        ctx: ActiveContext,
        prop: str | None,
        special: dict[str, Any],
        graph: str,
        *,
        top: bool,
        inside_list: bool,
    ) -> list[_Item]:
        """A ``@list`` or ``@set`` object: a set's values, or the list's head."""
        if top:
            raise Unsupported("top-level list or set")
        if any(special.get(key, ()) is None for key in ("@list", "@set")):
            # JSON-LD 1.1 Expansion §13.4.16: a null value drops the keyword, leaving an
            # empty node object, which is a blank node, not an empty list.
            raise Unsupported("a null @list or @set")
        if "@set" in special:
            if inside_list:
                raise Unsupported("set inside a list")
            assert prop is not None
            return self.value(ctx, prop, special["@set"], graph, inside_list=False)
        assert prop is not None
        items = self.value(ctx, prop, special["@list"], graph, inside_list=True)
        return [self._list(items, graph)]

    def _type_item(self, iri: str) -> _Item:
        if iri in KEYWORDS:
            raise Unsupported(f"keyword {iri} as a node type")
        return ("t", iri_term(iri), iri)

    def _value_object(self, special: dict[str, Any], types: list[str]) -> list[_Item]:
        value = special.get("@value")
        language = special.get("@language")
        if "@value" not in special or (language is not None and "@type" in special):
            raise Unsupported("invalid value object")
        if "@type" in special and (isinstance(special["@type"], list) or len(types) != 1):
            raise Unsupported("invalid typed value")
        datatype = types[0] if types else None
        if datatype == "@json":
            return [self._json(value)]
        if value is None:
            return []
        if not isinstance(value, _SCALARS):
            raise Unsupported("invalid value object value")
        if language is not None:
            if not isinstance(language, str) or not isinstance(value, str):
                raise Unsupported("invalid language-tagged value")
            language = language.lower()
        if datatype is not None and (datatype in KEYWORDS or datatype.startswith("_:")):
            raise Unsupported("invalid typed value")
        term = literal(value, datatype, language)
        return [("v", term, (datatype, language, value))]

    def _property(
        self,
        term_ctx: ActiveContext,
        container: tuple[str, ...],
        is_json: bool,
        key: str,
        value: Any,
        graph: str,
    ) -> list[_Item]:
        """§5.1.2 step 13 for a property: its values, as they link from the node."""
        if is_json:
            return [self._json(value)]
        if "@graph" in container:
            items: list[_Item] = []
            for element in value if isinstance(value, list) else [value]:
                if isinstance(element, list) or (
                    isinstance(element, dict) and ("@set" in element or "@list" in element)
                ):
                    raise Unsupported("array or set in a graph container")
                if element is None:
                    continue
                name = self.new_blank()
                if self.value(term_ctx, key, element, name, inside_list=False):
                    items.append(("n", name, name))
            return items
        items = self.value(term_ctx, key, value, graph, inside_list=False)
        if "@list" in container and not (
            isinstance(value, dict) and len(items) == 1 and items[0][0] == "l"
        ):
            return [self._list(items, graph)]
        return items

    def _list(self, items: list[_Item], graph: str) -> _Item:
        """§8.3 List to RDF Conversion; a list is never merged with another."""
        if not items:
            return ("l", RDF_NIL, None)
        head = subject = self.new_blank()
        for index, (_kind, term, _key) in enumerate(items):
            rest = self.new_blank() if index + 1 < len(items) else RDF_NIL
            self.quads.append((subject, RDF_FIRST, term, graph))
            self.quads.append((subject, RDF_REST, rest, graph))
            subject = rest
        return ("l", head, None)


def _json_depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_json_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_json_depth, value), default=0)
    return 0


def _dedupe_key(item: _Item) -> Any:
    kind, _term, raw = item
    if kind == "v":
        datatype, language, value = raw
        return (datatype, language, strict_key(value))
    return (kind, raw)
