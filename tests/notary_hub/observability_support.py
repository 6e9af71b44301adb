"""Shared by the metrics, readiness and request-id tests: a real hub, parsed /metrics."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy import Engine

from did_registry.did_key import did_key
from hub_kernel.multiformats import ED25519
from notary_hub.hub import Hub, open_hub
from notary_hub.settings import (
    AnchoringSettings,
    DatabaseSettings,
    EvidenceSettings,
    ServerSettings,
    Settings,
)
from notary_hub.settings_metrics import MetricsSettings

HUB_TOKEN = "o" * 40
SCRAPER = "s" * 40
DEPOSITOR = did_key(ED25519, bytes(range(32)))
DEPOSITING = {"authorization": f"Bearer {HUB_TOKEN}", "Depositor": DEPOSITOR}
SCRAPING = {"authorization": f"Bearer {SCRAPER}"}


def hub_settings(data_dir: Path, db_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "database": DatabaseSettings(url=db_url),
        "server": ServerSettings(api_tokens=[SecretStr(HUB_TOKEN)]),
        "anchoring": AnchoringSettings(batch_interval_seconds=0.05),
        "evidence": EvidenceSettings(poll_seconds=0.05),
        "metrics": MetricsSettings(token=SecretStr(SCRAPER), cache_seconds=0),
    }
    return Settings(**{**values, **overrides})


@pytest.fixture
def observed_hub(tmp_path: Path, db_url: str, engine: Engine) -> Iterator[Hub]:
    """A hub on a migrated database (``engine`` migrates it)."""
    hub = open_hub(hub_settings(tmp_path / "data", db_url))
    yield hub
    hub.close()


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a text exposition, by name and labels, as prometheus parses it."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(
    parsed: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return parsed.get((name, frozenset(labels.items())), 0.0)


def fresh_digest() -> str:
    return os.urandom(32).hex()
