"""The JSON nesting guard that runs before ``json.loads`` on every untrusted body."""

from __future__ import annotations

import json
import time

import pytest

from hub_kernel.json_guard import MAX_JSON_DEPTH, too_deep


def nested(levels: int, opener: str = "[") -> str:
    if opener == "{":
        return '{"k": ' * levels + "1" + "}" * levels
    return "[" * levels + "1" + "]" * levels


@pytest.mark.parametrize("opener", ["[", "{"])
def test_the_limit_is_inclusive(opener: str) -> None:
    assert json.loads(nested(MAX_JSON_DEPTH, opener)) is not None
    assert not too_deep(nested(MAX_JSON_DEPTH, opener))
    assert too_deep(nested(MAX_JSON_DEPTH + 1, opener))
    assert too_deep(nested(100_000, opener))


def test_a_smaller_limit() -> None:
    assert not too_deep(nested(32), 32)
    assert too_deep(nested(33), 32)


def test_brackets_in_strings_do_not_count() -> None:
    text = json.dumps({"s": "[" * 1000 + '\\"[{' + "{" * 1000, "t": ['"]]]"']})
    assert not too_deep(text)
    assert not too_deep(json.dumps(["[" * 100] * 100))


def test_escaped_quotes_do_not_end_a_string() -> None:
    # If \" ended the string, the brackets after it would count.
    assert not too_deep(json.dumps('\\" ' + "[" * 100))
    assert too_deep('["\\\\", ' + "[" * 100 + "]" * 100 + "]")  # \\ is one backslash


def test_siblings_are_not_nesting() -> None:
    assert not too_deep("[" + ",".join(["[[]]"] * 10_000) + "]")


def test_an_unclosed_string_costs_one_pass() -> None:
    # A closing quote the pattern required made this quadratic: each of the 500,000
    # quotes started a scan to the end (some forty minutes for this megabyte).
    text = '"' + '\\"' * 500_000 + "[" * 100
    started = time.perf_counter()
    assert not too_deep(text)
    assert time.perf_counter() - started < 5
    # Safe: the decoder refuses the open string before any bracket after it.
    with pytest.raises(ValueError, match="Unterminated string"):
        json.loads(text)


def test_the_brackets_before_an_unclosed_string_count() -> None:
    assert too_deep("[" * 100 + '"open')
    assert not too_deep("[" * 10 + '"open' + "[" * 100)
