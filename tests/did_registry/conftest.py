"""Fixtures shared by the registry index tests: identities and an embedded chain funding them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount

from chain_adapter.embedded import EmbeddedChain
from tests.did_registry.registry_world import new_identities, open_embedded


@pytest.fixture
def identities() -> list[LocalAccount]:
    return new_identities(3)


@pytest.fixture
def embedded(tmp_path: Path, identities: list[LocalAccount]) -> Iterator[EmbeddedChain]:
    chain = open_embedded(tmp_path / "chain", identities)
    yield chain
    chain.close()
