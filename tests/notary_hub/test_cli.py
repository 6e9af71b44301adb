"""The ``notary-hub`` command line as a user runs it: real subprocesses, real components.

One embedded-default hub is served for the module (first start in a fresh
directory, one item anchored); the tests read its ``serve`` output, verify its
receipt with ``notary-hub receipt verify`` against its ``/rpc``, restart it and
ask ``chain info``. Every failure the CLI reports must be one ``error: ...``
line on stderr with a non-zero exit, never a traceback.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from notary_hub import migrate
from testkit.waiting import wait_until
from tests.fixtures.database import create_postgres_database, drop_postgres_database
from tests.fixtures.hub_process import HubProcess, free_port, run_cli

CONTRACTS = (
    "EthereumDIDRegistry",
    "AnchorRegistry",
    "ConsortiumRegistry",
    "StatusListRegistry",
    "DrawRegistry",
)
ITEM = "0x" + "5a" * 32


def user_env(**extra: str) -> dict[str, str]:
    """The caller's environment without any NOTARY_HUB_* leaking in, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTARY_HUB_")}
    return {**env, **extra}


def one_error_line(stderr: str) -> str:
    """The single ``error: ...`` line the CLI prints on failure (and nothing else)."""
    assert "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    return lines[0]


def printed_contracts(log: str) -> dict[str, str]:
    """``Name 0x...`` lines that ``serve`` prints after start-up."""
    found = {}
    for line in log.splitlines():
        name, _, address = line.partition(" ")
        if name in CONTRACTS and re.fullmatch(r"0x[0-9a-fA-F]{40}", address):
            found[name] = address
    return found


def wait_for_receipt(hub: HubProcess, item_id: int, timeout: float = 60) -> dict[str, Any]:
    with hub.client() as client:
        receipt: dict[str, Any] = wait_until(
            lambda: client.get(f"/anchoring/items/{item_id}").json()["receipt"],
            timeout=timeout,
            interval=0.1,
            message=f"item {item_id} not anchored",
        )
    return receipt


@dataclass
class Served:
    hub: HubProcess
    first_log: str
    item_id: int
    receipt: dict[str, Any]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``notary-hub serve`` on the embedded default in a fresh directory, one item anchored."""
    workdir = tmp_path_factory.mktemp("embedded")
    hub = HubProcess(workdir, {})
    hub.env = user_env(
        NOTARY_HUB_SERVER_PORT=str(hub.port),
        NOTARY_HUB_LOG_FORMAT="json",
        NOTARY_HUB_ANCHORING_BATCH_INTERVAL_SECONDS="0.2",
    )
    hub.start()
    try:
        first_log = hub.log.read_text()
        with hub.client() as client:
            response = client.post("/anchoring/items", json={"kind": "deposit", "items": [ITEM]})
        assert response.status_code == 202, response.text
        (item_id,) = response.json()["ids"]
        yield Served(hub, first_log, item_id, wait_for_receipt(hub, item_id))
    finally:
        hub.kill()


def ensure_running(hub: HubProcess) -> None:
    if hub.process is None or hub.process.poll() is not None:
        hub.start()


# -- serve ---------------------------------------------------------------------------


def test_first_serve_prints_what_it_created_and_where_it_listens(served: Served) -> None:
    log = served.first_log
    data_dir = served.hub.workdir / ".notary-hub"
    created = [line for line in log.splitlines() if line.startswith("created ")]
    node = re.search(r"^created node key for (0x[0-9a-fA-F]{40}) ", log, re.M)
    assert node is not None, log
    contracts = printed_contracts(log)
    assert set(contracts) == set(CONTRACTS)

    expected_prefixes = [
        "created master key .notary-hub/master.key",
        f"created node key for {node[1]}",
        "created API token in .notary-hub/api-token",
        f"created database sqlite:///{data_dir.resolve()}/hub.sqlite3",
        *(f"created {name} at {contracts[name]}" for name in CONTRACTS),
        f"created consortium founding member and service node {node[1]}",
        "created notary ed25519 key notary-ed25519-1 published for "
        f"did:ethr:0x539:{node[1]} (did/pub/Ed25519/veriKey/base58)",
        "created notary x25519 key notary-x25519-1 published for "
        f"did:ethr:0x539:{node[1]} (did/pub/X25519/enc/base64)",
        "created document-signing certificate ",  # its SHA-256 on the notary DID (PDF letters)
        "created sign-in request key signin-request-ed25519",  # issue 13: wallet sign-in
        "created OAuth client notary-hub-cli (staff: notary-hub login)",  # issue 13: staff CLI
    ]
    assert len(created) == len(expected_prefixes), created
    for line, prefix in zip(created, expected_prefixes, strict=True):
        assert line.startswith(prefix), (line, prefix)
    assert created[-3].endswith(f" published for did:ethr:0x539:{node[1]}")

    assert f"data directory {data_dir.resolve()}" in log
    assert re.search(rf"^embedded chain 1337 at block \d+; node {node[1]}$", log, re.M), log
    assert f"listening on {served.hub.url}\n" in log
    assert f"chain JSON-RPC at {served.hub.url}/rpc\n" in log

    # What it says it created is there, the secrets readable by the owner only.
    for name in ("master.key", "api-token"):
        assert (data_dir / name).stat().st_mode & 0o077 == 0, name
    assert (data_dir / "hub.sqlite3").is_file()
    assert any((data_dir / "keys").iterdir())
    # The contracts it printed hold code on the chain it serves.
    with served.hub.client() as client:
        for address in contracts.values():
            answer = client.post(
                "/rpc",
                json={"jsonrpc": "2.0", "id": 1, "method": "eth_getCode", "params": [address]},
            ).json()
            assert len(answer["result"]) > 2, (address, answer)


def test_restart_creates_nothing_and_keeps_contracts_and_chain(served: Served) -> None:
    hub = served.hub
    ensure_running(hub)
    height = hub.get("/readyz")["chain"]["block"]
    assert height > 3, "three deployments and one anchoring transaction were mined"
    offset = len(hub.log.read_text())

    hub.stop()
    hub.start()

    log = hub.log.read_text()[offset:]
    assert not [line for line in log.splitlines() if line.startswith("created")], log
    assert printed_contracts(log) == printed_contracts(served.first_log)
    assert f"embedded chain 1337 at block {height};" in log
    assert hub.get("/readyz")["chain"]["block"] == height
    assert hub.get(f"/anchoring/items/{served.item_id}")["receipt"] == served.receipt


def test_chain_info_json_on_the_embedded_default(served: Served) -> None:
    ensure_running(served.hub)
    result = run_cli("chain", "info", "--json", env=served.hub.env, cwd=served.hub.workdir)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", "nothing is created on a second look"
    info = json.loads(result.stdout)
    node = re.search(r"^created node key for (0x[0-9a-fA-F]{40}) ", served.first_log, re.M)
    assert node is not None
    assert info["chainId"] == 1337
    assert info["backend"] == "embedded"
    assert info["node"] == node[1]
    assert info["member"] is True
    assert info["serviceNode"] is True
    assert info["contracts"] == printed_contracts(served.first_log)
    assert info["database"] == "current"
    assert info["pendingAnchorItems"] == 0
    assert info["blockNumber"] >= served.receipt["blockNumber"]
    assert info["nodeBalance"] > 0


# -- receipt verify ----------------------------------------------------------------------


def write_json(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document))
    return path


def test_receipt_verify_accepts_a_real_receipt(served: Served, tmp_path: Path) -> None:
    ensure_running(served.hub)
    rpc = f"{served.hub.url}/rpc"
    receipt = write_json(tmp_path / "receipt.json", served.receipt)

    result = run_cli("receipt", "verify", str(receipt), "--rpc", rpc, env=user_env(), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    when = datetime.fromtimestamp(served.receipt["blockTimestamp"], UTC)
    assert result.stdout.startswith(
        f"valid: anchored in block {served.receipt['blockNumber']} at "
        f"{when:%Y-%m-%dT%H:%M:%SZ}"  # ISO 8601 UTC, not Unix seconds
    ), result.stdout

    # The same receipt wrapped as the hub's evidence documents carry it, as JSON output.
    wrapped = write_json(tmp_path / "wrapped.json", {"anchorReceipt": served.receipt})
    result = run_cli(
        "receipt", "verify", str(wrapped), "--rpc", rpc, "--json", env=user_env(), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    verdict = json.loads(result.stdout)
    assert verdict["valid"] is True
    assert verdict["errors"] == []
    assert verdict["checks"] == ["inclusion proof", "registry record", "block", "transaction"]
    assert verdict["blockTimestamp"] == served.receipt["blockTimestamp"]


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        (
            "leaf",
            "0x" + "5b" * 32,
            "invalid: the audit path does not lead from the leaf to the root",
        ),
        ("blockNumber", 1, "invalid: the root was anchored in block"),
    ],
    ids=["leaf", "block-number"],
)
def test_receipt_verify_rejects_a_tampered_receipt(
    served: Served, tmp_path: Path, field: str, value: Any, expected: str
) -> None:
    ensure_running(served.hub)
    tampered = write_json(tmp_path / "tampered.json", {**served.receipt, field: value})
    result = run_cli(
        "receipt",
        "verify",
        str(tampered),
        "--rpc",
        f"{served.hub.url}/rpc",
        env=user_env(),
        cwd=tmp_path,
    )
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines and all(line.startswith("invalid: ") for line in lines), result.stderr
    assert lines[0].startswith(expected), result.stderr

    result = run_cli(
        "receipt",
        "verify",
        str(tampered),
        "--rpc",
        f"{served.hub.url}/rpc",
        "--json",
        env=user_env(),
        cwd=tmp_path,
    )
    assert result.returncode == 1
    verdict = json.loads(result.stdout)
    assert verdict["valid"] is False
    assert verdict["errors"][0].startswith(expected.removeprefix("invalid: "))


@pytest.mark.parametrize("case", ["missing file", "not JSON", "malformed", "unreachable RPC"])
def test_receipt_verify_reports_unusable_input_in_one_line(
    served: Served, tmp_path: Path, case: str
) -> None:
    rpc = f"{served.hub.url}/rpc"
    path = tmp_path / "receipt.json"
    if case == "missing file":
        expected = f"error: file_not_found: {path}: No such file or directory"
    elif case == "not JSON":
        path.write_text("{not json")
        expected = f"error: invalid_receipt: {path} is not JSON: "
    elif case == "malformed":
        write_json(path, {**served.receipt, "treeSize": "one"})
        expected = "error: invalid_receipt: treeSize must be an integer"
    else:
        write_json(path, served.receipt)
        rpc = f"http://127.0.0.1:{free_port()}"  # closed: nobody listens there
        expected = f"error: chain_unavailable: node {rpc} unavailable: "
    result = run_cli("receipt", "verify", str(path), "--rpc", rpc, env=user_env(), cwd=tmp_path)
    assert result.returncode != 0
    assert result.stdout == ""
    assert one_error_line(result.stderr).startswith(expected), result.stderr


# -- database ------------------------------------------------------------------------------


def test_db_current_and_upgrade_on_a_fresh_postgres_database(
    postgres_admin: str, tmp_path: Path
) -> None:
    name, url = create_postgres_database(postgres_admin)
    try:
        env = user_env(NOTARY_HUB_DATABASE_URL=url, NOTARY_HUB_SERVER_PORT=str(free_port()))
        head = migrate.head_revision()

        # serve refuses an un-migrated database, and says what to run.
        result = run_cli("serve", env=env, cwd=tmp_path, timeout=60)
        assert result.returncode != 0
        line = one_error_line(result.stderr)
        assert line.startswith("error: startup_error: the database schema is at nothing"), line
        assert "`notary-hub db upgrade`" in line
        assert "listening" not in result.stdout

        result = run_cli("db", "current", env=env, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == f"empty (head {head}, upgrade needed)"

        result = run_cli("db", "upgrade", env=env, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == f"database at revision {head}"

        result = run_cli("db", "current", env=env, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == f"{head} (head {head})"
    finally:
        drop_postgres_database(postgres_admin, name)


# -- settings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "env", "expected"),
    [
        (
            "serve",
            {"NOTARY_HUB_CHAIN_CHAIN_ID": "abc"},
            "error: invalid_settings: chain.chain_id: Input should be a valid integer",
        ),
        (
            "serve",
            {"NOTARY_HUB_SERVER_API_TOKENS": "not-a-json-list"},
            'error: invalid_settings: error parsing value for field "server"',
        ),
        (
            "chain info",
            {"NOTARY_HUB_CHAIN_CONSORTIUM_ADDRESS": "0x123"},
            "error: invalid_settings: chain.consortium_address: ",
        ),
        (
            "serve",
            {"NOTARY_HUB_MODE": "production"},
            "error: invalid_settings: ",
        ),
        (
            "db current",
            {
                "NOTARY_HUB_MODE": "production",
                "NOTARY_HUB_KEYS_MASTER_KEY": "ab" * 32,
                "NOTARY_HUB_SERVER_API_TOKENS": '["' + "s" * 40 + '"]',
            },
            "error: invalid_settings: ",
        ),
    ],
    ids=[
        "chain-id-abc",
        "tokens-not-json",
        "bad-address",
        "production-bare",
        "production-static-token",
    ],
)
def test_invalid_settings_are_one_line_and_create_nothing(
    tmp_path: Path, command: str, env: dict[str, str], expected: str
) -> None:
    result = run_cli(*command.split(), env=user_env(**env), cwd=tmp_path, timeout=60)
    assert result.returncode != 0
    assert result.stdout == ""
    line = one_error_line(result.stderr)
    assert line.startswith(expected), line
    if env.get("NOTARY_HUB_MODE") == "production":
        if "NOTARY_HUB_SERVER_API_TOKENS" in env:
            assert "static API tokens are a dev-mode bootstrap only" in line
            assert "s" * 40 not in line
        if "NOTARY_HUB_KEYS_MASTER_KEY" not in env:
            assert "a master key is required" in line
        assert "ab" * 32 not in line
    assert list(tmp_path.iterdir()) == [], "nothing is created before the settings are valid"
