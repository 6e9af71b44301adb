"""Strict checks of JSON values: size bounds, and what canonical forms would alter.

Part of the strict term checking of :mod:`credentials.jsonld.strict` (VC Data
Integrity 1.0 §2.4.1, https://www.w3.org/TR/vc-data-integrity/#validating-contexts):
a number or string the signed RDF would not carry as the JSON shows it is refused.
Numbers: JSON-LD 1.1 API §8.6 writes an ``xsd:double`` in its canonical form
(https://www.w3.org/TR/json-ld11-api/#data-round-tripping), RFC 8785 §3.2.2.3
(JSON canonicalization of ``@json`` literals) writes every number as an IEEE double,
and I-JSON (RFC 7493 §2.2) bounds integers to 2^53 - 1. Strings: control characters
and lone surrogates, which RDFC-1.0 implementations (https://www.w3.org/TR/rdf-canon/)
serialize differently. The document's nesting and number of values are bounded first
(:class:`~credentials.errors.DocumentTooLarge`); :class:`JsonPath` names where a
value is, for messages.
"""

from __future__ import annotations

import math
import re
from typing import Any, Final

from credentials.errors import ContextError, DocumentTooLarge, MalformedCredential

_JSON_SAFE_INTEGER: Final = 2**53 - 1  # RFC 8785 §3.2.2.3 / I-JSON (RFC 7493 §2.2)
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


class JsonPath:
    """Where a value is, rendered only for a message: ``credentialSubject.tags[1]``."""

    __slots__ = ("key", "parent")
    ROOT: JsonPath

    def __init__(self, parent: JsonPath | None, key: object) -> None:
        self.parent = parent
        self.key = key

    def __str__(self) -> str:
        keys: list[object] = []
        path: JsonPath | None = self
        while path is not None and path.parent is not None:
            keys.append(path.key)
            path = path.parent
        text = ""
        for key in reversed(keys):
            text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else str(key))
        return text or "the document"


JsonPath.ROOT = JsonPath(None, None)


def check_size(document: dict[str, Any], max_depth: int, max_values: int) -> None:
    """Raise :class:`DocumentTooLarge` past ``max_depth`` levels or ``max_values`` values."""
    count, depth, level = 1, 0, [document]
    while level:
        if depth >= max_depth:
            raise DocumentTooLarge(
                f"{_first_at_depth(document, max_depth, JsonPath.ROOT)} is nested deeper "
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


def _first_at_depth(value: Any, depth: int, path: JsonPath) -> JsonPath | None:
    """The path of a JSON array or object ``depth`` levels down in ``value``."""
    if not isinstance(value, dict | list):
        return None
    if depth == 0:
        return path
    children = value.items() if isinstance(value, dict) else enumerate(value)
    for key, child in children:
        found = _first_at_depth(child, depth - 1, JsonPath(path, key))
        if found is not None:
            return found
    return None


def check_scalar(value: Any, where: JsonPath) -> None:
    """A JSON scalar as a member value: what the RDF canonical forms would alter."""
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
        check_json_value(value, where)
        return
    raise MalformedCredential(f"{where}: {type(value).__name__} is not a JSON value")


def check_json_value(value: Any, where: JsonPath) -> None:
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
            check_json_value(key, where)
            check_json_value(item, JsonPath(where, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_json_value(item, JsonPath(where, index))
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
