"""Structured logging: one JSON object per line (or readable console lines in dev).

Only the message and the ``extra`` fields a call passes are written; callers
never pass secrets (bearer tokens, cookies, tickets), and :data:`REDACTED_KEYS` is a
second line of defence. Each line carries ``request_id`` when one is bound
(:mod:`hub_kernel.request_context`: an HTTP request, or a stage moving a deposit that a
request created), so one grep follows a deposit through every process's logs.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from hub_kernel.request_context import current_request_id

REDACTED_KEYS = frozenset(
    {
        "password",
        "secret",
        "token",
        "private_key",
        "master_key",
        "authorization",
        "raw",
        "cookie",
        "set_cookie",
        "ticket",
    }
)
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "color_message",  # uvicorn's ANSI copy of the message
}


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {
        key: "[redacted]" if key.lower() in REDACTED_KEYS else value
        for key, value in vars(record).items()
        if key not in _STANDARD and not key.startswith("_")
    }


class RequestIdFilter(logging.Filter):
    """Adds the bound request id to each record (a record's own ``request_id`` wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            request_id = current_request_id()
            if request_id is not None:
                record.request_id = request_id
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, separators=(",", ":"))


class ConsoleFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(f"{k}={v}" for k, v in _fields(record).items())
        line = f"{record.levelname:<7} {record.name}: {record.getMessage()}"
        if fields:
            line = f"{line}  {fields}"
        if record.exc_info:
            line = f"{line}\n{self.formatException(record.exc_info)}"
        return line


def configure_logging(
    level: str = "INFO", fmt: str = "console", stream: TextIO | None = None
) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else ConsoleFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # web3/urllib3 debug logs would include request bodies (signed transactions); httpx logs
    # every request at INFO, which would break the CLI's one-line errors.
    for noisy in ("web3", "urllib3", "httpx", "httpcore", "eth", "trie", "asyncio", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
