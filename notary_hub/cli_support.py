"""What every ``notary-hub`` command shares: the consoles, one-line errors, settings.

Every failure is one line on stderr (``error: <code>: <message>``) and a non-zero exit;
stack traces are for bugs only. Within :func:`json_errors` (a command's ``--json``) it
is also one JSON object on stdout, ``{..., "errors": [{"code", "message"}]}``, so a
program reading stdout always gets an answer. The sub-command modules (``cli_*``) and ``cli`` import
this; it imports none of them.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, NoReturn

import typer
from pydantic import ValidationError
from pydantic_settings import SettingsError
from rich.console import Console
from rich.markup import escape

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


# Every component error (HubError) has a code; the others are named by their class.
EXPECTED_ERRORS = (HubError, InsecureSettings, OSError)


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
    except EXPECTED_ERRORS as exc:
        fail(getattr(exc, "code", type(exc).__name__), str(exc))


def load_settings() -> Settings:
    with cli_errors():
        settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    return settings
