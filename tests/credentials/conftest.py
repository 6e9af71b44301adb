"""Shared fixtures of the Data Integrity tests: the specification's vectors and key, did:key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from credentials.data_integrity.proofs import SigningKey
from credentials.keys.multikey import decode_secret_key
from did_registry.did_key import DidKeyResolver
from did_registry.dispatch import DispatchingResolver

VECTORS = Path(__file__).parent / "vectors"


def load_vector(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((VECTORS / name).read_text("utf-8"))
    return loaded


@pytest.fixture
def vector_b1() -> dict[str, Any]:
    """vc-di-eddsa Appendix B.1 (a fresh copy per test: tests may change it)."""
    return load_vector("eddsa-rdfc-2022-rec-b1.json")


@pytest.fixture
def vector_key(vector_b1: dict[str, Any]) -> SigningKey:
    """The vectors' key pair as the did:key method the vectors sign with."""
    method = vector_b1["proofOptions"]["verificationMethod"]
    return SigningKey(method, decode_secret_key(vector_b1["keyPair"]["secretKeyMultibase"]))


@pytest.fixture
def key_resolver() -> DispatchingResolver:
    return DispatchingResolver({"key": DidKeyResolver()})
