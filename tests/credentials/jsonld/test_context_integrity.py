"""SRI digests of the bundled contexts (VC Data Model 2.0 §5.3, W3C SRI §3.1)."""

from __future__ import annotations

import base64
import hashlib

import pytest

from credentials.errors import MalformedCredential
from credentials.jsonld.context_integrity import (
    bundled_context_mismatches,
    context_bytes,
    related_context,
    sri_matches,
)
from credentials.jsonld.contexts import CREDENTIALS_V2, NOTARY_HUB_V1


def sri(algorithm: str, data: bytes) -> str:
    return f"{algorithm}-{base64.b64encode(hashlib.new(algorithm, data).digest()).decode()}"


def test_sri_strings() -> None:
    data = context_bytes(NOTARY_HUB_V1)
    assert related_context(NOTARY_HUB_V1)[0]["digestSRI"] == sri("sha384", data)
    assert sri_matches(sri("sha256", data), data)
    assert sri_matches(f"{sri('sha512', b'other')} {sri('sha384', data)}?opt", data)
    assert not sri_matches(sri("sha384", b"other"), data)
    for bad in ("", "sha384", "sha384-not base64!", "md5-AAAA", 7):
        with pytest.raises(MalformedCredential):
            sri_matches(bad, data)


def test_only_bundled_contexts_named_in_the_context_are_checked() -> None:
    wrong = sri("sha384", b"another context")
    related = [
        *related_context(NOTARY_HUB_V1, "https://hub.example/ctx"),
        {"id": "https://elsewhere.example/x", "digestSRI": wrong},
    ]
    letter = {"@context": [CREDENTIALS_V2, NOTARY_HUB_V1], "relatedResource": related}
    assert bundled_context_mismatches(letter) == []
    related[0]["digestSRI"] = wrong
    (problem,) = bundled_context_mismatches(letter)
    assert NOTARY_HUB_V1 in problem
    assert bundled_context_mismatches({"@context": [CREDENTIALS_V2]}) == []
    with pytest.raises(MalformedCredential):
        bundled_context_mismatches({"relatedResource": ["not an object"]})
