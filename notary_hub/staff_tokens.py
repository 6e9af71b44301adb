"""The staff CLI's OAuth tokens: obtained, kept per user, refreshed, revoked.

Issue 13 item 8: staff tools obtain tokens as every client does, with Authlib's OAuth
client over httpx:

- :func:`device_login`: the device grant (RFC 8628 §3.1-3.5) as the public client
  ``notary-hub-cli``: ask ``device_authorization_endpoint``, show the person where to
  go, poll the token endpoint every ``interval`` seconds (5 more after each
  ``slow_down``) until the person answers or the code expires;
- :func:`client_credentials_login`: RFC 6749 §4.4 for a client of one's own;
- :func:`bearer_for`: the stored access token of a hub, refreshed (RFC 6749 §6) when it
  has expired, or fetched again with client credentials given in the environment;
- :func:`logout`: RFC 7009 revocation of the refresh (or access) token, then the entry
  is deleted.

Endpoints come from the hub's RFC 8414 metadata. Tokens live in one JSON file per user
(``NOTARY_HUB_CLI_TOKEN_FILE``, default ``tokens.json`` in the user's ``notary-hub``
config directory), keyed by the hub's URL, mode 0600 in a 0700 directory, replaced
atomically; they are never printed or logged.
https://www.rfc-editor.org/rfc/rfc8628#section-3.5
"""

from __future__ import annotations

import json
import os
import time
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx
import typer
from authlib.deprecate import AuthlibDeprecationWarning
from authlib.integrations.base_client.errors import OAuthError as ClientOAuthError

from hub_kernel.errors import HubError
from oauth_server.clients import DEVICE_CODE
from oauth_server.discovery import OAUTH_METADATA_PATH

with warnings.catch_warnings():
    # Authlib 1.9 warns on every import that it runs on httpx (the hub's client) rather
    # than httpx2; a command line must not print that to its users.
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import OAuth2Client

TOKEN_FILE = "tokens.json"  # noqa: S105 (a file name)
PUBLIC = "none"  # RFC 7591 §2: a public client's token_endpoint_auth_method
LEEWAY = 30  # seconds before expiry a token is refreshed
TIMEOUT = 30.0
Show = Callable[[Mapping[str, Any]], None]


class LoginError(HubError):
    """The hub refused a login, a refresh or a logout; ``code`` is its OAuth error."""

    code = "login_failed"
    status_code = 400

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code  # type: ignore[misc]


def default_token_file() -> Path:
    return Path(typer.get_app_dir("notary-hub")) / TOKEN_FILE


class TokenFile:
    """``{"hubs": {URL: entry}}``: each hub's tokens and the endpoints to renew them."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> dict[str, dict[str, Any]]:
        try:
            document = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except ValueError:
            raise LoginError("token_file_unreadable", f"{self.path} is not JSON") from None
        hubs = document.get("hubs") if isinstance(document, dict) else None
        return hubs if isinstance(hubs, dict) else {}

    def get(self, hub: str) -> dict[str, Any] | None:
        return self.read().get(hub.rstrip("/"))

    def put(self, hub: str, entry: dict[str, Any]) -> None:
        hubs = self.read()
        hubs[hub.rstrip("/")] = entry
        self._write(hubs)

    def remove(self, hub: str) -> bool:
        hubs = self.read()
        gone = hubs.pop(hub.rstrip("/"), None) is not None
        if gone:
            self._write(hubs)
        return gone

    def _write(self, hubs: dict[str, dict[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.path.parent, 0o700)
        partial = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump({"hubs": hubs}, handle, indent=2)
        os.replace(partial, self.path)


def metadata(hub: str) -> dict[str, Any]:
    """The hub's RFC 8414 authorisation-server metadata."""
    try:
        answer = httpx.get(hub.rstrip("/") + OAUTH_METADATA_PATH, timeout=TIMEOUT)
        answer.raise_for_status()
        document: dict[str, Any] = answer.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise LoginError("hub_unreachable", f"no OAuth metadata at {hub}: {exc}") from None
    return document


def _entry(
    token: Mapping[str, Any], meta: Mapping[str, Any], client_id: str, grant: str
) -> dict[str, Any]:
    expires_in = int(token.get("expires_in") or 0)
    return {
        "client_id": client_id,
        "grant": grant,
        "access_token": token["access_token"],
        "refresh_token": token.get("refresh_token"),
        "expires_at": int(token.get("expires_at") or time.time() + expires_in),
        "scope": token.get("scope", ""),
        "token_endpoint": meta["token_endpoint"],
        "revocation_endpoint": meta.get("revocation_endpoint"),
    }


def _refused(exc: ClientOAuthError) -> LoginError:
    return LoginError(str(exc.error), str(exc.description or exc.error))


def device_login(
    hub: str,
    client_id: str,
    scope: str,
    show: Show,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """RFC 8628: the tokens the person approved on the hub's verification page."""
    meta = metadata(hub)
    endpoint = meta.get("device_authorization_endpoint")
    if not endpoint:
        raise LoginError("device_grant_unsupported", f"{hub} offers no device login")
    with OAuth2Client(client_id, token_endpoint_auth_method=PUBLIC, timeout=TIMEOUT) as client:
        answer = client.request(
            "POST", endpoint, data={"client_id": client_id, "scope": scope}, withhold_token=True
        )
        started = answer.json()
        if answer.status_code != 200 or "device_code" not in started:
            raise LoginError(
                str(started.get("error", "login_failed")),
                str(started.get("error_description", answer.text[:200])),
            )
        show(started)
        interval = float(started.get("interval", 5))
        deadline = time.monotonic() + float(started.get("expires_in", 600))
        while time.monotonic() < deadline:
            sleep(interval)
            try:
                token = client.fetch_token(
                    meta["token_endpoint"],
                    grant_type=DEVICE_CODE,
                    device_code=started["device_code"],
                )
            except ClientOAuthError as exc:
                if exc.error == "authorization_pending":
                    continue
                if exc.error == "slow_down":
                    interval += 5  # RFC 8628 §3.5: for this and every later request
                    continue
                raise _refused(exc) from None
            return _entry(token, meta, client_id, "device")
    raise LoginError("expired_token", "the code expired before it was approved: log in again")


def client_credentials_login(
    hub: str, client_id: str, client_secret: str, scope: str | None
) -> dict[str, Any]:
    """RFC 6749 §4.4: a token for a client of one's own (``client_secret_basic``)."""
    meta = metadata(hub)
    with OAuth2Client(client_id, client_secret, scope=scope, timeout=TIMEOUT) as client:
        try:
            token = client.fetch_token(meta["token_endpoint"], grant_type="client_credentials")
        except ClientOAuthError as exc:
            raise _refused(exc) from None
    return _entry(token, meta, client_id, "client_credentials")


def bearer_for(tokens: TokenFile, hub: str, env: Mapping[str, str] = os.environ) -> str | None:
    """A live access token for ``hub``, refreshed or fetched again if needed; None when
    there is none and none can be had."""
    entry = tokens.get(hub)
    if entry is None:
        return None
    if int(entry.get("expires_at", 0)) > time.time() + LEEWAY:
        return str(entry["access_token"])
    if entry.get("refresh_token"):
        with OAuth2Client(
            entry["client_id"], token_endpoint_auth_method=PUBLIC, timeout=TIMEOUT
        ) as client:
            try:
                token = client.refresh_token(
                    entry["token_endpoint"], refresh_token=entry["refresh_token"]
                )
            except ClientOAuthError:
                tokens.remove(hub)  # revoked or expired: only a new login helps
                return None
        renewed = {**entry, **_entry(token, entry, entry["client_id"], entry["grant"])}
    elif entry.get("grant") == "client_credentials" and env.get("NOTARY_HUB_CLIENT_SECRET"):
        secret = env["NOTARY_HUB_CLIENT_SECRET"]
        scope = entry.get("scope") or None
        renewed = client_credentials_login(hub, entry["client_id"], secret, scope)
    else:
        return None
    tokens.put(hub, renewed)
    return str(renewed["access_token"])


def logout(tokens: TokenFile, hub: str, client_secret: str | None = None) -> bool:
    """Revoke the hub's tokens (RFC 7009) and forget them; whether there were any. A
    confidential client (client credentials) authenticates with ``client_secret``."""
    entry = tokens.get(hub)
    if entry is None:
        return False
    endpoint = entry.get("revocation_endpoint")
    if endpoint:
        token = entry.get("refresh_token") or entry["access_token"]
        hint = "refresh_token" if entry.get("refresh_token") else "access_token"
        secret = client_secret if entry["grant"] == "client_credentials" else None
        method = "client_secret_basic" if secret else PUBLIC
        with OAuth2Client(
            entry["client_id"], secret, token_endpoint_auth_method=method, timeout=TIMEOUT
        ) as client:
            answer = client.revoke_token(endpoint, token=token, token_type_hint=hint)
            if answer.status_code != 200:
                body = answer.json() if answer.content else {}
                raise LoginError(
                    str(body.get("error", f"http_{answer.status_code}")),
                    str(body.get("error_description", "the hub refused the revocation")),
                )
    tokens.remove(hub)
    return True
