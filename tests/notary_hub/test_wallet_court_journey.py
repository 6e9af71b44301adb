"""Issue 12, "done when": a holder's whole journey to court, through the real commands.

Against a hub served on an external chain (a Hardhat node), as a holder types them:
create a wallet and a did:ethr, add an Ed25519 key through the hub's relay, deposit a
file, receive and verify its letter, present it to a court's challenge and bundle it.
Then the hub stops, and the court checks each part of the bundle with only Hardhat
running. Finally the wallet is restored from its recovery phrase on a fresh directory
and presents again.
"""

from __future__ import annotations

import json
import os
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.hardhat import HardhatNode, free_port
from tests.fixtures.hub_process import CLI, HubProcess
from tests.fixtures.operator import deployed_operator

pytestmark = [pytest.mark.hardhat, pytest.mark.slow]

PASSPHRASE = "correct horse battery staple, twice over"
CHALLENGE = "court-7f3a91c2"
DOMAIN = "court.example.cn"


class Holder:
    """A person at a terminal: every call is ``notary-hub wallet ...`` in a subprocess."""

    def __init__(self, wallet: Path, workdir: Path) -> None:
        self.workdir = workdir
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("NOTARY_HUB_")}
        self.env.update(NOTARY_HUB_WALLET=str(wallet), NOTARY_HUB_WALLET_PASSPHRASE=PASSPHRASE)

    def run(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(CLI), *args],
            env=self.env,
            cwd=self.workdir,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )

    def ok(self, *args: str, stdin: str | None = None) -> str:
        result = self.run(*args, stdin=stdin)
        assert result.returncode == 0, f"{args}: {result.stdout}\n{result.stderr}"
        return result.stdout


@pytest.fixture(scope="module")
def court_chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HardhatNode]:
    """A Hardhat node of its own: on a chain where another consortium was deployed first,
    that one would be the chain's founding consortium, and this hub's notary untrusted."""
    node = HardhatNode(port=free_port(), log_path=tmp_path_factory.mktemp("court") / "node.log")
    node.start()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="module")
def court_world(
    court_chain: HardhatNode, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[HubProcess, Path]]:
    operator = deployed_operator(court_chain, tmp_path_factory.mktemp("court-operator"))
    hub = HubProcess(operator.workdir, {})
    hub.env = operator.serve_env(NOTARY_HUB_SERVER_PORT=str(hub.port))
    hub.start()
    try:
        yield hub, tmp_path_factory.mktemp("holder")
    finally:
        hub.stop()


def test_a_holder_deposits_presents_and_bundles_and_the_court_checks_it_offline(
    court_world: tuple[HubProcess, Path], court_chain: HardhatNode
) -> None:
    hub, home = court_world
    holder = Holder(home / "wallet", home)
    created = holder.run(
        "wallet", "create", "--hub", hub.url, "--rpc", court_chain.url, "--api-token", hub.token
    )
    assert created.returncode == 0, created.stderr
    phrase = created.stdout.strip()
    assert len(phrase.split()) == 24
    assert "shown once" in created.stderr

    did = holder.ok("wallet", "did", "create", "--method", "ethr").strip()
    assert did.startswith("did:ethr:0x7a69:")
    holder.ok("wallet", "did", "add-key", "--purpose", "authentication")  # via the relay
    document = holder.ok("wallet", "did", "show")
    assert "Ed25519VerificationKey" in document

    contract = home / "contract.pdf"
    contract.write_bytes(b"%PDF-1.4\nthe contract of 3 December 2026\n" + os.urandom(4096))
    credential_id = holder.ok("wallet", "deposit", str(contract), "--title", "Contract").strip()
    assert "valid" in holder.ok("wallet", "credential", "list")
    assert "DataDepositCredential" in holder.ok("wallet", "credential", "show", credential_id)

    holder.ok(
        "wallet", "present", credential_id, "--challenge", CHALLENGE, "--domain", DOMAIN,
        "-o", str(home / "vp.json"),
    )  # fmt: skip
    holder.ok(
        "wallet", "bundle", credential_id, "--file", str(contract), "--challenge", CHALLENGE,
        "--domain", DOMAIN, "-o", str(home / "case.zip"),
    )  # fmt: skip
    other = home / "other.pdf"
    other.write_bytes(b"%PDF-1.4\nnot the deposited contract\n")
    wrong = holder.run(
        "wallet", "bundle", credential_id, "--file", str(other), "--challenge", CHALLENGE,
        "--domain", DOMAIN, "-o", str(home / "wrong.zip"),
    )  # fmt: skip
    assert wrong.returncode != 0 and not (home / "wrong.zip").exists()
    assert wrong.stderr.strip().splitlines() == [
        "error: invalid_bundle: other.pdf is not the file this letter certifies (SHA-256 differs)"
    ]
    hub.stop()  # from here on, only the Hardhat node runs

    case = home / "case"
    with zipfile.ZipFile(home / "case.zip") as archive:
        archive.extractall(case)
    assert (case / "original" / "contract.pdf").read_bytes() == contract.read_bytes()
    court = Holder(home / "no-wallet", case)  # a clerk: no wallet, no hub
    rpc = ("--rpc", court_chain.url)
    court.ok("verify", "presentation.json", "--challenge", CHALLENGE, "--domain", DOMAIN, *rpc)
    court.ok("verify", "letter.pdf", "--file", "original/contract.pdf", *rpc)
    court.ok("verify", str(home / "vp.json"), "--challenge", CHALLENGE, "--domain", DOMAIN, *rpc)
    elsewhere = court.run(
        "verify", "presentation.json", "--challenge", "another-court", "--domain", DOMAIN, *rpc
    )
    assert elsewhere.returncode != 0 and "challenge" in (elsewhere.stdout + elsewhere.stderr)

    # The wallet comes back from its phrase alone, on a fresh directory, and presents again.
    restored = Holder(home / "restored", home)
    restored.ok("wallet", "restore", "--rpc", court_chain.url, stdin=phrase + "\n")
    letter = json.loads((case / "presentation.json").read_text())["verifiableCredential"][0]
    (home / "letter.json").write_text(json.dumps(letter))
    imported = restored.ok("wallet", "credential", "import", str(home / "letter.json")).strip()
    restored.ok(
        "wallet", "present", imported, "--challenge", "court-2", "--domain", DOMAIN,
        "-o", str(home / "vp2.json"),
    )  # fmt: skip
    court.ok("verify", str(home / "vp2.json"), "--challenge", "court-2", "--domain", DOMAIN, *rpc)
