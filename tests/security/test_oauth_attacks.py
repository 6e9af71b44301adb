"""RFC 9700 attacks on the served hub's authorisation server, each refused with the RFC's
error code and a reason, leaking nothing.

The hub runs as ``notary-hub serve``; its clients are registered with
``notary-hub clients create`` while it serves (the commands work on its database). The
sign-in side (issue 13, another part) is stood in for by :class:`CodeIssuer` on the
served hub's own database and key store, the code-issuing half it will call.
https://www.rfc-editor.org/rfc/rfc9700#section-4
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet
from sqlalchemy.orm import Session, sessionmaker

from hub_kernel.keystore import FileKeyStore, load_master_key
from notary_hub.db import create_db_engine, session_factory
from oauth_server.access_tokens import Lifetimes
from oauth_server.clients import ClientStore
from oauth_server.errors import OAuthError
from oauth_server.grants import CodeIssuer
from oauth_server.keys import SigningKeys
from oauth_server.ledger import TokenLedger
from oauth_server.resource import AccessTokenValidator
from oauth_server.subjects import PairwiseSubjects
from testkit.oauth import basic, pkce_pair
from tests.fixtures.hub_process import run_cli
from tests.security.conftest import ServedHub

REDIRECT = "https://platform.test/callback"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass
class OAuthWorld:
    hub: ServedHub
    sessions: sessionmaker[Session]
    codes: CodeIssuer
    clients: ClientStore
    validator: AccessTokenValidator
    keys: SigningKeys

    @property
    def issuer(self) -> str:
        return self.hub.process.url

    def cli(self, *args: str) -> str:
        env = {k: v for k, v in self.hub.process.env.items()}
        result = run_cli("clients", *args, env=env, cwd=self.hub.workdir)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def new_client(
        self, *extra: str, scopes: tuple[str, ...] = ("openid", "evidence:deposit")
    ) -> dict[str, Any]:
        args = ["create", f"platform-{uuid.uuid4().hex[:6]}", "--json", *extra]
        for scope in scopes:
            args += ["--scope", f"{scope}=to {scope}"]
        answer: dict[str, Any] = json.loads(self.cli(*args))
        return answer

    def code_client(self) -> dict[str, Any]:
        return self.new_client(
            "--grant", "authorization_code", "--grant", "refresh_token", "--redirect-uri", REDIRECT
        )

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.issuer, timeout=30)  # no API token: OAuth only

    def code_for(self, client: dict[str, Any], challenge: str) -> str:
        registered = self.clients.require(client["client_id"])
        issued = self.codes.issue_code(
            registered, "acct-attacked", ["openid", "evidence:deposit"], REDIRECT, challenge, "n"
        )
        return issued.code


@pytest.fixture(scope="module")
def world(served_hub: ServedHub) -> Iterator[OAuthWorld]:
    data = served_hub.workdir / ".notary-hub"
    engine = create_db_engine(f"sqlite:///{data / 'hub.sqlite3'}")
    sessions = session_factory(engine)
    keystore = FileKeyStore(data / "keys", load_master_key(None, data / "master.key", create=False))
    issuer = served_hub.process.url
    keys = SigningKeys(sessions, keystore, keep_retired=900)
    ledger = TokenLedger(sessions, cache_seconds=0)
    clients = ClientStore(sessions)
    yield OAuthWorld(
        served_hub,
        sessions,
        CodeIssuer(sessions, PairwiseSubjects(keystore), issuer=issuer, lifetimes=Lifetimes()),
        clients,
        AccessTokenValidator(
            keys, ledger, issuer=issuer, audience=issuer, platform_did_of=lambda _: None
        ),
        keys,
    )
    engine.dispose()


def refused(answer: httpx.Response, status: int, error: str) -> str:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["error"] == error, body
    assert body.get("error_description"), "every refusal says why"
    assert "access_token" not in body and "refresh_token" not in body
    return str(body["error_description"])


def exchange(
    world: OAuthWorld, client: dict[str, Any], code: str, verifier: str | None
) -> httpx.Response:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    if verifier is not None:
        form["code_verifier"] = verifier
    with world.http() as http:
        return http.post(
            "/oauth/token", data=form, headers=basic(client["client_id"], client["client_secret"])
        )


def active(world: OAuthWorld, client: dict[str, Any], token: str) -> bool:
    with world.http() as http:
        answer = http.post(
            "/oauth/introspect",
            data={"token": token},
            headers=basic(client["client_id"], client["client_secret"]),
        )
    return bool(answer.json()["active"])


def test_code_replay_is_refused_and_revokes_the_tokens(world: OAuthWorld) -> None:
    client = world.code_client()
    verifier, challenge = pkce_pair()
    code = world.code_for(client, challenge)
    first = exchange(world, client, code, verifier)
    assert first.status_code == 200, first.text
    tokens = first.json()
    assert active(world, client, tokens["access_token"])
    reason = refused(exchange(world, client, code, verifier), 400, "invalid_grant")
    assert "already used" in reason
    assert not active(world, client, tokens["access_token"])
    assert not active(world, client, tokens["refresh_token"])


def test_code_injection_into_another_client_is_refused(world: OAuthWorld) -> None:
    victim, attacker = world.code_client(), world.code_client()
    verifier, challenge = pkce_pair()
    code = world.code_for(victim, challenge)
    refused(exchange(world, attacker, code, verifier), 400, "invalid_grant")
    assert exchange(world, victim, code, verifier).status_code == 200  # the victim's still works


def test_pkce_downgrade_is_refused(world: OAuthWorld) -> None:
    client = world.code_client()
    registered = world.clients.require(client["client_id"])
    for challenge, method in ((None, None), ("a" * 43, "plain")):
        with pytest.raises(OAuthError) as caught:
            world.codes.issue_code(
                registered, "a", ["openid"], REDIRECT, challenge, None, code_challenge_method=method
            )
        assert caught.value.code == "invalid_request"
    _, challenge = pkce_pair()
    stripped = exchange(world, client, world.code_for(client, challenge), None)
    assert "code_verifier" in refused(stripped, 400, "invalid_request")
    wrong = exchange(world, client, world.code_for(client, challenge), pkce_pair()[0])
    refused(wrong, 400, "invalid_grant")
    with world.http() as http:
        pushed = http.post(
            "/oauth/par",
            data={
                "response_type": "code",
                "redirect_uri": REDIRECT,
                "scope": "openid",
                "code_challenge": "a" * 43,
                "code_challenge_method": "plain",
            },
            headers=basic(client["client_id"], client["client_secret"]),
        )
    assert "S256" in refused(pushed, 400, "invalid_request")


@pytest.mark.parametrize(
    "uri",
    [
        "https://platform.test/callback.evil.test",  # suffix
        "https://platform.test/callbac",  # prefix
        "https://attacker@platform.test/callback",  # userinfo
        "https://attacker.test/callback",  # another host
        "https://platform.test/callback?next=https://attacker.test",
        "https://PLATFORM.test/callback",
    ],
)
def test_redirect_uri_manipulation_is_refused_before_any_redirect(
    world: OAuthWorld, uri: str
) -> None:
    client = world.code_client()
    registered = world.clients.require(client["client_id"])
    with pytest.raises(OAuthError) as caught:
        world.codes.issue_code(registered, "a", ["openid"], uri, pkce_pair()[1], None)
    assert caught.value.code == "invalid_redirect_uri"
    with world.http() as http:
        pushed = http.post(
            "/oauth/par",
            data={
                "response_type": "code",
                "redirect_uri": uri,
                "scope": "openid",
                "code_challenge": pkce_pair()[1],
                "code_challenge_method": "S256",
            },
            headers=basic(client["client_id"], client["client_secret"]),
        )
    refused(pushed, 400, "invalid_request")


def test_mix_up_the_authorization_response_names_the_issuer(world: OAuthWorld) -> None:
    client = world.code_client()
    registered = world.clients.require(client["client_id"])
    issued = world.codes.issue_code(
        registered, "a", ["openid"], REDIRECT, pkce_pair()[1], None, state="st"
    )
    assert parse_qs(urlsplit(issued.redirect_to).query)["iss"] == [world.issuer]
    with world.http() as http:
        meta = http.get("/.well-known/oauth-authorization-server").json()
    assert meta["issuer"] == world.issuer
    assert meta["authorization_response_iss_parameter_supported"] is True


def test_refresh_token_replay_revokes_the_family(world: OAuthWorld) -> None:
    client = world.code_client()
    verifier, challenge = pkce_pair()
    first = exchange(world, client, world.code_for(client, challenge), verifier).json()
    auth = basic(client["client_id"], client["client_secret"])
    with world.http() as http:
        rotated = http.post(
            "/oauth/token",
            data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
            headers=auth,
        ).json()
        assert active(world, client, rotated["access_token"])
        replay = http.post(
            "/oauth/token",
            data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
            headers=auth,
        )
        refused(replay, 400, "invalid_grant")
        assert not active(world, client, rotated["access_token"])
        stolen_next = http.post(
            "/oauth/token",
            data={"grant_type": "refresh_token", "refresh_token": rotated["refresh_token"]},
            headers=auth,
        )
        refused(stolen_next, 400, "invalid_grant")


def test_client_impersonation_is_refused(world: OAuthWorld, tmp_path: Path) -> None:
    victim = world.new_client(scopes=("evidence:deposit",))
    form = {"grant_type": "client_credentials"}
    with world.http() as http:
        guessed = http.post("/oauth/token", data=form, headers=basic(victim["client_id"], "guess"))
        refused(guessed, 401, "invalid_client")
        bare = http.post("/oauth/token", data={**form, "client_id": victim["client_id"]})
        refused(bare, 401, "invalid_client")

    key = ECKey.generate_key("P-256", parameters={"kid": "k"})
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [key.as_dict(private=False)]}))
    keyed = world.new_client(
        "--auth-method", "private_key_jwt", "--jwks-file", str(jwks), scopes=("evidence:read",)
    )
    assert "client_secret" not in keyed

    def assertion(signer: ECKey, jti: str) -> dict[str, str]:
        now = int(time.time())
        claims = {
            "iss": keyed["client_id"],
            "sub": keyed["client_id"],
            "aud": world.issuer + "/oauth/token",
            "exp": now + 60,
            "jti": jti,
        }
        token = jwt.encode({"alg": "ES256"}, claims, KeySet([signer]))
        return {**form, "client_assertion_type": ASSERTION_TYPE, "client_assertion": token}

    with world.http() as http:
        forged = http.post("/oauth/token", data=assertion(ECKey.generate_key("P-256"), "j1"))
        refused(forged, 400, "invalid_client")
        genuine = assertion(key, "j2")
        assert http.post("/oauth/token", data=genuine).status_code == 200
        replayed = http.post("/oauth/token", data=genuine)
        assert "used before" in refused(replayed, 400, "invalid_client")


def test_a_token_past_its_audience_or_scope_is_refused(world: OAuthWorld) -> None:
    client = world.new_client(scopes=("evidence:read",))
    with world.http() as http:
        token = http.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            headers=basic(client["client_id"], client["client_secret"]),
        ).json()["access_token"]
        widened = http.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "scope": "admin"},
            headers=basic(client["client_id"], client["client_secret"]),
        )
    refused(widened, 400, "invalid_scope")
    assert world.validator.validate(token).scopes == {"evidence:read"}
    with pytest.raises(OAuthError) as scope:
        world.validator.require(token, ["evidence:deposit"])
    assert scope.value.code == "insufficient_scope"
    elsewhere = AccessTokenValidator(
        world.keys,
        TokenLedger(world.sessions),
        issuer=world.issuer,
        audience="https://another-resource.test",
        platform_did_of=lambda _: None,
    )
    with pytest.raises(OAuthError, match="not meant for this hub") as audience:
        elsewhere.validate(token)
    assert audience.value.code == "invalid_token"


def test_nothing_secret_reaches_the_hub_log(world: OAuthWorld) -> None:
    client = world.new_client(scopes=("evidence:read",))
    with world.http() as http:
        token = http.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            headers=basic(client["client_id"], client["client_secret"]),
        ).json()["access_token"]
    log = world.hub.process.log.read_text()
    assert client["client_secret"] not in log and token not in log
    assert os.environ.get("AUTHLIB_INSECURE_TRANSPORT") is None
