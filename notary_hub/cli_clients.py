"""``notary-hub clients``: the OAuth clients partner platforms and staff tools use.

``create`` registers a client (its secret, or nothing for ``private_key_jwt`` and
public clients, is printed once: only its SHA-256 is kept), ``list`` and ``show``
describe them, ``rotate-secret`` replaces a secret (the old one stops working at
once), ``delete`` removes a client and revokes its tokens, and ``initial-token``
issues a single-use initial access token for dynamic registration (RFC 7591 §3).
``signing-keys`` lists the hub's OAuth signing keys and ``rotate-signing-key ALG``
retires the active one (it stays published until its tokens expire).

These commands work on the data directory's database directly, whether or not
``serve`` runs: they touch only the authorisation server's tables, each change is one
transaction (SQLite in WAL mode and PostgreSQL both take a second writer), and the
serving hub reads clients from the database, caching each for
``OAUTH_REVOCATION_CACHE_SECONDS`` (2 s), so a change applies within that time. They
never open the chain. Errors follow ``notary_hub.cli_support``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy.orm import Session, sessionmaker

from notary_hub.cli_support import PlainFlagsGroup, cli_errors, fail, flag, hub_settings, iso_time
from notary_hub.cli_support import out as console
from notary_hub.db import session_factory
from notary_hub.hub import open_database, open_keystore
from oauth_server.access_tokens import Lifetimes
from oauth_server.clients import AUTH_METHODS, DEVICE_CODE, Client, ClientSpec, ClientStore
from oauth_server.keys import ALGORITHMS, SigningKeys
from oauth_server.models import SigningKeyRow
from oauth_server.parts import retired_key_retention
from oauth_server.registration import InitialTokens

clients_app = typer.Typer(
    help="OAuth clients: partner platforms and staff tools.",
    no_args_is_help=True,
    cls=PlainFlagsGroup,
)


@contextmanager
def _sessions() -> Iterator[sessionmaker[Session]]:
    settings = hub_settings()
    with cli_errors():
        engine = open_database(settings)
        try:
            yield session_factory(engine)
        finally:
            engine.dispose()


def _scope_purposes(entries: list[str]) -> dict[str, str]:
    purposes: dict[str, str] = {}
    for entry in entries:
        scope, sep, purpose = entry.partition("=")
        if not sep or not scope.strip():
            fail("invalid_scope", f"--scope takes SCOPE=PURPOSE, not {entry!r}")
        purposes[scope.strip()] = purpose.strip()
    return purposes


def client_json(client: Client) -> dict[str, Any]:
    return {
        "client_id": client.client_id,
        "client_name": client.name,
        "token_endpoint_auth_method": client.auth_method,
        "grant_types": list(client.grant_types),
        "redirect_uris": list(client.redirect_uris),
        "scope_purposes": dict(client.scope_purposes),
        "id_token_signed_response_alg": client.id_token_alg,
        "platform_did": client.platform_did,
        "sector_identifier": client.sector_identifier,
        "post_logout_redirect_uris": list(client.post_logout_redirect_uris),
        "created_at": iso_time(client.created_at),
    }


@clients_app.command()
def create(
    name: Annotated[str, typer.Argument(help="The client's name, shown at consent.")],
    scope: Annotated[
        list[str], typer.Option("--scope", help="SCOPE=PURPOSE, repeatable (at least one).")
    ],
    grant: Annotated[
        list[str] | None,
        typer.Option(
            "--grant",
            help="authorization_code, refresh_token, client_credentials, device_code (RFC 8628).",
        ),
    ] = None,
    redirect_uri: Annotated[
        list[str] | None, typer.Option("--redirect-uri", help="Exact redirect URI, repeatable.")
    ] = None,
    auth_method: Annotated[
        str, typer.Option(help=f"One of {', '.join(AUTH_METHODS)}.")
    ] = "client_secret_basic",
    jwks_file: Annotated[
        Path | None, typer.Option(help="The client's public JWKS (private_key_jwt).")
    ] = None,
    id_token_alg: Annotated[str, typer.Option(help="EdDSA, ES256 or RS256.")] = "ES256",  # noqa: S107
    platform_did: Annotated[
        str | None, typer.Option(help="The platform's own DID (its deposits' depositor).")
    ] = None,
    sector: Annotated[str | None, typer.Option(help="Sector of its pairwise subjects.")] = None,
    post_logout_redirect_uri: Annotated[
        list[str] | None,
        typer.Option("--post-logout-redirect-uri", help="Exact URI logout may return to."),
    ] = None,
    as_json: Annotated[bool, flag("--json", help="Print JSON.")] = False,
) -> None:
    """Register a client; its secret is printed once."""
    with cli_errors():
        jwks = json.loads(jwks_file.read_text()) if jwks_file is not None else None
    spec = ClientSpec(
        name=name,
        auth_method=auth_method,
        grant_types=[DEVICE_CODE if name == "device_code" else name for name in grant or []]
        or ["client_credentials"],
        scope_purposes=_scope_purposes(scope),
        redirect_uris=redirect_uri or [],
        jwks=jwks,
        id_token_alg=id_token_alg,
        platform_did=platform_did,
        sector_identifier=sector,
        post_logout_redirect_uris=post_logout_redirect_uri or [],
    )
    with _sessions() as sessions, cli_errors():
        client, secret = ClientStore(sessions).create(spec)
    answer = client_json(client)
    if secret is not None:
        answer["client_secret"] = secret
    if as_json:
        console.print_json(json.dumps(answer))
        return
    console.print(f"client_id     {client.client_id}", markup=False)
    if secret is not None:
        console.print(f"client_secret {secret}", markup=False)
        console.print("(the secret is shown once: the hub keeps only its hash)", markup=False)


@clients_app.command("list")
def list_clients(as_json: Annotated[bool, flag("--json", help="Print JSON.")] = False) -> None:
    """Every registered client."""
    with _sessions() as sessions, cli_errors():
        clients = ClientStore(sessions).list()
    if as_json:
        console.print_json(json.dumps([client_json(client) for client in clients]))
        return
    table = Table("client_id", "name", "auth", "grants", "scopes", "platform DID")
    for client in clients:
        table.add_row(
            client.client_id,
            client.name,
            client.auth_method,
            " ".join(client.grant_types),
            " ".join(client.scopes),
            client.platform_did or "",
        )
    console.print(table)


@clients_app.command()
def show(
    client_id: str, as_json: Annotated[bool, flag("--json", help="Print JSON.")] = False
) -> None:
    """One client, with the purpose of each scope."""
    with _sessions() as sessions, cli_errors():
        client = ClientStore(sessions).require(client_id)
    answer = client_json(client)
    if as_json:
        console.print_json(json.dumps(answer))
        return
    for key, value in answer.items():
        console.print(f"{key:<30}{json.dumps(value)}", markup=False)


@clients_app.command("rotate-secret")
def rotate_secret(client_id: str) -> None:
    """A new secret for the client (printed once); the old one stops working."""
    with _sessions() as sessions, cli_errors():
        secret = ClientStore(sessions).rotate_secret(client_id)
    console.print(f"client_secret {secret}", markup=False)


@clients_app.command()
def delete(client_id: str, yes: Annotated[bool, flag("--yes", help="Do not ask.")] = False) -> None:
    """Remove a client and revoke its tokens."""
    if not yes and not typer.confirm(f"delete client {client_id} and revoke its tokens?"):
        fail("cancelled", "nothing was deleted")
    with _sessions() as sessions, cli_errors():
        ClientStore(sessions).delete(client_id)
    console.print(f"deleted {client_id}", markup=False)


@clients_app.command("initial-token")
def initial_token(
    note: Annotated[str, typer.Option(help="Whom it is for (kept with it).")],
    lifetime: Annotated[int, typer.Option(help="Seconds it stays valid.")] = 86_400,
) -> None:
    """A single-use initial access token for dynamic client registration (RFC 7591)."""
    with _sessions() as sessions, cli_errors():
        token = InitialTokens(sessions).issue(note, lifetime)
    console.print(token, markup=False)


@contextmanager
def _signing_keys() -> Iterator[SigningKeys]:
    settings = hub_settings()
    cfg = settings.oauth
    lifetimes = Lifetimes(access_token=cfg.access_token_seconds, code=cfg.code_seconds)
    with cli_errors():
        keystore = open_keystore(settings)
        engine = open_database(settings)
        try:
            sessions = session_factory(engine)
            yield SigningKeys(sessions, keystore, keep_retired=retired_key_retention(lifetimes))
        finally:
            engine.dispose()


def _key_json(row: SigningKeyRow) -> dict[str, Any]:
    return {
        "kid": row.kid,
        "alg": row.alg,
        "created_at": iso_time(row.created_at),
        "retired_at": iso_time(row.retired_at) if row.retired_at else None,
        "published_until": iso_time(row.drop_at) if row.drop_at else None,
    }


@clients_app.command("signing-keys")
def signing_keys(as_json: Annotated[bool, flag("--json", help="Print JSON.")] = False) -> None:
    """The hub's OAuth signing keys: active, and retired ones still published."""
    with _signing_keys() as keys, cli_errors():
        rows = [_key_json(row) for row in keys.rows()]
    if as_json:
        console.print_json(json.dumps(rows))
        return
    table = Table("kid", "alg", "created", "retired", "published until")
    for row in rows:
        table.add_row(*(str(row[name] or "") for name in row))
    console.print(table)


@clients_app.command("rotate-signing-key")
def rotate_signing_key(
    alg: Annotated[str, typer.Argument(help=f"One of {', '.join(ALGORITHMS)}.")],
) -> None:
    """A new active key for ALG; the old one stays published until its tokens expire."""
    if alg not in ALGORITHMS:
        fail("invalid_request", f"the hub signs with {', '.join(ALGORITHMS)}, not {alg}")
    with _signing_keys() as keys, cli_errors():
        kid = keys.rotate(alg)
    console.print(f"new {alg} key {kid}", markup=False)
