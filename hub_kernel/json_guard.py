"""A nesting-depth check for untrusted JSON, run before ``json.loads``.

py-evm and py_ecc raise the interpreter's recursion limit to 100,000 when
imported, so CPython's JSON parser would overflow the C stack (a segfault, not
a ``RecursionError``) on a body such as ``[[[[...`` of a few hundred kilobytes.
Every JSON body or document that reaches the hub (HTTP bodies, ``/rpc``, JWS payloads,
files given to the CLI) is checked with :func:`too_deep` first.

The scan skips string contents and is linear in the text, whatever it holds: a string
left open runs to the end of the text (``json.loads`` refuses it before any bracket
after it), so the string pattern never has to fail and retry from every later quote.
"""

from __future__ import annotations

import re

MAX_JSON_DEPTH = 64
# A string, closed or not: with the closing quote optional a match never fails, so the
# scan stays linear (a required one made an unclosed string cost a rescan per quote).
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def too_deep(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``text`` nests arrays/objects deeper than ``limit`` (strings are skipped)."""
    if text.count("[") + text.count("{") <= limit:
        return False
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    if len(brackets) <= limit:
        return False
    depth = 0
    for char in brackets:
        depth += 1 if char in "[{" else -1
        if depth > limit:
            return True
    return False
