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
bounded first (:class:`~credentials.errors.DocumentTooLarge`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, Final

from credentials.errors import ContextError, DocumentTooLarge, MalformedCredential
from credentials.jsonld.contexts import CONTEXT_FILES, CREDENTIALS_V2
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
_JSON_SAFE_INTEGER: Final = 2**53 - 1  # RFC 8785 §3.2.2.3 / I-JSON (RFC 7493 §2.2)
_NODE_KEYWORDS: Final = frozenset({"@context", "@id", "@type"})
_VALUE_KEYWORDS: Final = frozenset({"@value", "@type", "@language"})
_CONTAINERS: Final = frozenset({"@set", "@list", "@graph"})
_IRI: Final = re.compile(r'^(?:[A-Za-z][A-Za-z0-9+.\-]*|_):[^\x00-\x20<>"{}|^`\\\s]*$')
_LANGUAGE: Final = re.compile(r"^[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*$")  # BCP 47, as pyld checks
_SCHEME: Final = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


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
    _check_size(document, max_depth, max_values)
    checker = _Checker()
    checker.top(document)
    return checker.warnings


def _check_size(document: dict[str, Any], max_depth: int, max_values: int) -> None:
    count, depth, level = 1, 0, [document]
    while level:
        if depth >= max_depth:
            raise DocumentTooLarge(
                f"{_first_at_depth(document, max_depth, _Path.ROOT)} is nested deeper "
                f"than {max_depth} levels"
            )
        deeper: list[Any] = []
        for value in level:
            children = value.values() if isinstance(value, dict) else value
            count += len(children)
            deeper.extend(child for child in children if isinstance(child, dict | list))
        if count > max_values:
            raise DocumentTooLarge(f"the document holds more than {max_values} JSON values")
        level, depth = deeper, depth + 1


def _first_at_depth(value: Any, depth: int, path: _Path) -> _Path | None:
    """The path of a JSON array or object ``depth`` levels down in ``value``."""
    if not isinstance(value, dict | list):
        return None
    if depth == 0:
        return path
    children = value.items() if isinstance(value, dict) else enumerate(value)
    for key, child in children:
        found = _first_at_depth(child, depth - 1, _Path(path, key))
        if found is not None:
            return found
    return None


class _Path:
    """Where a value is, rendered only for a message: ``credentialSubject.tags[1]``."""

    __slots__ = ("key", "parent")
    ROOT: _Path

    def __init__(self, parent: _Path | None, key: object) -> None:
        self.parent = parent
        self.key = key

    def __str__(self) -> str:
        keys: list[object] = []
        path: _Path | None = self
        while path is not None and path.parent is not None:
            keys.append(path.key)
            path = path.parent
        text = ""
        for key in reversed(keys):
            text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else str(key))
        return text or "the document"


_Path.ROOT = _Path(None, None)


def check_context(context: Any, path: _Path) -> None:
    """``@context`` must be a list of bundled context URLs, VC 2.0's first."""
    where = _Path(path, "@context")
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
        self.node(initial_context(), None, document, _Path.ROOT)

    def node(
        self, ctx: ActiveContext, prop: str | None, element: Mapping[str, Any], path: _Path
    ) -> None:
        if "@context" in element:
            context = element["@context"]
            # VC-JOSE-COSE §3.1.1's envelope example writes a nested context as one URL.
            nested_url = path is not _Path.ROOT and isinstance(context, str)
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
            self.values(ctx, prop, element[key], _Path(path, key), in_list=in_list)
            return
        for key, value in element.items():
            where = _Path(path, key)
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

    def term(self, key: str, iri: str | None, how: str, where: _Path) -> None:
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

    def member(self, ctx: ActiveContext, key: str, value: Any, where: _Path) -> None:
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
            self.json_value(value, where)
            return
        self.values(term_ctx, key, value, where, in_list="@list" in container)

    def values(
        self, ctx: ActiveContext, prop: str, value: Any, where: _Path, in_list: bool
    ) -> None:
        if value is None:
            raise ContextError(f"{where} is null, which JSON-LD drops; leave the member out")
        if isinstance(value, list):
            if not value and not in_list:
                self.warnings.append(f"{where} is an empty array, which is not in the signed RDF")
            for index, item in enumerate(value):
                if isinstance(item, list):
                    raise ContextError(f"{where}[{index}]: JSON-LD flattens nested arrays")
                self.values(ctx, prop, item, _Path(where, index), in_list)
        elif isinstance(value, dict):
            self.node(ctx, prop, value, where)
        elif isinstance(value, str) and (coercion := ctx.type_mapping(prop)) in ("@id", "@vocab"):
            self.iri(ctx, value, where, vocab=coercion == "@vocab")
        else:
            self.scalar(value, where)

    def value_object(
        self,
        type_ctx: ActiveContext,
        element: Mapping[str, Any],
        expanded: dict[str, tuple[str | None, str]],
        where: _Path,
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
            self.json_value(value, where)
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
        self.scalar(value, _Path(where, "@value"))

    def iri(self, ctx: ActiveContext, value: Any, where: _Path, *, vocab: bool) -> None:
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

    def types(self, type_ctx: ActiveContext, value: Any, where: _Path) -> None:
        names = value if isinstance(value, list) else [value]
        for index, name in enumerate(names):
            at = _Path(where, index) if isinstance(value, list) else where
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

    def scalar(self, value: Any, where: _Path) -> None:
        if isinstance(value, bool):
            return
        if isinstance(value, int):
            # JavaScript processors (jsonld.js) read every JSON number as a double: beyond
            # 2^53 their canonical form differs from pyld's, and a signature would not verify.
            if abs(value) > _JSON_SAFE_INTEGER:
                raise ContextError(
                    f"{where}: integers beyond 2^53 - 1 lose digits in JSON-LD processors "
                    "that read numbers as doubles; use a string"
                )
            return
        if isinstance(value, float):
            if not math.isfinite(value):
                raise ContextError(f"{where}: not a finite number")
            exact = value.is_integer() and abs(value) < 1e21  # written as an xsd:integer
            if not exact and float(_double_form(value)) != value:
                raise ContextError(
                    f"{where}: {value!r} does not survive JSON-LD's xsd:double canonical "
                    "form (16 significant digits); use a string"
                )
            return
        if isinstance(value, str):
            self.json_value(value, where)
            return
        raise MalformedCredential(f"{where}: {type(value).__name__} is not a JSON value")

    def json_value(self, value: Any, where: _Path) -> None:
        """A ``@json`` value or a string: what canonical forms would alter, anywhere in it."""
        if _json_ok(value):
            return  # the walk below only finds where the problem is
        if isinstance(value, str):
            if _CONTROL.search(value):
                raise ContextError(
                    f"{where}: a control character (other than TAB, LF, CR) or a lone "
                    "surrogate, which RDFC-1.0 implementations serialize differently"
                )
        elif isinstance(value, bool) or value is None:
            return
        elif isinstance(value, int):
            if abs(value) > _JSON_SAFE_INTEGER:
                raise ContextError(
                    f"{where}: JSON canonicalization (RFC 8785) writes numbers as IEEE "
                    "doubles, so an integer beyond 2^53 loses digits; use a string"
                )
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise ContextError(f"{where}: not a finite number")
        elif isinstance(value, dict):
            for key, item in value.items():
                self.json_value(key, where)
                self.json_value(item, _Path(where, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                self.json_value(item, _Path(where, index))
        else:
            raise MalformedCredential(f"{where}: {type(value).__name__} is not a JSON value")


def _json_ok(value: Any) -> bool:
    pending = [value]
    while pending:
        item = pending.pop()
        kind = type(item)
        if kind is str:
            if _CONTROL.search(item):
                return False
        elif kind is dict:
            if any(_CONTROL.search(key) for key in item):
                return False
            pending.extend(item.values())
        elif kind is list:
            pending.extend(item)
        elif kind is int:
            if abs(item) > _JSON_SAFE_INTEGER:
                return False
        elif kind is float:
            if not math.isfinite(item):
                return False
        elif kind is not bool and item is not None:
            return False  # other types: the detailed walk says what they are
    return True


def _double_form(value: float) -> str:
    # pyld's canonical xsd:double: "%1.15E" (JSON-LD 1.1 API §8.6)
    return f"{value:1.15E}"
