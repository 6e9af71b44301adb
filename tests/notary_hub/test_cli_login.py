"""``notary-hub login`` / ``logout`` as subprocesses against a real hub in production mode,
where no bootstrap token exists: a staff member logs in with the device grant (the test
approves on ``/device`` as the signed-in person), then ``keys rotate`` goes through the
running hub with that token, refreshing it once expired; client credentials likewise;
``logout`` revokes. Without a login the command refuses in one line."""

from __future__ import annotations

import json
import secrets
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from testkit.device import approval_form
from testkit.holder import did_key_holder
from testkit.waiting import wait_until
from tests.fixtures.authorize_flow import sign_in
from tests.fixtures.hub_process import CLI, HubProcess, run_cli

STAFF = did_key_holder("cli-login-staff")


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    workdir = tmp_path_factory.mktemp("login-hub")
    env = {
        "NOTARY_HUB_MODE": "production",
        "NOTARY_HUB_KEYS_MASTER_KEY": secrets.token_hex(32),
        "NOTARY_HUB_LOG_FORMAT": "json",
        "NOTARY_HUB_CLI_TOKEN_FILE": str(workdir / "home" / "config" / "tokens.json"),
    }
    process = HubProcess(workdir, env)
    process.start()
    try:
        yield process
    finally:
        process.stop()


def _cli(hub: HubProcess, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    result = run_cli(*args, env={**hub.env, **env}, cwd=hub.workdir)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def _tokens(hub: HubProcess) -> dict[str, Any]:
    path = Path(hub.env["NOTARY_HUB_CLI_TOKEN_FILE"])
    hubs: dict[str, Any] = json.loads(path.read_text())["hubs"]
    return hubs


def _approve(hub: HubProcess, user_code: str) -> None:
    with httpx.Client(base_url=hub.url, timeout=30) as http:
        cookie = sign_in(http, STAFF)
        headers = {"cookie": f"__Host-notary-hub-session={cookie}"}
        form = approval_form(http.get("/device", params={"user_code": user_code}, headers=headers))
        assert "operate the hub from your terminal" in form.page
        data = {"user_code": form.user_code, "csrf_token": form.csrf_token, "decision": "approve"}
        done = http.post("/device", data=data, headers=headers)
        assert done.status_code == 303, done.text


def _device_login(hub: HubProcess) -> subprocess.CompletedProcess[str]:
    login = subprocess.Popen(
        [str(CLI), "login"],
        env={**hub.env, "PYTHONUNBUFFERED": "1"},
        cwd=hub.workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert login.stdout is not None
    shown: list[str] = []
    for line in login.stdout:
        shown.append(line)
        if line.startswith("or open "):
            break
    if not (shown and shown[-1].startswith("or open ")):
        login.kill()
        raise AssertionError(f"{shown}\n{login.communicate()[1]}")
    user_code = shown[-2].split()[-1]
    assert shown[-2].startswith("code ") and shown[-3] == f"open      {hub.url}/device\n"
    assert shown[-1].endswith(f"/device?user_code={user_code}\n"), shown
    _approve(hub, user_code)
    rest, errors = login.communicate(timeout=60)
    return subprocess.CompletedProcess(login.args, login.returncode, "".join(shown) + rest, errors)


def test_a_device_login_then_keys_rotate_through_the_running_hub(hub: HubProcess) -> None:
    refused = _cli(hub, "keys", "rotate")
    assert refused.returncode == 1
    assert refused.stderr.startswith("error: not_logged_in: ") and "notary-hub login" in (
        refused.stderr
    )

    granted = _cli(hub, "staff", "grant", STAFF.did, "--scope", "admin")
    assert granted.returncode == 0, granted.stderr
    listed = json.loads(_cli(hub, "staff", "list", "--json").stdout)
    assert {"did": STAFF.did, "scope": "admin"}.items() <= listed[0].items()

    login = _device_login(hub)
    assert login.returncode == 0, login.stderr
    # admin (the staff grant) and evidence:capture (anyone's): what this person may grant
    assert f"logged in to {hub.url} as notary-hub-cli: admin evidence:capture;" in login.stdout
    missing = "consortium:vote credentials:issue credentials:status draws:manage"
    assert f"not granted: {missing}" in login.stdout
    entry = _tokens(hub)[hub.url]
    assert entry["access_token"] not in login.stdout + login.stderr  # tokens are never shown
    path = Path(hub.env["NOTARY_HUB_CLI_TOKEN_FILE"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700

    rotated = _cli(hub, "keys", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    assert rotated.stdout.startswith("signing key ")

    # An expired access token is refreshed (and the refresh token rotated) on the next call.
    entry["expires_at"] = 0
    path.write_text(json.dumps({"hubs": {hub.url: entry}}))
    again = _cli(hub, "keys", "rotate")
    assert again.returncode == 0, again.stderr
    renewed = _tokens(hub)[hub.url]
    assert renewed["access_token"] != entry["access_token"]
    assert renewed["refresh_token"] != entry["refresh_token"]

    out = _cli(hub, "logout")
    assert out.returncode == 0 and f"logged out of {hub.url}" in out.stdout
    assert hub.url not in _tokens(hub)

    def refused_now() -> bool:
        answer = httpx.post(
            f"{hub.url}/admin/keys/rotate",
            json={"revokeOld": False},
            headers={"authorization": f"Bearer {renewed['access_token']}"},
        )
        return answer.status_code == 401

    wait_until(refused_now, timeout=10, interval=0.5, message="the revoked token still works")
    assert _cli(hub, "logout").stderr.startswith("error: not_logged_in: ")


def test_client_credentials_login_and_logout(hub: HubProcess) -> None:
    made = _cli(hub, "clients", "create", "Ops robot", "--scope", "admin=rotate keys", "--json")
    assert made.returncode == 0, made.stderr
    client = json.loads(made.stdout)
    missing = _cli(hub, "login", "--client-credentials")
    assert missing.stderr.startswith("error: no_client_credentials: ")

    creds = {
        "NOTARY_HUB_CLIENT_ID": client["client_id"],
        "NOTARY_HUB_CLIENT_SECRET": client["client_secret"],
    }
    login = _cli(hub, "login", "--client-credentials", **creds)
    assert login.returncode == 0, login.stderr
    assert f"as {client['client_id']}: admin;" in login.stdout
    rotated = _cli(hub, "keys", "rotate")
    assert rotated.returncode == 0, rotated.stderr

    wrong = _cli(
        hub, "login", "--client-credentials", **{**creds, "NOTARY_HUB_CLIENT_SECRET": "forged"}
    )
    assert wrong.returncode == 1 and wrong.stderr.startswith("error: invalid_client: ")
    out = _cli(hub, "logout", **creds)
    assert out.returncode == 0, out.stderr
    assert hub.url not in _tokens(hub)


def test_staff_and_device_clients_from_the_command_line(hub: HubProcess) -> None:
    wrong = _cli(hub, "staff", "grant", STAFF.did, "--scope", "evidence:read")
    assert wrong.returncode == 1
    assert wrong.stderr.startswith("error: invalid_scope: staff scopes are admin, ")
    nobody = _cli(hub, "staff", "revoke", "did:key:z6MkNobody", "--scope", "admin")
    assert nobody.returncode == 1 and nobody.stderr.startswith("error: not_found: ")
    made = _cli(
        hub, "clients", "create", "Kiosk", "--auth-method", "none", "--grant", "device_code",
        "--scope", "evidence:read=to list your deposits", "--json",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["grant_types"] == [
        "urn:ietf:params:oauth:grant-type:device_code"
    ]
