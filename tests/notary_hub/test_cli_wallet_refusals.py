"""``notary-hub wallet`` refusals: one line, a non-zero exit, and the wallet unchanged on disk.

Each bad input is judged on the real commands: a wrong passphrase, a truncated wallet
file, a recovery phrase with a bad checksum, an unknown credential id, a credential that
fails verification on receipt (tampered, or from an issuer the chain does not trust),
and a second process while one holds the wallet. "Unchanged" is a digest over every
file of the wallet directory, modes included, taken before and after.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from credentials.data_integrity.proofs import SigningKey, add_proof
from did_registry.did_key import did_key
from hub_kernel.multiformats import ED25519
from testkit.wallets import directory_fingerprint, new_test_wallet
from tests.fixtures.wallet_hub import PASSPHRASE, WalletHub
from tests.security.conftest import certified_letter
from wallet.chain_view import ChainView
from wallet.did_operations import create_ethr
from wallet.wallet import WalletConfig


def _refused(result: subprocess.CompletedProcess[str], code: str) -> None:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith(f"error: {code}: "), result.stderr
    assert len(lines) == 1, result.stderr


@pytest.fixture(scope="module")
def held_wallet(wallet_hub: WalletHub, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wallet (light KDF) with a did:ethr and nothing else; tests that damage it copy it."""
    directory = tmp_path_factory.mktemp("held") / "wallet"
    config = WalletConfig(wallet_hub.url, wallet_hub.rpc, wallet_hub.token)
    wallet, _ = new_test_wallet(directory, passphrase=PASSPHRASE, config=config)
    with wallet, ChainView.connect(wallet_hub.rpc) as chain:
        create_ethr(wallet, chain.chain_id)
    return directory


def test_wrong_passphrase(wallet_hub: WalletHub, held_wallet: Path) -> None:
    before = directory_fingerprint(held_wallet)
    result = wallet_hub.wallet(
        held_wallet, "key", "list", NOTARY_HUB_WALLET_PASSPHRASE="not the passphrase"
    )
    _refused(result, "wrong_passphrase")
    assert directory_fingerprint(held_wallet) == before


def test_unknown_credential(wallet_hub: WalletHub, held_wallet: Path) -> None:
    before = directory_fingerprint(held_wallet)
    _refused(
        wallet_hub.wallet(held_wallet, "credential", "show", "urn:uuid:nope"), "unknown_credential"
    )
    assert directory_fingerprint(held_wallet) == before


def test_truncated_wallet_file(wallet_hub: WalletHub, held_wallet: Path, tmp_path: Path) -> None:
    damaged = tmp_path / "damaged"
    shutil.copytree(held_wallet, damaged)
    files = sorted((p for p in damaged.rglob("*") if p.is_file()), key=lambda p: p.stat().st_size)
    victim = files[-1]
    victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])
    before = directory_fingerprint(damaged)
    _refused(wallet_hub.wallet(damaged, "did", "list"), "corrupt_wallet")
    assert directory_fingerprint(damaged) == before


def test_recovery_phrase_with_bad_checksum(wallet_hub: WalletHub, tmp_path: Path) -> None:
    words = ["abandon"] * 24  # 24 x "abandon" fails the BIP-39 checksum; "art" would pass
    target = tmp_path / "restored"
    result = wallet_hub.wallet(target, "restore", stdin=" ".join(words) + "\n")
    _refused(result, "bad_recovery_phrase")
    assert not target.exists() or not any(target.iterdir())


def test_credential_failing_verification(
    wallet_hub: WalletHub, held_wallet: Path, tmp_path: Path
) -> None:
    """A tampered letter, and a well-signed credential from an issuer nobody admitted."""
    with wallet_hub.process.client() as client:
        letter = certified_letter(client, b"a file deposited by a platform", timeout=60)
    tampered = json.loads(json.dumps(letter))
    tampered["credentialSubject"]["title"] = "Not what was deposited"
    before = directory_fingerprint(held_wallet)
    path = tmp_path / "tampered.json"
    path.write_text(json.dumps(tampered))
    _refused(
        wallet_hub.wallet(held_wallet, "credential", "import", str(path)), "credential_rejected"
    )
    assert directory_fingerprint(held_wallet) == before

    stranger = Ed25519PrivateKey.generate()
    did = did_key(ED25519, stranger.public_key().public_bytes_raw())
    credential = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": "urn:uuid:0b4c2a52-4f4e-4a8e-9d4c-5e4b8f0a1c21",
        "type": ["VerifiableCredential"],
        "issuer": did,
        "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {"id": did},
    }
    method = SigningKey(f"{did}#{did.split(':')[2]}", stranger)
    path.write_text(json.dumps(add_proof(credential, suite="eddsa-rdfc-2022", key=method)))
    result = wallet_hub.wallet(held_wallet, "credential", "import", str(path))
    _refused(result, "credential_rejected")
    assert "issuer not trusted" in result.stderr
    assert directory_fingerprint(held_wallet) == before


def test_second_process_is_refused(wallet_hub: WalletHub, held_wallet: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from wallet.wallet import Wallet\n"
            "w = Wallet.open(Path(sys.argv[1]), sys.argv[2]); print('open', flush=True)\n"
            "sys.stdin.read(); w.close()",
            str(held_wallet),
            PASSPHRASE,
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        before = directory_fingerprint(held_wallet)
        _refused(wallet_hub.wallet(held_wallet, "key", "list"), "wallet_busy")
        assert directory_fingerprint(held_wallet) == before
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(30)
