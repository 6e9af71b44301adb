"""panva's ``openid-client`` v6 (npm) as a relying party of a served hub (issue 13 §10).

``tests/interop/openid_client_rp.mjs`` runs OpenID Connect Discovery 1.0, builds the
authorisation URL (code flow, PKCE S256, state, nonce), and, given the callback URL,
exchanges the code, validates the ID token, calls userinfo and rotates the refresh
token. This test plays the person's browser between its two phases: the wallet
(a did:key holder, the wallet's own OpenID4VP code in :mod:`testkit.signin`) answers the
sign-in, the person approves consent, and the hub's 303 is handed back to the RP.
Tampered callbacks (state, RFC 9207 ``iss``) and a replayed code make openid-client throw.
"""

from __future__ import annotations

import json
import select
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import pytest
from joserfc.jwk import ECKey

from testkit.holder import Holder, did_key_holder
from testkit.npm import NODE, REPO, npm_package
from tests.fixtures.authorize_flow import (
    Platform,
    answer_consent,
    consent_form,
    register,
    session,
    sign_in,
)
from tests.fixtures.wallet_hub import WalletHub

pytestmark = pytest.mark.skipif(
    not npm_package("openid-client"), reason="node_modules missing: run `npm ci`"
)

SCRIPT = REPO / "tests" / "interop" / "openid_client_rp.mjs"
SCOPES = {"openid": "to sign you in", "did": "to name you on your letters",
          "evidence:read": "to show your deposits"}  # fmt: skip


class RelyingParty:
    """The node RP as a subprocess: one JSON line out per phase, callbacks in on stdin."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self.process = subprocess.Popen(
            [NODE, str(SCRIPT), json.dumps(settings)],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.started = self.read()

    def read(self, timeout: float = 60) -> dict[str, Any]:
        out = self.process.stdout
        assert out is not None
        ready, _, _ = select.select([out], [], [], timeout)
        line = out.readline() if ready else ""
        if not line:
            self.process.kill()
            _, errors = self.process.communicate(timeout=10)
            raise AssertionError(f"openid-client answered nothing: {errors[-2000:]}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def callback(self, url: str) -> dict[str, Any]:
        """openid-client's handling of the browser arriving at ``url``."""
        assert self.process.stdin is not None
        self.process.stdin.write(url + "\n")
        self.process.stdin.flush()
        return self.read()

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture
def http(wallet_hub: WalletHub) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=wallet_hub.url, timeout=30) as client:
        yield client


def start_rp(
    hub: WalletHub, platform: Platform, scope: str, alg: str = "ES256", **settings: Any
) -> RelyingParty:
    auth = settings.pop("auth_method", "client_secret_basic")
    config = {
        "issuer": hub.url,
        "client_id": platform.client_id,
        "auth_method": auth,
        "client_secret": platform.secret,
        "redirect_uri": platform.redirect_uri,
        "scope": scope,
        "id_token_alg": alg,
        **settings,
    }
    rp = RelyingParty(config)
    assert rp.started.get("server") == hub.url, rp.started
    return rp


def browse(http: httpx.Client, cookie: str, authorization_url: str) -> str:
    """The browser at the RP's authorisation URL, signed in: consent approved if asked;
    the URL the hub's 303 sends it back to."""
    answer = http.get(authorization_url, headers=session(cookie))
    if answer.status_code == 200:
        answer = answer_consent(http, cookie, consent_form(answer))
    assert answer.status_code == 303, answer.text
    location: str = answer.headers["location"]
    return location


def signed_in(http: httpx.Client, holder: Holder, authorization_url: str) -> str:
    """An anonymous browser is sent to sign in; the wallet answers; the session cookie."""
    anonymous = http.get(authorization_url)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/signin?next=")
    return sign_in(http, holder)


def with_query(url: str, **changes: str | None) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    for name, value in changes.items():
        if value is None:
            query.pop(name, None)
        else:
            query[name] = value
    return urlunsplit(parts._replace(query=urlencode(query)))


def run_flow(
    http: httpx.Client, hub: WalletHub, platform: Platform, person: Holder | str, **rp: Any
) -> tuple[dict[str, Any], str]:
    """One whole flow; ``person`` signs in with the wallet, or is a session cookie already."""
    relying = start_rp(hub, platform, **rp)
    try:
        url = relying.started["authorization_url"]
        cookie = person if isinstance(person, str) else signed_in(http, person, url)
        answer = relying.callback(browse(http, cookie, url))
    finally:
        relying.close()
    assert answer["ok"], answer
    return answer, cookie


def test_pairwise_subjects_and_userinfo_with_and_without_the_did_scope(
    http: httpx.Client, wallet_hub: WalletHub
) -> None:
    holder = did_key_holder("openid-client-alice")
    named = register(wallet_hub.process, "https://named.example/cb", SCOPES)
    quiet = register(wallet_hub.process, "https://quiet.example/cb", SCOPES)

    first, cookie = run_flow(http, wallet_hub, named, holder, scope="openid did evidence:read")
    second, _ = run_flow(http, wallet_hub, quiet, cookie, scope="openid evidence:read")

    for answer, platform in ((first, named), (second, quiet)):
        claims = answer["id_token_claims"]
        assert claims["iss"] == wallet_hub.url and claims["aud"] in (
            platform.client_id,
            [platform.client_id],
        )
        assert claims["sub"] == answer["userinfo"]["sub"]
        assert not claims["sub"].startswith("did:") and holder.did not in claims["sub"]
        assert answer["token_type"].lower() == "bearer" and answer["refresh_rotated"]
    assert first["id_token_claims"]["sub"] != second["id_token_claims"]["sub"]
    assert first["userinfo"] == {"sub": first["id_token_claims"]["sub"], "did": holder.did}
    assert second["userinfo"] == {"sub": second["id_token_claims"]["sub"]}
    assert first["id_token_claims"]["did"] == holder.did
    assert holder.did not in json.dumps(second["id_token_claims"])


def _key_platform(hub: WalletHub, tmp_path: Path) -> tuple[Platform, dict[str, Any]]:
    key = ECKey.generate_key("P-256", parameters={"kid": "rp-key-1"})
    jwks = tmp_path / "rp.jwks.json"
    jwks.write_text(json.dumps({"keys": [dict(key.as_dict(private=False))]}))
    platform = register(
        hub.process,
        "https://keys.example/cb",
        SCOPES,
        "--auth-method",
        "private_key_jwt",
        "--jwks-file",
        str(jwks),
        "--id-token-alg",
        "RS256",
    )
    return platform, dict(key.as_dict(private=True))


def test_client_secret_post_with_eddsa_and_private_key_jwt_with_rs256(
    http: httpx.Client, wallet_hub: WalletHub, tmp_path: Path
) -> None:
    holder = did_key_holder("openid-client-bob")
    posting = register(
        wallet_hub.process,
        "https://post.example/cb",
        SCOPES,
        "--auth-method",
        "client_secret_post",
        "--id-token-alg",
        "EdDSA",
    )
    answer, cookie = run_flow(
        http,
        wallet_hub,
        posting,
        holder,
        scope="openid",
        alg="EdDSA",
        auth_method="client_secret_post",
    )
    assert answer["userinfo"] == {"sub": answer["id_token_claims"]["sub"]}

    keyed, private_jwk = _key_platform(wallet_hub, tmp_path)
    answer, _ = run_flow(
        http,
        wallet_hub,
        keyed,
        cookie,
        scope="openid did",
        alg="RS256",
        auth_method="private_key_jwt",
        private_jwk=private_jwk,
    )
    assert answer["userinfo"]["did"] == holder.did


def test_tampered_callbacks_and_a_replayed_code_make_openid_client_throw(
    http: httpx.Client, wallet_hub: WalletHub
) -> None:
    platform = register(wallet_hub.process, "https://tamper.example/cb", SCOPES)
    relying = start_rp(wallet_hub, platform, scope="openid evidence:read")
    try:
        url = relying.started["authorization_url"]
        cookie = signed_in(http, did_key_holder("openid-client-carol"), url)
        callback = browse(http, cookie, url)
        assert dict(parse_qsl(urlsplit(callback).query))["iss"] == wallet_hub.url

        wrong_state = relying.callback(with_query(callback, state="another-state"))
        assert not wrong_state["ok"] and '"state"' in wrong_state["cause"], wrong_state
        # RFC 9207 §2.4: the hub advertises the iss parameter, so it must be there and match.
        other_issuer = relying.callback(with_query(callback, iss="http://mix-up.example"))
        assert not other_issuer["ok"] and '"iss"' in other_issuer["cause"], other_issuer
        no_issuer = relying.callback(with_query(callback, iss=None))
        assert not no_issuer["ok"] and '"iss"' in no_issuer["cause"], no_issuer

        genuine = relying.callback(callback)
        assert genuine["ok"], genuine
        bearer = {"authorization": f"Bearer {genuine['refreshed_access_token']}"}
        assert http.get("/oauth/userinfo", headers=bearer).status_code == 200
        replayed = relying.callback(callback)
        assert not replayed["ok"] and replayed["error"] == "invalid_grant", replayed
    finally:
        relying.close()
    # The replay revoked what the code had issued, refreshed tokens included (RFC 9700 §4.5).
    assert http.get("/oauth/userinfo", headers=bearer).status_code == 401
