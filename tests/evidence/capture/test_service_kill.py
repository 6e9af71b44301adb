"""Kill -9 a process running a live capture (issue 15, "Reliability"): after its lease,
the capture is found interrupted, with everything recorded up to the chain's last entry
kept; while the process lives and renews, recovery leaves the capture alone. On SQLite
and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from evidence.capture.models import CaptureState
from evidence.capture.service import CaptureService

S = CaptureState


LIVE_PROCESS = """
import sys, time
from datetime import timedelta
from evidence.capture.service import CaptureService
from evidence.principal import Principal
from notary_hub.db import create_db_engine, session_factory

service = CaptureService(session_factory(create_db_engine(sys.argv[1])), lease=timedelta(seconds=1))
owner = Principal("did:key:z6MkOwner", "platform-a")
capture = service.create(owner, "live", "https://a.example/", holder="child")
service.started(capture.id, bytes(32), "child")
for seq in range(3):
    service.chain_progress(capture.id, bytes([seq]) * 32, seq + 1, holder="child")
print(capture.id, flush=True)
while True:
    time.sleep(0.2)
    service.renew(capture.id, "child")
"""


def test_a_killed_process_s_live_capture_is_found_interrupted(
    db_url: str, sessions: sessionmaker[Session]
) -> None:
    """A real process running a capture, renewing its lease, then SIGKILLed."""
    root = Path(__file__).resolve().parents[3]
    child = subprocess.Popen(
        [sys.executable, "-c", LIVE_PROCESS, db_url],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(root)},
        text=True,
    )
    try:
        assert child.stdout is not None
        capture_id = child.stdout.readline().strip()
        service = CaptureService(sessions)
        time.sleep(1.5)  # past the first lease: renewed, so left alone
        assert service.recover_interrupted() == []
        assert service.record(capture_id).state is S.LIVE
        child.kill()
        child.wait(10)
        time.sleep(1.1)
        (record,) = service.recover_interrupted()
    finally:
        child.kill()
        child.wait(10)
    assert (record.id, record.state, record.interrupted) == (capture_id, S.INTERRUPTED, True)
    assert record.interruption_reason is not None
    assert record.interruption_reason.endswith("; recorded up to chain entry 2")
