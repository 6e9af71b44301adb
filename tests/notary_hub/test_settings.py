"""Settings: the documented environment names, and refusals outside dev mode."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from notary_hub.settings import InsecureSettings, Settings

GOOD_TOKEN = "x" * 40


def unset_hub_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("NOTARY_HUB_"):
            monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    unset_hub_env(monkeypatch)


def test_defaults_are_the_embedded_dev_setup() -> None:
    settings = Settings()
    assert settings.dev
    assert settings.chain.embedded
    assert settings.chain.chain_id == 0x539
    assert settings.data_dir == Path(".notary-hub")
    assert settings.database_url.startswith("sqlite:///")
    assert settings.database_url.endswith(".notary-hub/hub.sqlite3")


def test_documented_environment_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTARY_HUB_DATABASE_URL", "postgresql://db.example/hub")
    monkeypatch.setenv("NOTARY_HUB_CHAIN_RPC_URL", "http://127.0.0.1:8545")
    monkeypatch.setenv("NOTARY_HUB_CHAIN_CHAIN_ID", "31337")
    monkeypatch.setenv("NOTARY_HUB_DATA_DIR", "/var/lib/hub")
    monkeypatch.setenv("NOTARY_HUB_ANCHORING_BATCH_MAX_ITEMS", "500")
    monkeypatch.setenv("NOTARY_HUB_CHAIN_DID_REGISTRY_ADDRESS", "0x" + "ab" * 20)
    settings = Settings()
    assert settings.database_url == "postgresql://db.example/hub"
    assert settings.chain.rpc_url is not None
    assert settings.chain.rpc_url.get_secret_value() == "http://127.0.0.1:8545"
    assert not settings.chain.embedded
    assert settings.chain.chain_id == 31337
    assert settings.data_dir == Path("/var/lib/hub")
    assert settings.anchoring.batch_max_items == 500
    assert settings.chain.did_registry_address == "0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB"


def test_secrets_do_not_show_in_reprs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTARY_HUB_CHAIN_RPC_URL", "https://user:pass@node.example/key123")
    monkeypatch.setenv("NOTARY_HUB_KEYS_MASTER_KEY", "00" * 32)
    text = repr(Settings())
    assert "pass" not in text and "key123" not in text and "00" * 32 not in text


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("NOTARY_HUB_CHAIN_CHAIN_ID", "abc"),
        ("NOTARY_HUB_CHAIN_CHAIN_ID", "0"),
        ("NOTARY_HUB_CHAIN_CONSORTIUM_ADDRESS", "0x123"),
        ("NOTARY_HUB_MODE", "staging"),
        ("NOTARY_HUB_ANCHORING_BATCH_MAX_ITEMS", "0"),
    ],
)
def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        Settings()


def production(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    """Settings in production mode from exactly ``env`` (nothing left from earlier calls)."""
    unset_hub_env(monkeypatch)
    monkeypatch.setenv("NOTARY_HUB_MODE", "production")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings()


def test_production_requires_a_master_key(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError, match="master key"):
        production(monkeypatch)
    assert not production(monkeypatch, NOTARY_HUB_KEYS_MASTER_KEY="11" * 32).dev


def test_production_refuses_static_tokens_send_raw_and_plain_http(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base = {"NOTARY_HUB_KEYS_MASTER_KEY": "11" * 32}
    # Issue 13 §8: static tokens are the dev bootstrap; production takes OAuth tokens only.
    with pytest.raises(ValidationError, match="dev-mode bootstrap only") as info:
        production(monkeypatch, **base, NOTARY_HUB_SERVER_API_TOKENS=f'["{GOOD_TOKEN}"]')
    assert GOOD_TOKEN not in str(info.value)
    with pytest.raises(ValidationError, match="read-only"):
        production(monkeypatch, **base, NOTARY_HUB_CHAIN_RPC_ALLOW_SEND_RAW="true")
    with pytest.raises(ValidationError, match="https"):
        production(monkeypatch, **base, NOTARY_HUB_CHAIN_RPC_URL="http://node.example")
    settings = production(monkeypatch, **base, NOTARY_HUB_CHAIN_RPC_URL="https://node.example")
    assert not settings.dev


def test_insecure_settings_is_a_value_error() -> None:
    assert issubclass(InsecureSettings, ValueError)


def test_an_s3_store_without_a_bucket_is_refused_in_every_mode(tmp_path: Path) -> None:
    for mode in ("dev", "production"):
        with pytest.raises(ValidationError, match="S3 blob store needs a bucket"):
            Settings.model_validate(
                {
                    "mode": mode,
                    "data_dir": tmp_path,
                    "evidence": {"blob_store": "s3"},
                    "keys": {"master_key": "11" * 32},
                }
            )
    configured = Settings.model_validate(
        {"data_dir": tmp_path, "evidence": {"blob_store": "s3", "s3_bucket": "b"}}
    )
    assert configured.evidence.s3_bucket == "b"
