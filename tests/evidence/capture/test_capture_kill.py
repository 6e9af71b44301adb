"""Issue 15, "Reliability": kill -9 the hub mid-session. On restart the session is marked
interrupted; everything recorded up to the last chain entry is kept and sealed with the
interruption stated in the letter; nothing is silently lost. The browser and the proxy
the dead hub left running are killed before sealing, and no half-sealed package stays.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from evidence.capture.chain_entry import parse_line
from testkit.capture_site import serve_capture_site
from testkit.holder import did_key_holder
from testkit.waiting import wait_until
from tests.evidence.capture.browser_support import sign_in_site
from tests.evidence.capture.test_served_capture import capture_env, node_process
from tests.fixtures.hub_process import HubProcess, run_cli

pytestmark = [pytest.mark.slow]

OWNER = did_key_holder("killed capture owner").did
HEADERS = {"Depositor": OWNER}
LEASE = 4  # seconds: how long the dead hub's sessions stay its own


def processes_naming(directory: Path) -> list[int]:
    marker = os.fsencode(str(directory.resolve())) + b"/"
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def state(client: httpx.Client, capture_id: str) -> dict[str, Any]:
    body: dict[str, Any] = client.get(f"/captures/{capture_id}", headers=HEADERS).json()
    return body


def test_a_capture_whose_hub_was_killed_is_sealed_as_interrupted(tmp_path: Path) -> None:
    with serve_capture_site() as site, sign_in_site() as origin:
        env = capture_env(site, origin, tmp_path) | {
            "NOTARY_HUB_CAPTURES_LEASE_SECONDS": str(LEASE)
        }
        hub = HubProcess(tmp_path, env)
        hub.start()
        try:
            steps = f"- screenshot\n- save: {site.url('/doc.pdf')}\n- note: before the kill\n"
            steps += "- wait: 10\n" * 6
            with hub.client() as client:
                body = {"target": site.url("/"), "steps": steps}
                started = client.post("/captures", json=body, headers=HEADERS)
                assert started.status_code == 202, started.text
                capture_id = started.json()["id"]
                session = tmp_path / ".notary-hub" / "captures" / capture_id
                chain = session / "chain.jsonl"

                def noted() -> bool:  # the note is chained: the steps before it ran
                    return chain.is_file() and b'"kind":"note"' in chain.read_bytes()

                wait_until(noted, timeout=60, interval=0.2, message="the steps did not run")
            assert processes_naming(session), "the session's browser and proxy run"
            assert hub.process is not None
            os.kill(hub.process.pid, signal.SIGKILL)  # the hub alone: its children live on
            hub.process.wait(10)
            hub.process = None
            lines = chain.read_bytes().splitlines(keepends=True)
            killed_at = parse_line(lines[-1], len(lines) - 1)

            hub.start()
            with hub.client() as client:

                def sealed() -> dict[str, Any] | None:
                    record = state(client, capture_id)
                    return record if record["state"] == "sealed" else None

                record = wait_until(sealed, timeout=120, interval=0.5, message="not sealed")
                letter = client.get(f"/captures/{capture_id}/letter", headers=HEADERS).json()
                package = client.get(f"/captures/{capture_id}/package", headers=HEADERS)
                roots = client.get("/tsa/certs").content
        finally:
            hub.stop()

    assert processes_naming(session) == []  # the orphans were killed before sealing
    assert record["interrupted"] is True and record["endReason"] == "interrupted"
    reason = record["interruptionReason"]
    assert reason.startswith("the hub process stopped at ")
    assert f"recorded up to chain entry {killed_at.seq}" in reason, (reason, killed_at.seq)
    subject = letter["credentialSubject"]
    assert subject["captureInterrupted"] is True and subject["interruptionReason"] == reason
    assert {item["itemKind"] for item in subject["keyItems"]} == {"screenshot", "original", "note"}
    wacz = tmp_path / "interrupted.wacz"
    wacz.write_bytes(package.content)
    assert hashlib.sha256(package.content).hexdigest() == record["packageSha256"]
    with zipfile.ZipFile(wacz) as archive:
        names = set(archive.namelist())
        packaged_chain = archive.read("capture/chain.jsonl")
    assert packaged_chain.startswith(b"".join(lines))  # every entry before the kill, kept
    assert any(n.startswith("archive/") for n in names), names  # the WARC, cut whole
    assert not list((tmp_path / ".notary-hub" / "captures").glob("*.wacz"))  # nothing half-made

    (tmp_path / "tsa.pem").write_bytes(roots)
    (tmp_path / "letter.json").write_text(json.dumps(letter), "utf-8")
    node, rpc = node_process(hub)
    try:
        verified = run_cli(
            "verify", str(tmp_path / "letter.json"), "--file", str(wacz), "--rpc", rpc,
            "--tsa-root", str(tmp_path / "tsa.pem"), env=hub.env, cwd=tmp_path,
        )  # fmt: skip
        assert verified.returncode == 0, (verified.stdout, verified.stderr)
        assert "interrupted" in verified.stdout
    finally:
        os.killpg(node.pid, signal.SIGTERM)
        node.wait(20)
