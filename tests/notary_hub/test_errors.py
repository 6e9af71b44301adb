"""Every component error is a HubError, mapped to a response in one place and to one CLI line.

The error-code casing rule is documented once, in :mod:`hub_kernel.errors`; the test
below holds every error class of every component to it.
"""

from __future__ import annotations

import importlib
import pkgutil
import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from chain_adapter.artifacts import ArtifactError
from chain_adapter.errors import ChainError
from credentials.errors import CredentialError
from did_registry.errors import DidError
from evidence.errors import EvidenceError
from hub_kernel.errors import HubError
from hub_kernel.keystore import KeyStoreError
from notary_hub.cli_support import EXPECTED_ERRORS
from notary_hub.errors import install_error_handlers
from notary_hub.hub_deployment import StartupError
from wallet.errors import WalletError

COMPONENTS = ("chain_adapter", "did_registry", "credentials", "evidence", "wallet", "notary_hub")
SNAKE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")
CAMEL = re.compile(r"[a-z][a-z0-9]*(?:[A-Z][a-z0-9]*)*")
UPPER_SNAKE = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*")
# Published in snake_case before the rule (hub_kernel.errors says so).
SNAKE_CREDENTIAL_CODES = {"reserved_credential", "reserved_evidence", "invalid_valid_from"}


@pytest.mark.parametrize(
    ("base", "code", "status"),
    [
        (ChainError, "chain_error", 503),
        (KeyStoreError, "key_store_error", 500),
        (DidError, "internalError", 500),
        (CredentialError, "CREDENTIAL_ERROR", 500),
        (EvidenceError, "evidence_error", 500),
        (StartupError, "startup_error", 503),
        (ArtifactError, "artifact_error", 500),
        (WalletError, "wallet_error", 400),
    ],
    ids=lambda value: getattr(value, "__name__", str(value)),
)
def test_every_component_base_is_a_hub_error(base: type[HubError], code: str, status: int) -> None:
    assert issubclass(base, HubError)
    error = base("what went wrong")
    assert (error.code, error.status_code, error.message) == (code, status, "what went wrong")
    assert str(error) == "what went wrong"


def _every_error_class() -> list[type[HubError]]:
    for component in COMPONENTS:
        package = importlib.import_module(component)
        for module in pkgutil.walk_packages(package.__path__, f"{component}."):
            importlib.import_module(module.name)
    found: list[type[HubError]] = []
    pending = [HubError]
    while pending:
        for subclass in pending.pop().__subclasses__():
            if subclass not in found and subclass.__module__.split(".")[0] in COMPONENTS:
                found.append(subclass)
                pending.append(subclass)
    return found


def test_every_error_code_follows_the_casing_rule() -> None:
    classes = _every_error_class()
    assert len(classes) > 100
    wrong = []
    for error in classes:
        if issubclass(error, DidError) and not issubclass(error, ChainError):
            pattern = CAMEL
        elif issubclass(error, CredentialError) and error.code not in SNAKE_CREDENTIAL_CODES:
            pattern = UPPER_SNAKE
        else:
            pattern = SNAKE
        if not pattern.fullmatch(error.code):
            wrong.append(f"{error.__module__}.{error.__name__}: {error.code}")
        assert isinstance(error.status_code, int) and 400 <= error.status_code < 600
    assert wrong == []


class Teapot(EvidenceError):
    code = "teapot"
    status_code = 418


class Broken(HubError):
    code = "broken_thing"
    status_code = 503


def test_one_handler_maps_every_hub_error() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/teapot")
    def teapot() -> None:
        raise Teapot("short and stout")

    @app.get("/broken")
    def broken() -> None:
        raise Broken("not today")

    @app.get("/startup")
    def startup() -> None:
        raise StartupError("configure the addresses")

    with TestClient(app) as client:
        response = client.get("/teapot")
        assert response.status_code == 418
        assert response.json() == {"error": "teapot", "message": "short and stout"}
        response = client.get("/broken")
        assert response.status_code == 503
        assert response.json() == {"error": "broken_thing", "message": "not today"}
        response = client.get("/startup")
        assert response.status_code == 503
        assert response.json() == {"error": "startup_error", "message": "configure the addresses"}


def test_the_cli_expects_every_hub_error() -> None:
    assert HubError in EXPECTED_ERRORS
    for error in _every_error_class():
        assert issubclass(error, EXPECTED_ERRORS)
