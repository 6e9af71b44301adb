"""What the fast JSON-LD to RDF walk works out once per active context and term.

JSON-LD 1.1 API (https://www.w3.org/TR/json-ld11-api/) §5.1.2 "Expansion
Algorithm" step 13 (how a member name expands: a keyword, or a property IRI with
the context, container and type mapping its values expand with) and §5.3 "Value
Expansion" (how a property's scalars are coerced: an IRI, a typed or a
language-tagged literal). :mod:`credentials.jsonld.to_rdf` memoises these answers
on the :class:`~credentials.jsonld.terms.ActiveContext`; a plan starting with
``"!"`` names what the fast path leaves to pyld (:class:`Unsupported`).
"""

from __future__ import annotations

from credentials.jsonld.rdf_terms import SAFE_IRI, Unsupported
from credentials.jsonld.terms import KEYWORDS, ActiveContext, property_context


def scalar_coercion(ctx: ActiveContext, prop: str) -> tuple[bool | None, str | None, str | None]:
    """How ``prop``'s scalars expand: (IRI with/without vocab or None, datatype, language)."""
    mapping = ctx.term(prop)
    if mapping is not None and "@direction" in mapping:
        raise Unsupported("@direction")
    coercion = ctx.type_mapping(prop)
    iri_vocab = None if coercion not in ("@id", "@vocab") else coercion == "@vocab"
    if coercion is not None and coercion not in ("@id", "@vocab", "@none"):
        return iri_vocab, coercion, None
    language = None if mapping is None else mapping.get("@language")
    return iri_vocab, None, language


KeyPlan = str | tuple[str, str] | tuple[str, ActiveContext, tuple[str, ...], bool]


def key_plan(ctx: ActiveContext, key: str) -> KeyPlan:
    """A member name: its keyword, or (predicate, values' context, container, is @json),
    or ("!", why the fast path leaves it to pyld)."""
    expanded = ctx.expand_key(key)
    if expanded is None or expanded.startswith("_:"):
        return ("!", f"term {key!r} pyld drops or the strict canonicalizer refuses")
    if expanded in KEYWORDS:
        return expanded
    if SAFE_IRI.match(expanded) is None:
        return ("!", f"property IRI {expanded[:60]!r}")
    plan = _property_plan(ctx, key)
    if isinstance(plan, str):
        return ("!", plan)
    return (f"<{expanded}>", *plan)


def _property_plan(
    ctx: ActiveContext, key: str
) -> tuple[ActiveContext, tuple[str, ...], bool] | str:
    """(context of the values, container, is @json) for ``key``; a string says why not."""
    term_ctx = property_context(ctx, key)
    for definition in (ctx.term(key), term_ctx.term(key)):
        if definition is not None and (
            definition.get("reverse") or "@nest" in definition or "@index" in definition
        ):
            return "@reverse, @nest or @index term"
    container = tuple(ctx.container(key))
    if any(c not in ("@set", "@list", "@graph") for c in container) or (
        # pyld takes "inside a list" from the scoped context, the container from this one
        term_ctx is not ctx and ("@list" in term_ctx.container(key)) != ("@list" in container)
    ):
        return "container"
    if "@graph" in container and "@list" in container:
        return "graph list"
    is_json = ctx.type_mapping(key) == "@json"
    if is_json and container:
        return "@json with a container"
    return term_ctx, container, is_json
