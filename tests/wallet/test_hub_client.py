"""The wallet's hub client against the served hub, and against hubs that misbehave.

The hub's own refusals come back with its code and status; an unreachable hub is
``hub_unavailable``; a hub answering without end (an endless body, a deposit never
certified) is cut off with a reason instead of filling the wallet's memory or time.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.responses import StreamingResponse

from testkit.serving import serve_app
from testkit.wallets import wallet_session
from tests.fixtures.wallet_hub import WalletHub
from wallet.chain_view import ChainView
from wallet.deposits import Depositor, NotCertified, idempotency_key
from wallet.did_operations import create_ethr
from wallet.hub_client import MAX_JSON_BYTES, HubClient, HubRefused
from wallet.receiving import Receiver
from wallet.wallet import Wallet


def test_the_hubs_refusals_keep_its_code_and_status(
    wallet_hub: WalletHub, hub_wallet: Wallet, chain: ChainView
) -> None:
    create_ethr(hub_wallet, chain.chain_id)
    auth = wallet_session(hub_wallet, wallet_hub.url, chain).auth()
    with HubClient(wallet_hub.url, None, auth=auth) as signed_in:
        with pytest.raises(HubRefused) as unknown:
            signed_in.deposit("no-such-deposit")
        assert unknown.value.hub_status == 404
    with HubClient(wallet_hub.url, wallet_hub.token) as hub:
        with pytest.raises(HubRefused) as foreign:
            hub.operation_digest("did:ethr:0x1:0x" + "11" * 20, {"type": "deactivate"})
        assert foreign.value.hub_code == "unknownNetwork"
        assert hub.presentation_challenge("court.example")["challenge"]
    with (
        HubClient(wallet_hub.url, "not-the-token") as stranger,
        pytest.raises(HubRefused) as denied,
    ):
        stranger.deposit("any")
    assert denied.value.hub_status == 401


@pytest.fixture
def endless_hub() -> Iterator[str]:
    """A "hub" whose answers never end, and whose deposits never certify."""
    app = FastAPI()

    def endless() -> Iterator[bytes]:
        while True:
            yield b"[" * 65536

    @app.get("/evidence/deposits/{deposit_id}/credential")
    def credential(deposit_id: str) -> StreamingResponse:
        return StreamingResponse(endless(), media_type="application/json")

    @app.get("/evidence/deposits/{deposit_id}")
    def deposit(deposit_id: str) -> dict[str, str]:
        return {"id": deposit_id, "state": "timestamped"}

    with serve_app(app) as served:
        yield served.url


def test_an_endless_answer_is_cut_off(endless_hub: str) -> None:
    with HubClient(endless_hub, None) as hub, pytest.raises(HubRefused) as cut:
        hub.deposit_credential("d1")
    assert cut.value.hub_code == "response_too_large"
    assert str(MAX_JSON_BYTES) in cut.value.message


def test_a_deposit_never_certified_times_out(
    endless_hub: str, hub_wallet: Wallet, chain: ChainView
) -> None:
    create_ethr(hub_wallet, chain.chain_id)
    with HubClient(endless_hub, None) as hub:
        depositor = Depositor(
            hub_wallet, hub, Receiver(chain), poll_interval=0.05, certify_timeout=0.3
        )
        states: list[str] = []
        with pytest.raises(NotCertified, match="still timestamped"):
            depositor.wait_certified("d1", states.append)
    assert states and set(states) == {"timestamped"}
    assert hub_wallet.credentials.list() == []


def test_the_idempotency_key_names_the_deposit(tmp_path: Path) -> None:
    file = tmp_path / "a.pdf"
    file.write_bytes(b"contract")
    key = idempotency_key("did:example:a", file, "Lease")
    assert key == idempotency_key("did:example:a", file, "Lease")  # a retry: the same key
    assert key != idempotency_key("did:example:b", file, "Lease")
    assert key != idempotency_key("did:example:a", file, "Other")
    file.write_bytes(b"another contract")
    assert key != idempotency_key("did:example:a", file, "Lease")
