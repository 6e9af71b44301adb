"""Values as the reference resolver's JavaScript produces them, for did:ethr documents.

``ethr-did-resolver`` 11.1.3 turns registry bytes into document values with ethers 6
(``toUtf8String``, ``encodeBase58``) and ``JSON.parse``; the result is then
serialised with ``JSON.stringify``. These functions give the Python values that
serialise to the same JSON:

- UTF-8 (RFC 3629 §3): strict, as ethers' decoder rejects overlong forms, surrogates
  and code points above U+10FFFF;
- base58: the Bitcoin alphabet, one "1" per leading zero byte (ethers ``encodeBase58``);
- JSON (ECMA-262 §25.5.1 ``JSON.parse``, §25.5.2 ``JSON.stringify``; RFC 8259): every
  number is an IEEE-754 double, and an object lists array-index keys first.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_ARRAY_INDEX = re.compile(r"0|[1-9][0-9]{0,9}", re.ASCII)


def base58(data: bytes) -> str:
    """Bitcoin-alphabet base58, one '1' per leading zero byte (ethers ``encodeBase58``)."""
    number = int.from_bytes(data, "big")
    out = ""
    while number:
        number, digit = divmod(number, 58)
        out = _BASE58[digit] + out
    zeros = len(data) - len(data.lstrip(b"\x00"))
    return _BASE58[0] * zeros + out


def utf8(data: bytes) -> str | None:
    """ethers ``toUtf8String``: strict UTF-8 (no overlongs, surrogates or > U+10FFFF)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def js_json_parse(text: str) -> Any:
    """``JSON.parse`` as the value JS would then serialise with ``JSON.stringify``.

    Differences from ``json.loads`` made to match: NaN/Infinity literals are not JSON;
    every number is an IEEE double (so big integers round, out-of-range ones are
    Infinity, which serialises as null); array-index keys come first in an object.
    """

    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not JSON")

    try:
        return json.loads(
            text,
            parse_constant=refuse,
            parse_int=_js_number,
            parse_float=_js_number,
            object_pairs_hook=_js_object,
        )
    except RecursionError:
        raise ValueError("nested too deeply") from None


def _js_number(literal: str) -> Any:
    value = float(literal)
    if value in (float("inf"), float("-inf")):
        return None
    if value.is_integer() and abs(value) < 1e21:
        # JS prints integral doubles below 1e21 in full, from the shortest round-trip
        # digits, which are also Python's repr: 12345678901234567890 -> ...567000.
        return int(Decimal(repr(value)))
    return value


def _js_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for name, value in pairs:
        merged[name] = value  # a repeated key keeps its first position, as in JS
    indices = sorted(
        (k for k in merged if _ARRAY_INDEX.fullmatch(k) and int(k) < 2**32 - 1), key=int
    )
    ordered = {k: merged[k] for k in indices}
    ordered.update((k, v) for k, v in merged.items() if k not in ordered)
    return ordered
