"""What every ``notary-hub`` command shares: the consoles, one-line errors, settings.

Every failure is one line on stderr (``error: <code>: <message>``) and a non-zero exit;
stack traces are for bugs only. Within :func:`json_errors` (a command's ``--json``) it
is also one JSON object on stdout, ``{..., "errors": [{"code", "message"}]}``, so a
program reading stdout always gets an answer. The sub-command modules (``cli_*``) and ``cli`` import
this; it imports none of them.
"""

from __future__ import annotations

import errno
import json
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import typer
from pydantic import ValidationError
from pydantic_settings import SettingsError
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from hub_kernel.errors import HubError
from notary_hub.logging import configure_logging
from notary_hub.settings import InsecureSettings, Settings

# Documents, chain data and DIDs are untrusted text: no emoji codes (every did:key has
# ":z6Mk...:" shapes) and no automatic highlighting; callers escape markup (plain()).
out = Console(soft_wrap=True, emoji=False, highlight=False)
err = Console(stderr=True, soft_wrap=True, emoji=False, highlight=False)


def plain(value: object) -> str:
    """``value`` as text that rich prints verbatim, whatever brackets it holds."""
    return escape(str(value))


# Every component error (HubError) has a code; an OSError gets one from its kind.
EXPECTED_ERRORS = (HubError, InsecureSettings, OSError)

_OS_ERROR_CODES: tuple[tuple[type[OSError], str], ...] = (
    (FileNotFoundError, "file_not_found"),
    (PermissionError, "permission_denied"),
    (IsADirectoryError, "is_a_directory"),
    (NotADirectoryError, "not_a_directory"),
    (FileExistsError, "file_exists"),
    (ConnectionRefusedError, "connection_refused"),
    (TimeoutError, "timeout"),
)

NO_DATA_DIR = "no hub data directory here; pass --data-dir or run from the hub's directory"


def flag(*names: str, help: str) -> Any:
    """A boolean option shown as a plain flag (typer would render ``--json <bool>``)."""
    return typer.Option(*names, help=help, metavar="")


class PlainFlagsGroup(TyperGroup):
    """A command group whose ``--help`` (and its commands') shows as a flag, not ``<bool>``.

    Every ``typer.Typer`` of the CLI takes it (``cls=PlainFlagsGroup``); our own bool
    options use :func:`flag`.
    """

    def get_help_option(self, ctx: Any) -> Any:
        return _plain(super().get_help_option(ctx))

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is not None and not isinstance(command, PlainFlagsGroup):
            _plain(command.get_help_option(ctx))
        return command


def _plain(option: Any) -> Any:
    if option is not None:
        option.metavar = ""
    return option


def iso_time(seconds: int | float) -> str:
    """Unix seconds (a block timestamp) as ISO 8601 UTC: ``2026-12-03T17:20:05Z``."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def os_error(exc: OSError) -> tuple[str, str]:
    """``(code, message)`` of an OSError: ``file_not_found``, ... with the file it names."""
    code = next((code for kind, code in _OS_ERROR_CODES if isinstance(exc, kind)), "os_error")
    if exc.filename is None:
        return code, exc.strerror or str(exc)
    message = f"{exc.filename}: {exc.strerror or exc}"
    if exc.filename2 is not None:
        message = f"{exc.filename} -> {exc.filename2}: {exc.strerror or exc}"
    return code, message


# The members a failure's JSON answer carries besides "errors"; None: no JSON answer.
_json_answer: ContextVar[dict[str, Any] | None] = ContextVar("json_answer", default=None)


@contextmanager
def json_errors(enabled: bool, **members: Any) -> Iterator[None]:
    """While open, and ``enabled``, :func:`fail` also answers ``{**members, "errors"}``."""
    token = _json_answer.set(dict(members) if enabled else None)
    try:
        yield
    finally:
        _json_answer.reset(token)


def fail(code: str, message: str, exit_code: int = 1) -> NoReturn:
    answer = _json_answer.get()
    if answer is not None:
        body = {**answer, "errors": [{"code": code, "message": message}]}
        sys.stdout.write(json.dumps(body, indent=2) + "\n")
    err.print(f"error: {code}: {message}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(exit_code)


@contextmanager
def cli_errors() -> Iterator[None]:
    try:
        yield
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        message = str(first.get("msg", "")).removeprefix("Value error, ")
        fail("invalid_settings", f"{where}: {message}" if where else message)
    except SettingsError as exc:  # an environment value that is not even parseable (JSON)
        fail("invalid_settings", str(exc))
    except HubError as exc:
        fail(exc.code, str(exc))
    except OSError as exc:
        fail(*os_error(exc))
    except InsecureSettings as exc:
        fail(getattr(exc, "code", type(exc).__name__), str(exc))


def load_settings() -> Settings:
    with cli_errors():
        settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    return settings


def is_hub_data_dir(data_dir: Path) -> bool:
    """Whether ``data_dir`` holds a hub (its key store), as ``init`` or ``serve`` left it."""
    return data_dir.is_dir() and (data_dir / "keys").is_dir()


def hub_settings(*, needs_data_dir: bool = True) -> Settings:
    """The settings of a command that opens an existing hub: it creates no data directory.

    Only ``serve`` and ``init`` create one; every other command run where there is none
    fails with ``no_data_dir`` (exit 2) before anything is created.
    """
    settings = load_settings()
    if needs_data_dir and not is_hub_data_dir(settings.data_dir):
        fail("no_data_dir", NO_DATA_DIR, exit_code=2)
    return settings


def ensure_port_free(host: str, port: int) -> None:
    """Fail with ``port_in_use`` when ``host:port`` cannot be bound (uvicorn binds it later).

    Bound as uvicorn binds (``SO_REUSEADDR``) and closed at once. Port 0 (any free port)
    is never in use.
    """
    if port == 0:
        return
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        fail("invalid_host", f"{host}: {exc.strerror}")
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                fail("port_in_use", f"{host}:{port} is already in use")
            fail("cannot_listen", f"{host}:{port}: {exc.strerror or exc}")
