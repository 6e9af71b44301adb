"""A nesting-depth check for untrusted JSON, run before ``json.loads``.

py-evm and py_ecc raise the interpreter's recursion limit to 100,000 when
imported, so CPython's JSON parser would overflow the C stack (a segfault, not
a ``RecursionError``) on a body such as ``[[[[...`` of a few hundred kilobytes.
Every JSON body that reaches the hub is checked with :func:`too_deep` first.
"""

from __future__ import annotations

import re

MAX_JSON_DEPTH = 64
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def too_deep(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``text`` nests arrays/objects deeper than ``limit`` (strings are skipped)."""
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    if len(brackets) <= limit:
        return False
    depth = 0
    for char in brackets:
        depth += 1 if char in "[{" else -1
        if depth > limit:
            return True
    return False
