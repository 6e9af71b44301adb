"""Issue 13, "done when": a partner platform deposits for a signed-in person and for itself,
the person sees the letter in their wallet, revokes the platform's consent, and the
platform's next call fails.

Against a hub served on an external chain (a Hardhat node of its own, as the court
journey runs) whose notary the chain's consortium trusts. The platform is registered
with ``notary-hub clients create``; the person signs in to it with their own wallet
(``notary-hub wallet login``, the wallet's did:ethr key answering the hub's page, the
browser plain HTTP holding its cookies itself) and consents. The wallet itself has no
API token: ``wallet sync`` and ``wallet deposit`` sign in with its key.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from testkit.oauth import pkce_pair
from testkit.signin import SESSION_COOKIE, open_page, poll, set_cookie
from testkit.waiting import wait_until
from tests.fixtures.authorize_flow import (
    Platform,
    answer_consent,
    authorize_params,
    consent_form,
    exchange_code,
    redirect_query,
    register,
    revoke_consent,
    session,
)
from tests.fixtures.hardhat import HardhatNode, free_port
from tests.fixtures.hub_process import CLI, HubProcess
from tests.fixtures.operator import deployed_operator

pytestmark = [pytest.mark.hardhat, pytest.mark.slow]

PASSPHRASE = "a person's wallet passphrase, long enough"
PLATFORM_DID = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
PERSON_SCOPES = "openid did evidence:deposit evidence:read"
PURPOSES = {"openid": "to sign you in", "did": "to name you on your letters",
            "evidence:deposit": "to deposit your contracts",
            "evidence:read": "to show your deposits"}  # fmt: skip


class Person:
    """Someone at a terminal: every call is ``notary-hub wallet ...`` in a subprocess."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("NOTARY_HUB_")}
        self.env.update(NOTARY_HUB_WALLET=str(home / "wallet"),
                        NOTARY_HUB_WALLET_PASSPHRASE=PASSPHRASE,
                        COLUMNS="400")  # the list's table shows whole ids  # fmt: skip

    def run(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(CLI), "wallet", *args], env=self.env, cwd=self.home, input=stdin,
            capture_output=True, text=True, timeout=240, check=False,
        )  # fmt: skip
        assert "Traceback" not in result.stderr, result.stderr
        return result

    def ok(self, *args: str, stdin: str | None = None) -> str:
        result = self.run(*args, stdin=stdin)
        assert result.returncode == 0, f"{args}: {result.stdout}\n{result.stderr}"
        return result.stdout


@dataclass
class PersonToken:
    access: str
    refresh: str


@pytest.fixture(scope="module")
def journey_chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HardhatNode]:
    node = HardhatNode(port=free_port(), log_path=tmp_path_factory.mktemp("journey") / "node.log")
    node.start()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="module")
def hub(
    journey_chain: HardhatNode, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HubProcess]:
    operator = deployed_operator(journey_chain, tmp_path_factory.mktemp("journey-operator"))
    process = HubProcess(operator.workdir, {})
    process.env = operator.serve_env(NOTARY_HUB_SERVER_PORT=str(process.port),
                                     NOTARY_HUB_EVIDENCE_POLL_SECONDS="0.1")  # fmt: skip
    process.start()
    try:
        yield process
    finally:
        process.stop()


def _signed_in_browser(http: httpx.Client, person: Person, next_path: str) -> str:
    """The browser sent to ``/signin``; the person's wallet answers its link: a session."""
    page = open_page(http, next_path)
    person.ok("login", page.link, "--yes")
    status = poll(http, page)
    assert status.json()["status"] == "signed_in", status.text
    cookie = set_cookie(status, SESSION_COOKIE)
    assert cookie is not None
    return cookie


def _consented_token(
    http: httpx.Client, platform: Platform, cookie: str | None, person: Person | None = None
) -> tuple[PersonToken, str]:
    """The platform's authorisation request, the person signed in (when ``cookie`` is
    None) and consenting: the person's token for the platform, and the session."""
    verifier, challenge = pkce_pair()
    params = authorize_params(platform, PERSON_SCOPES, challenge)
    if cookie is None:
        assert person is not None
        sent = http.get("/oauth/authorize", params=params)
        assert sent.status_code == 303 and sent.headers["location"].startswith("/signin?next=")
        next_path = httpx.URL(sent.headers["location"]).params["next"]
        cookie = _signed_in_browser(http, person, next_path)
    form = consent_form(http.get("/oauth/authorize", params=params, headers=session(cookie)))
    for purpose in PURPOSES.values():
        assert purpose in form.page
    back = redirect_query(answer_consent(http, cookie, form))
    issued = exchange_code(http, platform, back["code"], verifier)
    assert issued.status_code == 200, issued.text
    return PersonToken(issued.json()["access_token"], issued.json()["refresh_token"]), cookie


def _client_credentials(http: httpx.Client, platform: Platform) -> str:
    issued = http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "evidence:deposit evidence:read"},
        auth=(platform.client_id, platform.secret),
    )
    assert issued.status_code == 200, issued.text
    token: str = issued.json()["access_token"]
    return token


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def _deposit(http: httpx.Client, token: str, name: str, content: bytes) -> dict[str, Any]:
    made = http.post("/evidence/deposits", headers=_bearer(token),
                     files={"file": (name, content, "application/pdf")},
                     data={"title": name})  # fmt: skip
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    return body


def _certified(http: httpx.Client, token: str, deposit_id: str) -> None:
    def done() -> bool:
        state = http.get(f"/evidence/deposits/{deposit_id}", headers=_bearer(token)).json()
        return bool(state.get("state") == "certified")

    wait_until(done, timeout=120, interval=0.3, message=f"{deposit_id} not certified")


def test_a_platform_deposits_for_a_signed_in_person_who_then_revokes_it(
    hub: HubProcess, journey_chain: HardhatNode, tmp_path: Path
) -> None:
    person = Person(tmp_path)
    person.ok("create", "--hub", hub.url, "--rpc", journey_chain.url)  # no API token
    did = person.ok("did", "create", "--method", "ethr").strip()
    assert "api-token (none)" in person.ok("config")
    partner = register(hub, "https://partner.test/cb", PURPOSES,
                       "--grant", "client_credentials", "--platform-did", PLATFORM_DID)  # fmt: skip
    other = register(hub, "https://other.test/cb", PURPOSES)

    with httpx.Client(base_url=hub.url, timeout=30) as http:
        # The platform, for the signed-in person, with their consented token.
        mine, cookie = _consented_token(http, partner, None, person)
        for_person = _deposit(http, mine.access, "lease.pdf", b"%PDF-1.4 the lease\n")
        assert for_person["depositor"] == did
        # ... and for itself, with a client-credentials token.
        own = _client_credentials(http, partner)
        for_itself = _deposit(http, own, "terms.pdf", b"%PDF-1.4 the platform's terms\n")
        assert for_itself["depositor"] == PLATFORM_DID
        _certified(http, mine.access, for_person["id"])
        _certified(http, own, for_itself["id"])

        # The person sees the letter in their wallet: sync signs the wallet in itself.
        synced = person.ok("sync").split()
        assert synced[1] == for_person["id"]
        assert synced[0] in person.ok("credential", "list")
        shown = json.loads(person.ok("credential", "show", synced[0]))
        assert shown["document"]["credentialSubject"]["id"] == did
        assert person.ok("sync").strip() == ""  # nothing new the second time

        # No correlation: another platform, for the same person, sees none of it.
        theirs, _ = _consented_token(http, other, cookie)
        listed = http.get("/evidence/deposits", headers=_bearer(theirs.access)).json()
        assert listed["items"] == []
        foreign = http.get(f"/evidence/deposits/{for_person['id']}", headers=_bearer(theirs.access))
        assert foreign.status_code == 403 and foreign.json()["error"] == "forbidden"

        # The person revokes the platform's consent; the platform's next call fails.
        assert revoke_consent(http, cookie, partner.client_id).status_code == 303
        wait_until(
            lambda: http.get("/evidence/deposits", headers=_bearer(mine.access)).status_code == 401,
            timeout=10,
            message="the revoked token still works",
        )
        refused = http.get("/evidence/deposits", headers=_bearer(mine.access))
        assert refused.json()["error"] == "invalid_token"
        refresh = {"grant_type": "refresh_token", "refresh_token": mine.refresh}
        renewed = http.post("/oauth/token", auth=(partner.client_id, partner.secret), data=refresh)
        assert renewed.status_code == 400 and renewed.json()["error"] == "invalid_grant"
        # The platform's own token is its own: it keeps working.
        still = http.get("/evidence/deposits", headers=_bearer(own))
        assert [d["id"] for d in still.json()["items"]] == [for_itself["id"]]
        assert http.get("/evidence/deposits", headers=_bearer(theirs.access)).status_code == 200

    # The wallet deposits in its own name: it signs in, no API token, no header.
    contract = tmp_path / "contract.pdf"
    contract.write_bytes(b"%PDF-1.4\nthe person's own contract\n" + os.urandom(512))
    credential = person.ok("deposit", str(contract), "--title", "Contract").strip()
    subject = json.loads(person.ok("credential", "show", credential))["document"]
    assert subject["credentialSubject"]["id"] == did
    assert "signed out" in person.run("logout").stderr
