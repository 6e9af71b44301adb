"""The wallet signs itself in to the served hub (``wallet.hub_signin``) and keeps its
session (``wallet.hub_session``): tokens sealed in the vault, refreshed, renewed by a new
sign-in when the refresh is refused, revoked on logout. The hub's first-party wallet
client is ensured at start-up and skips the consent page, its consent still recorded.

Attacks go through a transport that forwards every call to the real hub and rewrites
one answer on the way back (a man in the middle): a changed ``state`` or ``iss``, an ID
token tampered with or signed by another key. Each is refused with its reason.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey
from sqlalchemy import create_engine, text

from oauth_server import first_party
from testkit.waiting import wait_until
from testkit.wallets import wallet_session
from tests.fixtures.wallet_hub import WalletHub
from wallet.chain_view import ChainView
from wallet.deposits import Depositor
from wallet.did_operations import create_ethr
from wallet.holder_keys import did_presenter
from wallet.hub_client import HubClient, HubRefused
from wallet.hub_session import RECORD, HubSession
from wallet.hub_signin import REDIRECT_URI, SCOPES, WALLET_CLIENT_ID, sign_in
from wallet.login_errors import InvalidIdToken, SigninFailed, StateMismatch
from wallet.openid4vp_login import LoginRequest
from wallet.presentations import Format
from wallet.receiving import Receiver
from wallet.wallet import Wallet

Rewrite = Callable[[httpx.Request, httpx.Response], httpx.Response]


class ManInTheMiddle(httpx.BaseTransport):
    """Forwards to the real hub; ``rewrite`` may change an answer on its way back."""

    def __init__(self, rewrite: Rewrite) -> None:
        self._real = httpx.HTTPTransport()
        self._rewrite = rewrite

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._real.handle_request(request)
        response.read()
        return self._rewrite(request, response)

    def close(self) -> None:
        self._real.close()


@pytest.fixture
def did(hub_wallet: Wallet, chain: ChainView) -> str:
    return create_ethr(hub_wallet, chain.chain_id).did


def _counting(wallet: Wallet, chain: ChainView) -> tuple[Callable[..., Any], list[str]]:
    asked: list[str] = []
    present = did_presenter(wallet, wallet.did(), chain.document)

    def counted(request: LoginRequest) -> tuple[Format, Any]:
        asked.append(request.nonce)
        return present(request)

    return counted, asked


def _deposits(hub_url: str, token: str) -> httpx.Response:
    return httpx.get(
        f"{hub_url}/evidence/deposits", headers={"authorization": f"Bearer {token}"}, timeout=30
    )


def test_the_wallet_signs_in_refreshes_renews_and_logs_out(
    wallet_hub: WalletHub, hub_wallet: Wallet, chain: ChainView, did: str
) -> None:
    present, asked = _counting(hub_wallet, chain)
    session = HubSession(hub_wallet, wallet_hub.url, did, present)
    first = session.access_token()
    assert len(asked) == 1 and _deposits(wallet_hub.url, first).status_code == 200
    kept = session.stored()
    assert kept is not None and kept.did == did and kept.refresh_token
    assert set(kept.scope.split()) == {
        "openid",
        "did",
        "evidence:deposit",
        "evidence:read",
        "registrar:relay",
    }
    assert session.access_token() == first and len(asked) == 1  # kept, not signed in again
    sealed = b"".join(p.read_bytes() for p in hub_wallet.directory.glob("*.nhw"))
    assert first.encode() not in sealed and kept.refresh_token.encode() not in sealed
    assert RECORD in hub_wallet.vault

    # An hour on: the access token has expired, the refresh token gives new ones.
    later = HubSession(hub_wallet, wallet_hub.url, did, present, clock=lambda: time.time() + 3600)
    renewed = later.access_token()
    assert renewed != first and len(asked) == 1
    rotated = later.stored()
    assert rotated is not None and rotated.refresh_token != kept.refresh_token

    # A refresh the hub refuses (the old one, rotated away and now revoking its family):
    # the wallet signs in again with its key.
    stale = HubSession(hub_wallet, wallet_hub.url, did, present, clock=lambda: time.time() + 3600)
    hub_wallet.vault.commit({RECORD: {wallet_hub.url: {**kept.__dict__}}})
    again = stale.access_token()
    assert len(asked) == 2 and _deposits(wallet_hub.url, again).status_code == 200

    assert session.logout() is True and session.stored() is None
    refused = _deposits(wallet_hub.url, again)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_token"
    assert session.logout() is False


def test_the_first_party_wallet_skips_consent_but_its_consent_is_recorded(
    wallet_hub: WalletHub, hub_wallet: Wallet, chain: ChainView, did: str
) -> None:
    session = wallet_session(hub_wallet, wallet_hub.url, chain)
    auth = session.auth()
    with HubClient(wallet_hub.url, None, auth=auth) as hub:
        assert hub.deposits()["items"] == []
    with pytest.raises(HubRefused) as unknown, HubClient(wallet_hub.url, None, auth=auth) as hub:
        hub.deposit("no-such-deposit")
    assert unknown.value.hub_status == 404
    # No consent page was shown, yet the consent is the hub's record, revocable at /account.
    database = wallet_hub.workdir / ".notary-hub" / "hub.sqlite3"
    engine = create_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as connection:
            scopes = connection.execute(
                text("SELECT scopes FROM oauth_consents WHERE client_id = :client"),
                {"client": WALLET_CLIENT_ID},
            ).scalars()
            recorded = [set(json.loads(value)) for value in scopes]
    finally:
        engine.dispose()
    assert set(SCOPES) in recorded


def test_a_token_the_hub_revoked_is_renewed_and_the_call_goes_through(
    wallet_hub: WalletHub, hub_wallet: Wallet, chain: ChainView, did: str, tmp_path: Path
) -> None:
    present, asked = _counting(hub_wallet, chain)
    session = HubSession(hub_wallet, wallet_hub.url, did, present)
    file = tmp_path / "note.txt"
    file.write_bytes(b"a note deposited twice over a revoked token")

    def revoke_access() -> str:
        token = session.access_token()
        form = {"token": token, "client_id": WALLET_CLIENT_ID}
        assert httpx.post(f"{wallet_hub.url}/oauth/revoke", data=form).status_code == 200
        wait_until(lambda: _deposits(wallet_hub.url, token).status_code == 401, timeout=10)
        return token

    with HubClient(wallet_hub.url, None, auth=session.auth()) as hub:
        revoked = revoke_access()
        assert hub.deposits()["items"] == []  # refused once, renewed, asked again
        kept = session.stored()
        assert kept is not None and kept.access_token != revoked
        revoke_access()
        depositor = Depositor(hub_wallet, hub, Receiver(chain), sleep=lambda _: None)
        made = depositor.upload(file, title=None, progress=None)  # refused, then once more
        assert made["depositor"] == did and len(hub.deposits()["items"]) == 1
    # The hub's ledger revokes an issuance whole (its refresh token too), so each renewal
    # was a new sign-in with the wallet's key, done by itself.
    assert len(asked) == 3


def _rewrite_location(param: str, value: str) -> Rewrite:
    """The authorisation answer's redirect with ``param`` changed."""

    def rewrite(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        location = response.headers.get("location", "")
        if not location.startswith("http://127.0.0.1/notary-hub-wallet/callback?"):
            return response
        parts = urlsplit(location)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()} | {param: value}
        forged = location.split("?")[0] + "?" + urlencode(query)
        return httpx.Response(303, headers={"location": forged}, request=request)

    return rewrite


def _rewrite_id_token(change: Callable[[str], str]) -> Rewrite:
    def rewrite(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.url.path != "/oauth/token":
            return response
        body = response.json()
        body["id_token"] = change(body["id_token"])
        return httpx.Response(response.status_code, json=body, request=request)

    return rewrite


def _claims(token: str) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    return decoded


def _tampered(token: str) -> str:
    header, _, signature = token.split(".")
    claims = _claims(token) | {"did": "did:key:z6MkmalloryMallory"}
    raw = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{raw}.{signature}"


def _foreign(token: str) -> str:
    key = ECKey.generate_key("P-256", parameters={"kid": "foreign"})
    return jwt.encode({"alg": "ES256", "kid": "foreign"}, _claims(token), key)


@pytest.mark.parametrize(
    ("rewrite", "refusal", "reason"),
    [
        (_rewrite_location("state", "another-request"), StateMismatch, "state"),
        (_rewrite_location("iss", "https://evil.test"), StateMismatch, "evil.test"),
        (_rewrite_id_token(_tampered), InvalidIdToken, "does not verify"),
        (_rewrite_id_token(_foreign), InvalidIdToken, "does not verify"),
    ],
    ids=["state-mismatch", "mix-up-iss", "tampered-id-token", "foreign-id-token"],
)
def test_a_forged_answer_in_the_wallets_flow_is_refused(
    wallet_hub: WalletHub,
    hub_wallet: Wallet,
    chain: ChainView,
    did: str,
    rewrite: Rewrite,
    refusal: type[Exception],
    reason: str,
) -> None:
    present = did_presenter(hub_wallet, hub_wallet.did(), chain.document)
    with pytest.raises(refusal, match=reason):
        sign_in(wallet_hub.url, did, present, transport=ManInTheMiddle(rewrite))


def test_a_hub_signing_in_another_did_is_refused(
    wallet_hub: WalletHub, hub_wallet: Wallet, chain: ChainView, did: str
) -> None:
    """The ID token names the DID that answered: a wallet asking as another DID stops."""
    present = did_presenter(hub_wallet, hub_wallet.did(), chain.document)
    with pytest.raises(InvalidIdToken, match="names"):
        sign_in(wallet_hub.url, "did:key:z6MkotherDidOfTheWallet", present)


def test_a_hub_whose_issuer_is_another_is_refused(wallet_hub: WalletHub, did: str) -> None:
    def refuse(request: LoginRequest) -> tuple[Format, Any]:
        raise AssertionError("nothing is presented to a hub that is not the wallet's")

    with pytest.raises(SigninFailed, match="issuer"):
        sign_in(wallet_hub.url.replace("127.0.0.1", "localhost"), did, refuse)


def test_the_wallet_and_the_hub_name_the_same_client() -> None:
    assert (WALLET_CLIENT_ID, REDIRECT_URI) == (first_party.WALLET_CLIENT_ID,
                                                first_party.WALLET_REDIRECT_URI)  # fmt: skip
    assert set(SCOPES) == set(first_party.wallet_client_spec().scope_purposes)
