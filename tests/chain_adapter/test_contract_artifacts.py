"""The committed contract artifacts are exactly what the pinned compiler builds."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from chain_adapter.artifacts import CONTRACTS, ArtifactError, load_artifact

REPO = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO / "scripts" / "build_contracts.mjs"
BUILD_DIR = REPO / "chain_adapter" / "contracts" / "build"
SOURCES = REPO / "chain_adapter" / "contracts"
PUSH0 = 0x5F


def _node() -> str:
    if not (REPO / "node_modules" / "solc").is_dir():
        pytest.skip("node_modules/solc is missing: run `npm ci` to check the contract build")
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not on PATH: cannot run scripts/build_contracts.mjs")
    return node


def test_committed_artifacts_match_a_fresh_build() -> None:
    result = subprocess.run(
        [_node(), str(BUILD_SCRIPT), "--check"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, (
        "contract artifacts are out of date with their sources; run "
        "`npm run build:contracts` and commit the result\n" + result.stdout + result.stderr
    )


@pytest.mark.parametrize("name", CONTRACTS)
def test_artifact_file_is_canonical(name: str) -> None:
    path = BUILD_DIR / f"{name}.json"
    text = path.read_text(encoding="utf-8")
    data = json.loads(text)
    # Sorted keys, 2-space indent, trailing newline: byte-identical rebuilds.
    assert text == json.dumps(data, indent=2, sort_keys=True) + "\n"
    assert set(data) == {
        "abi",
        "bytecode",
        "compiler",
        "contractName",
        "deployedBytecode",
        "sourceHash",
    }
    assert data["contractName"] == name
    assert data["compiler"]["version"].startswith("0.8.37+")
    assert data["compiler"]["settings"] == {
        "evmVersion": "paris",
        "metadata": {"appendCBOR": False, "bytecodeHash": "none"},
        "optimizer": {"enabled": True, "runs": 200},
    }
    source = (SOURCES / f"{name}.sol").read_bytes()
    assert data["sourceHash"] == hashlib.sha256(source).hexdigest()


def _opcodes(code: bytes) -> list[int]:
    """The opcodes of ``code``, skipping PUSH1..PUSH32 immediates."""
    ops, i = [], 0
    while i < len(code):
        op = code[i]
        ops.append(op)
        i += 1 + (op - 0x5F if 0x60 <= op <= 0x7F else 0)
    return ops


@pytest.mark.parametrize("name", CONTRACTS)
def test_bytecode_runs_on_pre_shanghai_evms(name: str) -> None:
    """evmVersion paris: no PUSH0, which GoQuorum / Besu QBFT networks may lack."""
    artifact = load_artifact(name)
    assert PUSH0 not in _opcodes(artifact.bytecode)
    assert PUSH0 not in _opcodes(artifact.deployed_bytecode)
    # Without a CBOR metadata trailer the runtime code is the tail of the creation code.
    assert artifact.bytecode.endswith(artifact.deployed_bytecode)


def test_load_artifact() -> None:
    for name in CONTRACTS:
        artifact = load_artifact(name)
        assert artifact.name == name
        assert artifact is load_artifact(name)  # cached
        assert any(entry.get("type") == "function" for entry in artifact.abi)
    assert load_artifact("AnchorRegistry").function_abi("anchor")[0]["inputs"][1]["type"] == (
        "uint64"
    )
    assert load_artifact("EthereumDIDRegistry").event_abi("DIDOwnerChanged")["name"] == (
        "DIDOwnerChanged"
    )
    with pytest.raises(ArtifactError):
        load_artifact("NoSuchContract")
    with pytest.raises(ArtifactError):
        load_artifact("../build/AnchorRegistry")
