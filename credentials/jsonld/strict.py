"""Strict term checking: refuse JSON-LD that expansion would silently drop or alter.

A Data Integrity proof signs the RDF of a document, not its JSON (VC Data
Integrity 1.0 §2.4.1 "Validating Contexts", §6.3 "Data Integrity Security
Considerations"); whatever JSON-LD expansion (JSON-LD 1.1 API §5.1.2,
https://www.w3.org/TR/json-ld11-api/#expansion-algorithm) drops or rewrites is
unsigned yet still shown to whoever reads the JSON. :func:`check_terms` walks the
document with the active contexts expansion would use (type-scoped,
property-scoped and embedded ones, from :mod:`credentials.jsonld.terms`) and
names the path of the first offending member: undefined terms, unknown or
unsupported keywords, ``null`` members, relative or malformed IRIs, numbers the
``xsd:double`` canonical form would change, characters RDFC-1.0 implementations
serialize differently, and contexts other than a list of bundled URLs led by
VC 2.0's. Terms only a ``@vocab`` defines (VC 2.0 §5.2 "issuer-dependent"
terms) and empty arrays are allowed but returned as warnings. Document size is
bounded first (:class:`~credentials.errors.DocumentTooLarge`). JSON values, and
that bound, are checked by :mod:`credentials.jsonld.strict_values`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from credentials.errors import ContextError, MalformedCredential
from credentials.jsonld.contexts import CONTEXT_FILES, CREDENTIALS_V2
from credentials.jsonld.strict_values import (
    JsonPath,
    check_json_value,
    check_scalar,
    check_size,
)
from credentials.jsonld.terms import (
    ABSOLUTE,
    BLANK,
    COMPACT,
    DROPPED,
    KEYWORD,
    RELATIVE,
    TERM,
    VOCAB,
    ActiveContext,
    UnsupportedContext,
    initial_context,
    node_contexts,
    property_context,
)

MAX_DEPTH: Final = 32
MAX_VALUES: Final = 10_000
_NODE_KEYWORDS: Final = frozenset({"@context", "@id", "@type"})
_VALUE_KEYWORDS: Final = frozenset({"@value", "@type", "@language"})
_CONTAINERS: Final = frozenset({"@set", "@list", "@graph"})
_IRI: Final = re.compile(r'^(?:[A-Za-z][A-Za-z0-9+.\-]*|_):[^\x00-\x20<>"{}|^`\\\s]*$')
_LANGUAGE: Final = re.compile(r"^[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*$")  # BCP 47, as pyld checks
_SCHEME: Final = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")


def check_terms(
    document: Any, *, max_depth: int = MAX_DEPTH, max_values: int = MAX_VALUES
) -> list[str]:
    """Raise :class:`ContextError` for anything expansion would drop or alter; return warnings.

    ``max_depth`` bounds JSON nesting and ``max_values`` the number of JSON values
    (members, array items, scalars) before anything else is looked at.
    """
    if not isinstance(document, Mapping):
        raise MalformedCredential("a JSON-LD document must be a JSON object")
    # Below, JSON objects are dicts (as json.loads makes them): any other mapping inside
    # is "not a JSON value". isinstance(x, dict) is also much quicker than Mapping.
    document = dict(document)
    check_size(document, max_depth, max_values)
    checker = _Checker()
    checker.top(document)
    return checker.warnings


def check_context(context: Any, path: JsonPath) -> None:
    """``@context`` must be a list of bundled context URLs, VC 2.0's first."""
    where = JsonPath(path, "@context")
    if not isinstance(context, list) or not context:
        raise ContextError(f"{where} must be a non-empty list of context URLs")
    for index, url in enumerate(context):
        if isinstance(url, dict):
            raise ContextError(
                f"{where}[{index}] is an inline context: only the hub's bundled context URLs "
                "are accepted, so that every verifier reads the document with the same "
                "definitions (an inline context can redefine any unprotected term)"
            )
        if not isinstance(url, str) or url not in CONTEXT_FILES:
            raise ContextError(
                f"{where}[{index}] {str(url)[:80]!r} is not a bundled context "
                "(contexts are never fetched)"
            )
    if len(set(context)) != len(context):
        raise ContextError(f"{where} lists a context twice")
    if context[0] != CREDENTIALS_V2:
        raise ContextError(f"{where}[0] must be {CREDENTIALS_V2} (VC Data Model 2.0 §4.3)")


class _Checker:
    def __init__(self) -> None:
        self.warnings: list[str] = []

    def top(self, document: Mapping[str, Any]) -> None:
        if "@context" not in document:
            raise ContextError("the document has no @context")
        self.node(initial_context(), None, document, JsonPath.ROOT)

    def node(
        self, ctx: ActiveContext, prop: str | None, element: Mapping[str, Any], path: JsonPath
    ) -> None:
        if "@context" in element:
            context = element["@context"]
            # VC-JOSE-COSE §3.1.1's envelope example writes a nested context as one URL.
            nested_url = path is not JsonPath.ROOT and isinstance(context, str)
            check_context([context] if nested_url else context, path)
        try:
            ctx, type_ctx = node_contexts(ctx, prop, element)
        except UnsupportedContext as error:
            raise ContextError(f"{path}: invalid context: {error}") from None
        for key in element:
            if not isinstance(key, str):
                raise MalformedCredential(f"{path}: member names are strings")
        expanded = {key: ctx.classify_key(key) for key in element}
        keywords = {iri for iri, how in expanded.values() if how == KEYWORD}
        if "@value" in keywords:
            self.value_object(type_ctx, element, expanded, path)
            return
        if keywords & {"@list", "@set"}:
            if len(element) != 1 or prop is None:
                raise ContextError(f"{path}: a @list or @set object holds nothing else")
            (key,) = element
            in_list = expanded[key][0] == "@list"
            self.values(ctx, prop, element[key], JsonPath(path, key), in_list=in_list)
            return
        for key, value in element.items():
            where = JsonPath(path, key)
            iri, how = expanded[key]
            if how == KEYWORD:
                if iri not in _NODE_KEYWORDS:
                    raise ContextError(
                        f"{where}: keyword {iri} is not accepted in credentials "
                        "(it is not part of the signed RDF, or not supported here)"
                    )
                if value is None:
                    raise ContextError(f"{where} is null, which JSON-LD drops")
                if iri == "@id":
                    self.iri(ctx, value, where, vocab=False)
                elif iri == "@type":
                    self.types(type_ctx, value, where)
                continue
            self.term(key, iri, how, where)
            self.member(ctx, key, value, where)

    def term(self, key: str, iri: str | None, how: str, where: JsonPath) -> None:
        if how == DROPPED:
            if key.startswith("@"):
                raise ContextError(f"{where}: unknown keyword {key!r}, which JSON-LD drops")
            raise ContextError(f"{where}: the term is defined as null, so JSON-LD drops it")
        if how == RELATIVE:
            raise ContextError(
                f"{where}: {key!r} is not defined by the @context here, so JSON-LD drops it "
                "(a term of a type-scoped context needs that type on its node)"
            )
        if how == BLANK:
            raise ContextError(f"{where}: a blank node property is dropped from RDF")
        if how == VOCAB:
            self.warnings.append(
                f"{where}: {key!r} is not defined by the contexts; @vocab makes it <{iri}>"
            )
        assert iri is not None and how in (TERM, COMPACT, ABSOLUTE, VOCAB)
        if how != TERM and _IRI.match(iri) is None:
            raise ContextError(f"{where}: {key!r} is not a valid IRI")

    def member(self, ctx: ActiveContext, key: str, value: Any, where: JsonPath) -> None:
        plan = ctx.memo.get(("strict", key))
        if plan is None:
            container = frozenset(ctx.container(key))
            is_json = ctx.type_mapping(key) == "@json"
            plan = ctx.remember(("strict", key), (container, is_json, property_context(ctx, key)))
        container, is_json, term_ctx = plan
        if container - _CONTAINERS:
            raise ContextError(f"{where}: containers {sorted(container)} are not supported")
        if is_json:
            if value is None:
                raise ContextError(f"{where} is null, which JSON-LD drops")
            check_json_value(value, where)
            return
        self.values(term_ctx, key, value, where, in_list="@list" in container)

    def values(
        self, ctx: ActiveContext, prop: str, value: Any, where: JsonPath, in_list: bool
    ) -> None:
        if value is None:
            raise ContextError(f"{where} is null, which JSON-LD drops; leave the member out")
        if isinstance(value, list):
            if not value and not in_list:
                self.warnings.append(f"{where} is an empty array, which is not in the signed RDF")
            for index, item in enumerate(value):
                if isinstance(item, list):
                    raise ContextError(f"{where}[{index}]: JSON-LD flattens nested arrays")
                self.values(ctx, prop, item, JsonPath(where, index), in_list)
        elif isinstance(value, dict):
            self.node(ctx, prop, value, where)
        elif isinstance(value, str) and (coercion := ctx.type_mapping(prop)) in ("@id", "@vocab"):
            self.iri(ctx, value, where, vocab=coercion == "@vocab")
        else:
            check_scalar(value, where)

    def value_object(
        self,
        type_ctx: ActiveContext,
        element: Mapping[str, Any],
        expanded: dict[str, tuple[str | None, str]],
        where: JsonPath,
    ) -> None:
        by_keyword = {expanded[key][0]: key for key in element if key != "@context"}
        if set(by_keyword) - _VALUE_KEYWORDS or len(by_keyword) != len(element) - (
            "@context" in element
        ):
            raise ContextError(f"{where}: a value object holds only @value, @type or @language")
        value = element[by_keyword["@value"]]
        datatype = element[by_keyword["@type"]] if "@type" in by_keyword else None
        if "@type" in by_keyword and "@language" in by_keyword:
            raise ContextError(f"{where}: a value object has @type or @language, not both")
        if datatype == "@json" or (
            isinstance(datatype, str) and type_ctx.expand_iri(datatype, vocab=True)[0] == "@json"
        ):
            check_json_value(value, where)
            return
        if value is None:
            raise ContextError(f"{where}.@value is null, which JSON-LD drops")
        if "@language" in by_keyword and not (
            isinstance(value, str) and isinstance(element[by_keyword["@language"]], str)
        ):
            raise ContextError(f"{where}: only a string takes a @language, itself a string")
        if "@language" in by_keyword and not _LANGUAGE.match(element[by_keyword["@language"]]):
            raise ContextError(f"{where}.@language is not a BCP 47 language tag")
        if "@type" in by_keyword:
            if not isinstance(datatype, str):
                raise ContextError(f"{where}.@type must be one IRI")
            iri, how = type_ctx.expand_iri(datatype, vocab=True)
            if how in (RELATIVE, BLANK, DROPPED, KEYWORD) or _IRI.match(iri or "") is None:
                raise ContextError(f"{where}.@type {datatype[:80]!r} is not an absolute IRI")
        if isinstance(value, dict | list):
            raise ContextError(f"{where}.@value must be a string, number or boolean")
        check_scalar(value, JsonPath(where, "@value"))

    def iri(self, ctx: ActiveContext, value: Any, where: JsonPath, *, vocab: bool) -> None:
        if not isinstance(value, str):
            raise ContextError(f"{where} must be an IRI string")
        iri, how = ctx.expand_iri(value, vocab=vocab)
        if how == RELATIVE and _SCHEME.match(value) is None:
            raise ContextError(
                f"{where}: {value[:80]!r} is a relative IRI; with no base JSON-LD would "
                "resolve it against a stand-in base or drop it"
            )
        if how in (DROPPED, KEYWORD) or _IRI.match(iri or "") is None:
            raise ContextError(f"{where}: {value[:80]!r} is not a valid absolute IRI")
        if how == VOCAB:
            self.warnings.append(f"{where}: {value!r} is not defined by the contexts; <{iri}>")

    def types(self, type_ctx: ActiveContext, value: Any, where: JsonPath) -> None:
        names = value if isinstance(value, list) else [value]
        for index, name in enumerate(names):
            at = JsonPath(where, index) if isinstance(value, list) else where
            if not isinstance(name, str):
                raise ContextError(f"{at}: a type is a string")
            iri, how = type_ctx.expand_iri(name, vocab=True)
            if how == VOCAB:
                self.warnings.append(
                    f"{at}: type {name!r} is not defined by the contexts; @vocab makes it <{iri}>"
                )
            elif how in (RELATIVE, DROPPED, KEYWORD, BLANK):
                raise ContextError(
                    f"{at}: type {name!r} is not defined by the @context "
                    "(JSON-LD would turn it into a relative IRI)"
                )
            if _IRI.match(iri or "") is None:
                raise ContextError(f"{at}: type {name!r} is not a valid IRI")
