"""Compiled contract artifacts shipped with the package.

The artifacts under ``chain_adapter/contracts/build/`` are produced by
``node scripts/build_contracts.mjs`` (solc 0.8.37, optimizer 200 runs, EVM
"paris", no metadata trailer) and committed; ``--check`` proves they match the
sources. This module only reads them, through :mod:`importlib.resources`, so it
works from a source checkout, a wheel or a zip alike.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Final

from hub_kernel.errors import HubError

__all__ = ["CONTRACTS", "Artifact", "ArtifactError", "load_artifact", "parse_artifact"]

CONTRACTS: Final[tuple[str, ...]] = (
    "EthereumDIDRegistry",
    "AnchorRegistry",
    "ConsortiumRegistry",
    "StatusListRegistry",
    "DrawRegistry",
)
"""The deployable contracts of the hub, by artifact name."""

_PACKAGE: Final = "chain_adapter"
_BUILD_DIR: Final = ("contracts", "build")


class ArtifactError(HubError):
    """An artifact is missing or malformed (a broken installation: the message says what to run)."""

    code = "artifact_error"
    status_code = 500


@dataclass(frozen=True, slots=True)
class Artifact:
    """One compiled contract: its ABI, creation code and runtime code."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: bytes
    deployed_bytecode: bytes

    def function_abi(self, name: str) -> list[dict[str, Any]]:
        """The ABI entries of the functions called ``name`` (several when overloaded)."""
        return [e for e in self.abi if e.get("type") == "function" and e.get("name") == name]

    def event_abi(self, name: str) -> dict[str, Any]:
        """The ABI entry of event ``name``."""
        for entry in self.abi:
            if entry.get("type") == "event" and entry.get("name") == name:
                return entry
        raise KeyError(f"{self.name} has no event {name!r}")


def _hex_bytes(value: object, field: str, name: str) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise ArtifactError(f"{name}: {field} is not a 0x-prefixed hex string")
    try:
        return bytes.fromhex(value[2:])
    except ValueError as exc:
        raise ArtifactError(f"{name}: {field} is not valid hex") from exc


@cache
def load_artifact(name: str) -> Artifact:
    """Load the packaged artifact of contract ``name`` (e.g. ``"AnchorRegistry"``); cached.

    Raises :class:`ArtifactError` when it does not exist or is malformed.
    """
    if not name.isidentifier():
        raise ArtifactError(f"not a contract name: {name!r}")
    resource = resources.files(_PACKAGE).joinpath(*_BUILD_DIR, f"{name}.json")
    try:
        raw = resource.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ArtifactError(f"no artifact for {name!r}: run `npm run build:contracts`") from exc
    return parse_artifact(raw, name)


def parse_artifact(raw: str, name: str) -> Artifact:
    """Parse the text of a build artifact of contract ``name`` (also for test contracts)."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"{name}: artifact is not valid JSON") from exc
    if not isinstance(data, dict) or data.get("contractName") != name:
        raise ArtifactError(f"{name}: artifact does not describe contract {name!r}")
    abi = data.get("abi")
    if not isinstance(abi, list) or not all(isinstance(e, dict) for e in abi):
        raise ArtifactError(f"{name}: abi is not a list of objects")
    return Artifact(
        name=name,
        abi=abi,
        bytecode=_hex_bytes(data.get("bytecode"), "bytecode", name),
        deployed_bytecode=_hex_bytes(data.get("deployedBytecode"), "deployedBytecode", name),
    )
