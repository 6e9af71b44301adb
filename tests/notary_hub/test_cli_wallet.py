"""``notary-hub wallet`` end to end against a served hub: the commands a holder types.

A wallet is created, gets a did:ethr, publishes an Ed25519 key through the hub's relay
(seen in the document the chain has), deposits a file and holds the verified custody
letter (list, show, export, status, receive again, present to a hub challenge), and is
restored from its recovery phrase on a fresh directory, where its key is found again on
chain and it presents again. Presentations are checked by the hub's verifier
(``POST /presentations/verify``).
"""

from __future__ import annotations

import json
from pathlib import Path

from eth_account import Account

from testkit.wallets import directory_fingerprint, new_test_wallet
from tests.fixtures.wallet_hub import PASSPHRASE, WalletHub
from wallet.chain_view import ChainView
from wallet.did_operations import DidOperations, create_ethr
from wallet.hub_client import HubClient
from wallet.wallet import Wallet, WalletConfig

WIDE = {"COLUMNS": "400"}  # rich tables otherwise fit (and cut) an 80-column pipe


def _document(output: str) -> dict[str, object]:
    """The JSON document a did command prints after its ``# DID`` line."""
    text = output[output.index("{") :]
    document: dict[str, object] = json.loads(text)
    return document


def _verified(hub: WalletHub, presentation: Path, challenge: str, domain: str) -> str:
    """The holder of a presentation the hub's verifier accepts for ``challenge``/``domain``."""
    document = json.loads(presentation.read_text())
    with hub.process.client() as client:
        response = client.post(
            "/presentations/verify",
            json={
                "verifiablePresentation": document,
                "options": {"challenge": challenge, "domain": domain},
            },
        )
    assert response.status_code == 200, response.text
    holder: str = document["holder"]
    return holder


def test_holder_journey(wallet_hub: WalletHub, tmp_path: Path) -> None:
    wallet = tmp_path / "wallet"
    phrase = wallet_hub.create_wallet(wallet)
    assert len(phrase.split()) == 24

    created = wallet_hub.wallet(wallet, "did", "create")
    assert created.returncode == 0, created.stderr
    did = created.stdout.strip()
    assert did.startswith("did:ethr:0x")

    added = wallet_hub.wallet(wallet, "did", "add-key", "--purpose", "authentication")
    assert added.returncode == 0, added.stderr
    document = _document(added.stdout)
    ed25519 = [m for m in document["verificationMethod"] if "publicKeyBase58" in m]  # type: ignore[attr-defined]
    assert len(ed25519) == 1
    method_id = ed25519[0]["id"]
    assert method_id in document["authentication"]  # type: ignore[operator]
    assert method_id in document["assertionMethod"]  # type: ignore[operator]

    shown = wallet_hub.wallet(wallet, "did", "show")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout) == document  # the chain's document, as the relay left it

    contract = tmp_path / "contract.pdf"
    contract.write_bytes(b"%PDF-1.7\n% the holder's own contract\n" + bytes(range(256)) * 64)
    deposited = wallet_hub.wallet(wallet, "deposit", str(contract), "--title", "Lease")
    assert deposited.returncode == 0, deposited.stderr
    credential_id = deposited.stdout.strip().splitlines()[-1]
    assert credential_id.startswith("urn:")

    listed = wallet_hub.wallet(wallet, "credential", "list", **WIDE)
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if credential_id in line)
    assert "DataDepositCredential" in row and did in row and "valid" in row

    prefix = credential_id[: len(credential_id) - 6]  # a unique prefix names it too
    shown_credential = wallet_hub.wallet(wallet, "credential", "show", prefix)
    assert shown_credential.returncode == 0, shown_credential.stderr
    held = json.loads(shown_credential.stdout)
    assert held["document"]["credentialSubject"]["id"] == did
    deposit_id = held["wallet"]["source"]

    exported = tmp_path / "letter.json"
    export = wallet_hub.wallet(wallet, "credential", "export", credential_id, "-o", str(exported))
    assert export.returncode == 0, export.stderr
    assert json.loads(exported.read_text()) == held["document"]
    assert oct(exported.stat().st_mode & 0o777) == "0o600"

    status = wallet_hub.wallet(wallet, "credential", "status", credential_id)
    assert status.returncode == 0, status.stderr
    assert status.stdout.split() == [credential_id, "valid"]

    presented = tmp_path / "vp.json"
    present = wallet_hub.wallet(
        wallet, "present", credential_id, "--domain", "court.example", "-o", str(presented)
    )
    assert present.returncode == 0, present.stderr
    challenge = present.stderr.split("challenge ", 1)[1].split()[0]  # asked from the hub
    assert _verified(wallet_hub, presented, challenge, "court.example") == did

    again = wallet_hub.wallet(wallet, "receive", deposit_id)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == credential_id  # the held copy; nothing stored twice

    restored = tmp_path / "restored"
    restore = wallet_hub.wallet(
        restored, "restore", "--hub", wallet_hub.url, "--rpc", wallet_hub.rpc, stdin=phrase + "\n"
    )
    assert restore.returncode == 0, restore.stderr
    assert restore.stdout.split()[:3] == [did, "with", "1"]
    # The restored wallet holds no letter (credentials are not in the phrase), but its
    # key is back: it presents a credential imported again, to a verifier's own challenge.
    imported = wallet_hub.wallet(restored, "credential", "import", str(exported))
    assert imported.returncode == 0, imported.stderr
    again_presented = tmp_path / "vp-again.json"
    present = wallet_hub.wallet(
        restored, "present", credential_id, "--challenge", "court-chosen-7f3a",
        "--domain", "court.example", "-o", str(again_presented),
    )  # fmt: skip
    assert present.returncode == 0, present.stderr
    assert _verified(wallet_hub, again_presented, "court-chosen-7f3a", "court.example") == did


def test_config_keys_and_backups(wallet_hub: WalletHub, tmp_path: Path) -> None:
    """``config`` shows and sets (never printing the token), ``key export`` writes a
    keystore v3 that eth-account opens, and a backup restores into a new directory."""
    wallet = tmp_path / "wallet"
    made, _ = new_test_wallet(wallet, passphrase=PASSPHRASE, config=WalletConfig(wallet_hub.url))
    made.close()
    configured = wallet_hub.wallet(
        wallet, "config", "--rpc", wallet_hub.rpc, "--api-token", wallet_hub.token
    )
    assert configured.returncode == 0, configured.stderr
    assert configured.stdout.split() == [
        "hub", wallet_hub.url, "rpc", wallet_hub.rpc, "api-token", "set"
    ]  # fmt: skip
    assert wallet_hub.token not in configured.stdout

    keystore = tmp_path / "key.json"
    exported = wallet_hub.wallet(
        wallet, "key", "export", "secp256k1-0", "--keystore", "-o", str(keystore),
        NOTARY_HUB_KEYSTORE_PASSWORD="an export password",
    )  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    assert oct(keystore.stat().st_mode & 0o777) == "0o600"
    secret = Account.decrypt(json.loads(keystore.read_text()), "an export password")
    with Wallet.open(wallet, PASSPHRASE) as opened:
        address = opened.key("secp256k1-0").address
        assert opened.config.rpc_url == wallet_hub.rpc
    assert Account.from_key(secret).address == address

    archive = tmp_path / "wallet.backup"
    backed_up = wallet_hub.wallet(wallet, "backup", str(archive))
    assert backed_up.returncode == 0, backed_up.stderr
    copy = tmp_path / "copy"
    restored = wallet_hub.wallet(copy, "restore-backup", str(archive))
    assert restored.returncode == 0, restored.stderr
    listed = wallet_hub.wallet(copy, "key", "list", **WIDE)
    assert listed.returncode == 0, listed.stderr
    assert address in listed.stdout


def test_did_changes_through_the_cli(wallet_hub: WalletHub, tmp_path: Path) -> None:
    """A key rotated, the owner handed to another wallet key, and a deactivation that
    asks first (refused on "n", the wallet unchanged) unless ``--yes``."""
    wallet = tmp_path / "wallet"
    config = WalletConfig(wallet_hub.url, wallet_hub.rpc, wallet_hub.token)
    made, _ = new_test_wallet(wallet, passphrase=PASSPHRASE, config=config)
    with made, ChainView.connect(wallet_hub.rpc) as chain:
        did = create_ethr(made, chain.chain_id).did
        with HubClient(wallet_hub.url, wallet_hub.token) as hub:
            DidOperations(made, hub, chain).add_key(None, "authentication")
        owner = made.derive_key("secp256k1")

    rotated = wallet_hub.wallet(wallet, "did", "rotate-key", "ed25519-0")
    assert rotated.returncode == 0, rotated.stderr
    document = _document(rotated.stdout)
    keys = [m for m in document["verificationMethod"] if "publicKeyBase58" in m]  # type: ignore[attr-defined]
    assert len(keys) == 1 and keys[0]["id"] in document["authentication"]  # type: ignore[operator]

    moved = wallet_hub.wallet(wallet, "did", "change-owner", "--to-key", owner.name)
    assert moved.returncode == 0, moved.stderr
    controller = _document(moved.stdout)["verificationMethod"][0]  # type: ignore[index]
    assert controller["blockchainAccountId"].endswith(owner.address)

    before = directory_fingerprint(wallet)
    declined = wallet_hub.wallet(wallet, "did", "deactivate", stdin="n\n")
    assert declined.returncode != 0
    assert directory_fingerprint(wallet) == before
    deactivated = wallet_hub.wallet(wallet, "did", "deactivate", "--yes")
    assert deactivated.returncode == 0, deactivated.stderr
    assert _document(deactivated.stdout)["verificationMethod"] == []
    assert deactivated.stdout.startswith(f"# {did}")


def test_a_wallet_without_an_api_token_signs_in_to_relay_its_did_changes(
    wallet_hub: WalletHub, tmp_path: Path
) -> None:
    """No API token (as against a production hub): the relay takes the wallet's own
    token (``registrar:relay``), the wallet signing in as its DID on first use."""
    wallet = tmp_path / "wallet"
    made = wallet_hub.wallet(wallet, "create", "--hub", wallet_hub.url, "--rpc", wallet_hub.rpc)
    assert made.returncode == 0, made.stderr
    assert wallet_hub.wallet(wallet, "did", "create").returncode == 0
    added = wallet_hub.wallet(wallet, "did", "add-service", "LinkedDomains", "https://me.test")
    assert added.returncode == 0, added.stderr
    services = _document(added.stdout)["service"]
    assert isinstance(services, list)
    assert [service["serviceEndpoint"] for service in services] == ["https://me.test"]
    ended = wallet_hub.wallet(wallet, "logout")
    assert ended.returncode == 0, ended.stderr
