"""Request ids (issue 16 item 5): one id from the HTTP request through the workers' logs.

A deposit made in one process (the HTTP side, its workers not running) is moved to
certified by a second process (a worker opening the same hub); each writes JSON log
lines, and a grep for the request's id over both finds the deposit received, then every
move. Forged ids (too long, odd characters) are replaced, never echoed or logged.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from evidence.deposit.models import Deposit
from notary_hub.app import create_app
from notary_hub.hub import open_hub
from notary_hub.logging import configure_logging
from notary_hub.request_ids import RequestIdMiddleware
from tests.notary_hub.observability_support import (
    DEPOSITING,
    HUB_TOKEN,
    fresh_digest,
    hub_settings,
)

WORKER = textwrap.dedent(
    """
    import time
    from evidence.deposit.depths import waiting_deposits
    from notary_hub.hub import open_hub
    from notary_hub.logging import configure_logging
    from notary_hub.settings import Settings

    configure_logging("INFO", "json")
    hub = open_hub(Settings())
    try:
        deadline = time.monotonic() + 60
        while any(w.count for w in waiting_deposits(hub.sessions).values()):
            assert time.monotonic() < deadline, "the deposit was not certified"
            hub.evidence.pipeline.run_once()
            hub.batcher.run_once()
    finally:
        hub.close()
    """
)


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """The root logger's lines as the hub writes them in production (JSON), captured."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    stream = io.StringIO()
    configure_logging("INFO", "json", stream=stream)
    try:
        yield stream
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_one_request_id_follows_a_deposit_from_the_request_through_the_worker(
    tmp_path: Path, db_url: str, engine: Engine, json_logs: io.StringIO
) -> None:
    request_id = "platform-trace-0001"
    settings = hub_settings(tmp_path / "data", db_url)
    hub = open_hub(settings)
    try:
        with TestClient(create_app(hub, run_background=False)) as client:
            response = client.post(
                "/evidence/deposits",
                headers={**DEPOSITING, "X-Request-Id": request_id},
                json={"sha256": fresh_digest()},
            )
        assert response.status_code == 201, response.text
        assert response.headers["x-request-id"] == request_id
        deposit_id = response.json()["id"]
    finally:
        hub.close()  # the worker process takes the embedded chain over

    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTARY_HUB_")}
    env |= {"NOTARY_HUB_DATA_DIR": str(settings.data_dir), "NOTARY_HUB_DATABASE_URL": db_url}
    worker = subprocess.run(
        [sys.executable, "-c", WORKER], env=env, capture_output=True, text=True, timeout=120
    )
    assert worker.returncode == 0, worker.stderr[-3000:]

    http_lines, worker_lines = lines(json_logs.getvalue()), lines(worker.stderr)
    ours = [line for line in http_lines if line.get("request_id") == request_id]
    assert {"msg": "deposit received", "deposit": deposit_id}.items() <= ours[0].items(), ours
    followed = [line for line in worker_lines if line.get("request_id") == request_id]
    moves = [(line["msg"], line.get("state")) for line in followed]
    assert moves == [
        ("deposit moved", "timestamped"),
        ("deposit queued for anchoring", None),
        ("deposit moved", "anchored"),
        ("deposit moved", "certified"),
    ], worker_lines
    assert all(line["deposit"] == deposit_id for line in followed)
    everything = json_logs.getvalue() + worker.stderr
    assert HUB_TOKEN not in everything  # the bearer is never logged
    with Session(engine) as session:
        stored = session.scalar(select(Deposit.request_id).where(Deposit.id == deposit_id))
    assert stored == request_id


FORGED = [
    "x" * 65,  # over-long
    "y" * 4000,
    "has spaces 1234",
    'quote"injected',
    "short",  # under 8
    "-leading-dash",
    "tab\tinside-123",
]


def test_forged_request_ids_are_replaced_never_echoed_or_logged(
    tmp_path: Path, db_url: str, engine: Engine, json_logs: io.StringIO
) -> None:
    hub = open_hub(hub_settings(tmp_path / "data", db_url))
    try:
        with TestClient(create_app(hub, run_background=False)) as client:
            made: dict[str, str] = {}
            for forged in FORGED:
                response = client.post(
                    "/evidence/deposits",
                    headers={**DEPOSITING, "X-Request-Id": forged},
                    json={"sha256": fresh_digest()},
                )
                assert response.status_code == 201, response.text
                replaced = response.headers["x-request-id"]
                assert re.fullmatch(r"[0-9a-f]{32}", replaced), replaced
                made[response.json()["id"]] = replaced
            uuid = "0f8fad5b-d9cb-469f-a165-70867728950e"
            assert (
                client.get("/healthz", headers={"X-Request-Id": uuid}).headers["x-request-id"]
                == uuid
            )
            refused = client.get("/evidence/deposits/nope")  # errors carry one too
            assert refused.status_code == 401
            assert re.fullmatch(r"[0-9a-f]{32}", refused.headers["x-request-id"])
    finally:
        hub.close()
    logged = json_logs.getvalue()
    for forged in FORGED:
        assert json.dumps(forged)[1:-1] not in logged
    refusals = [line for line in lines(logged) if line["msg"] == "X-Request-Id refused: replaced"]
    assert len(refusals) == len(FORGED)
    with Session(engine) as session:
        stored = {row[0]: row[1] for row in session.execute(select(Deposit.id, Deposit.request_id))}
    assert stored == made  # each deposit records the id it was answered with


def test_an_unhandled_error_is_logged_under_the_request_id(json_logs: io.StringIO) -> None:
    app = FastAPI()

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    app.add_middleware(RequestIdMiddleware)
    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.get("/boom", headers={"X-Request-Id": "boom-request-1"})
    assert answer.status_code == 500
    (failed,) = [line for line in lines(json_logs.getvalue()) if line["msg"] == "request failed"]
    assert failed["request_id"] == "boom-request-1" and failed["exception"] == "RuntimeError"
