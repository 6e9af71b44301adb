"""RDF terms as pyld serializes them: JSON-LD 1.1 API §8.2 "Object to RDF Conversion".

https://www.w3.org/TR/json-ld11-api/#object-to-rdf-conversion with pyld 3.3's
lexical forms (``xsd:double`` as ``%1.15E`` trimmed, JSON-LD 1.1 API §8.6 JSON
literals in RFC 8785 form via the ``c14n`` package) and its N-Quads escaping
(``pyld.nquads.escape``), plus the equality pyld uses to merge duplicate values
(``JsonLdProcessor.compare_values``). Terms are N-Quads strings: ``<iri>``,
``"lexical"^^<datatype>``, ``"lexical"@lang``, ``"lexical"``.

Whatever :class:`credentials.jsonld.rdfc.PyldCanonicalizer` refuses (control characters,
IRIs with spaces or ``<>"{}|^`\\``), or pyld would write in a way not reproduced
here (non-finite numbers), raises :class:`Unsupported`.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from c14n.Canonicalize import canonicalize  # type: ignore[import-untyped]
from pyld.nquads import escape

Quad = tuple[str, str, str, str]


class Unsupported(Exception):
    """The document uses JSON-LD this converter leaves to pyld."""


_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_XSD = "http://www.w3.org/2001/XMLSchema#"
RDF_TYPE, RDF_FIRST, RDF_REST, RDF_NIL = (f"<{_RDF}{n}>" for n in ("type", "first", "rest", "nil"))
RDF_JSON, RDF_LANGSTRING = _RDF + "JSON", _RDF + "langString"
XSD_STRING, XSD_BOOLEAN = _XSD + "string", _XSD + "boolean"
XSD_INTEGER, XSD_DOUBLE = _XSD + "integer", _XSD + "double"

# IRIs both pyld (absolute, no white space) and the strict canonicalizer accept.
# (Lone surrogates cannot be encoded as UTF-8 for hashing: pyld fails on them.)
SAFE_IRI = re.compile(r'^[A-Za-z][A-Za-z0-9+.\-]*:[^\x00-\x20<>"{}|^`\\\s\ud800-\udfff]*$')
_SPECIAL = re.compile(r'[\x00-\x1f\x7f"\\\ud800-\udfff]')  # to escape or to refuse
_ASTRAL = re.compile(r"[\U00010000-\U0010ffff]")
_DATATYPES: dict[str, str] = {}  # datatype IRI -> "^^<iri>"
_UNSAFE_LITERAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_DOUBLE_EXPONENT = re.compile(r"(\d)0*E\+?(-)?0*(\d)")


def iri_term(value: str) -> str:
    """``<value>``, if both pyld and the strict canonicalizer take it as an absolute IRI."""
    if SAFE_IRI.match(value) is None:
        raise Unsupported(f"IRI {value[:60]!r}")
    return f"<{value}>"


def double(value: float) -> str:
    """pyld's canonical ``xsd:double`` form: ``1.0E-1``, ``1.5E300``."""
    if not math.isfinite(value):
        raise Unsupported("non-finite number")
    return _DOUBLE_EXPONENT.sub(r"\1E\2\3", f"{value:1.15E}")


def literal(value: Any, datatype: str | None, language: str | None) -> str:
    """§8.2 Object to RDF Conversion for a value object, serialized as pyld does."""
    if datatype == "@json":
        lexical, datatype = _canonical_json(value), RDF_JSON
    elif isinstance(value, bool):
        lexical, datatype = ("true" if value else "false"), datatype or XSD_BOOLEAN
    elif isinstance(value, float) and not value.is_integer():
        lexical, datatype = double(value), datatype or XSD_DOUBLE
    elif datatype == XSD_DOUBLE:
        try:
            lexical = double(float(value))
        except ValueError:
            lexical = value
    elif isinstance(value, int | float) and abs(value) >= 1e21:
        lexical, datatype = double(value), datatype or XSD_DOUBLE
    elif isinstance(value, int | float):
        lexical, datatype = str(int(value)), datatype or XSD_INTEGER
    elif language is not None:
        lexical, datatype = value, datatype or RDF_LANGSTRING
    else:
        lexical, datatype = value, datatype or XSD_STRING
    if not isinstance(lexical, str):
        raise Unsupported("literal that is not a string")
    if _SPECIAL.search(lexical) is not None:
        if _UNSAFE_LITERAL.search(lexical):
            raise Unsupported("literal the strict canonicalizer refuses")
        lexical = escape(lexical)
    if datatype == XSD_STRING:
        return f'"{lexical}"'
    if datatype == RDF_LANGSTRING:
        return f'"{lexical}"@{language}' if language else f'"{lexical}"'
    suffix = _DATATYPES.get(datatype)
    if suffix is None:
        suffix = "^^" + iri_term(datatype)
        if len(_DATATYPES) < 1024:
            _DATATYPES[datatype] = suffix
    return f'"{lexical}"{suffix}'


def _canonical_json(value: Any) -> str:
    """RFC 8785 JSON as pyld writes it (with the ``c14n`` package), quicker when it can be.

    For strings, booleans, null and integers a double holds exactly, with object
    keys in the Basic Multilingual Plane (where UTF-16 and code point orders agree),
    the standard library writes the same text; numbers need ECMAScript's format.
    """
    if _plain_json(value):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    text: str = canonicalize(value).decode("utf-8")
    return text


def _plain_json(value: Any) -> bool:
    pending = [value]
    while pending:
        item = pending.pop()
        kind = type(item)
        if kind is dict:
            for key in item:
                if type(key) is not str or _ASTRAL.search(key):
                    return False
            pending.extend(item.values())
        elif kind is list:
            pending.extend(item)
        elif kind is int:
            if abs(item) > 2**53:
                return False
        elif kind is not str and kind is not bool and item is not None:
            return False
    return True


def json_key(value: Any) -> Any:
    """A hashable stand-in with Python ``==`` semantics (pyld compares @json values so)."""
    if isinstance(value, dict):
        return ("d", frozenset((k, json_key(v)) for k, v in value.items()))
    if isinstance(value, list):
        return ("l", tuple(json_key(v) for v in value))
    return value


def strict_key(value: Any) -> Any:
    # pyld's _strict_eq: a boolean equals only a boolean; otherwise Python ``==``
    # (so 1 and 1.0 are one value, and a string never equals a tuple).
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, dict | list):
        return json_key(value)
    return value
