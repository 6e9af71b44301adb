"""``/captures`` on a real hub (issue 15 items 1, 6, 7): a scripted capture through the
recording proxy and Chromium against the HTTPS test site, sealed through the hub's TSA,
anchor queue, blob store and letter issuer; the letter verifies against the package
downloaded from the API. And the refusals: a bad step, an unknown member, someone
else's capture, a letter before sealing, a second end."""

from __future__ import annotations

import hashlib
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine

from credentials.issuer_trust import PinnedIssuers
from evidence.capture.capture_verification import CaptureLetterVerifier
from notary_hub.app import create_app
from notary_hub.hub import Hub, open_hub
from notary_hub.settings import (
    AnchoringSettings,
    DatabaseSettings,
    EvidenceSettings,
    ServerSettings,
    Settings,
)
from notary_hub.settings_capture import CaptureSettings
from testkit.capture_site import CaptureSite, serve_capture_site
from testkit.holder import did_key_holder
from testkit.waiting import wait_until
from tests.evidence.capture.browser_support import sign_in_site

pytestmark = [pytest.mark.slow]

TOKEN = "c" * 40
OWNER = did_key_holder("capture owner").did
STRANGER = did_key_holder("someone else").did
STEPS = """
- goto: {login}
- clip: start
- type: {{selector: "input[name=user]", text: alice}}
- type: {{selector: "input[name=password]", text: s3cret-pass}}
- click: "button"
- wait: 0.5
- clip: end
- screenshot: full
- save: {pdf}
- note: the page after signing in
"""


def headers(did: str = OWNER) -> dict[str, str]:
    return {"authorization": f"Bearer {TOKEN}", "Depositor": did}


@pytest.fixture(scope="module")
def site() -> Iterator[CaptureSite]:
    with serve_capture_site() as served:
        yield served


@pytest.fixture
def capture_hub(
    tmp_path: Path, db_url: str, engine: Engine, site: CaptureSite
) -> Iterator[tuple[Hub, TestClient]]:
    ca = tmp_path / "site-ca.pem"
    ca.write_bytes(site.ca.certificate_pem)
    with sign_in_site() as origin:
        settings = Settings(
            data_dir=tmp_path / "data",
            database=DatabaseSettings(url=db_url),
            server=ServerSettings(api_tokens=[SecretStr(TOKEN)]),
            anchoring=AnchoringSettings(batch_interval_seconds=0.05),
            evidence=EvidenceSettings(poll_seconds=0.05),
            captures=CaptureSettings(
                allow=[f"127.0.0.1:{site.port}"],
                trusted_ca_file=ca,
                egress_probe_url=f"{origin}/whoami",
                allow_no_sandbox=os.geteuid() == 0,
                checkpoint_seconds=1.0,
                max_sessions=1,
            ),
        )
        hub = open_hub(settings)
        try:
            with TestClient(create_app(hub)) as client:
                yield hub, client
        finally:
            hub.close()


def sealed(client: TestClient, capture_id: str, timeout: float = 120) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        body: dict[str, Any] = client.get(f"/captures/{capture_id}", headers=headers()).json()
        return body if body["state"] in ("sealed", "refused") else None

    return wait_until(done, timeout=timeout, interval=0.5, message=f"capture {capture_id}")


def test_a_scripted_capture_is_sealed_and_its_letter_verifies(
    capture_hub: tuple[Hub, TestClient], site: CaptureSite, tmp_path: Path
) -> None:
    hub, client = capture_hub
    steps = STEPS.format(login=site.url("/login"), pdf=site.url("/doc.pdf"))
    started = client.post(
        "/captures", json={"target": site.url("/"), "steps": steps}, headers=headers()
    )
    assert started.status_code == 202, started.text
    capture_id = started.json()["id"]
    assert started.headers["location"] == f"/captures/{capture_id}"
    assert started.json()["state"] == "preflight"

    record = sealed(client, capture_id)
    assert record["state"] == "sealed", record["refusal"]
    assert record["owner"] == OWNER and record["interrupted"] is False
    letter = client.get(f"/captures/{capture_id}/letter", headers=headers())
    assert letter.status_code == 200 and letter.headers["content-type"] == "application/vc"
    package = client.get(f"/captures/{capture_id}/package", headers=headers())
    assert package.status_code == 200
    assert hashlib.sha256(package.content).hexdigest() == record["packageSha256"]
    wacz = tmp_path / "capture.wacz"
    wacz.write_bytes(package.content)

    subject = letter.json()["credentialSubject"]
    assert subject["id"] == OWNER
    kinds = sorted(item["itemKind"] for item in subject["keyItems"])
    assert kinds == ["note", "original", "screenshot", "video-segment"], subject["keyItems"]
    clip = next(i for i in subject["keyItems"] if i["itemKind"] == "video-segment")
    assert clip["itemPath"] == "clips/clip-0001.webm"  # the marked span, cut from the video
    verifier = CaptureLetterVerifier(
        hub.credentials.verifier,
        hub.chain_parts.chain,
        trust=PinnedIssuers([hub.did.notary.did]),
        tsa_roots=hub.evidence.tsa_roots,
    )
    result = verifier.verify(letter.json(), wacz)
    assert result.verified, result.errors
    assert {"package", "wacz", "hashChain", "items"} <= set(result.checks), result.checks
    with zipfile.ZipFile(wacz) as archive:  # a password typed is masked in the action log
        actions = archive.read("capture/actions.jsonl")
    assert b"alice" in actions and b"s3cret-pass" not in actions


def test_bad_requests_are_refused_before_anything_starts(
    capture_hub: tuple[Hub, TestClient], site: CaptureSite
) -> None:
    _, client = capture_hub
    cases: list[tuple[Any, str]] = [
        ({"target": site.url("/"), "steps": "- fly: away"}, "invalid_capture_step"),
        ({"target": site.url("/"), "extra": 1}, "invalid_capture_request"),
        ({"target": "file:///etc/passwd"}, "invalid_capture_request"),
        (
            {"target": site.url("/"), "limits": {"maxDurationSeconds": 10**9}},
            "invalid_capture_request",
        ),
        ([1, 2], "invalid_capture_request"),
    ]
    for body, code in cases:
        answer = client.post("/captures", json=body, headers=headers())
        assert answer.status_code == 422 and answer.json()["error"] == code, (body, answer.text)
    assert client.get("/captures", headers=headers()).json() == {"captures": []}
    no_scope = client.post("/captures", json={"target": site.url("/")})
    assert no_scope.status_code == 401


def test_only_the_owner_sees_a_capture_and_an_end_is_taken_once(
    capture_hub: tuple[Hub, TestClient], site: CaptureSite
) -> None:
    _, client = capture_hub
    body = {"target": site.url("/slow"), "steps": "- wait: 10"}
    capture_id = client.post("/captures", json=body, headers=headers()).json()["id"]
    assert client.get(f"/captures/{capture_id}", headers=headers(STRANGER)).status_code == 404
    early = client.get(f"/captures/{capture_id}/letter", headers=headers())
    assert early.status_code == 409 and early.json()["error"] == "capture_state_conflict"
    full = client.post("/captures", json=body, headers=headers())
    assert full.status_code == 503 and full.json()["error"] == "capture_sessions_full"

    def live() -> bool:
        state: str = client.get(f"/captures/{capture_id}", headers=headers()).json()["state"]
        return state == "live"

    wait_until(live, timeout=60, interval=0.2, message="the capture did not go live")
    assert client.post(f"/captures/{capture_id}/end", headers=headers(STRANGER)).status_code == 404
    ended = client.post(f"/captures/{capture_id}/end", headers=headers())
    assert ended.status_code == 202 and ended.json()["state"] == "ending"
    again = client.post(f"/captures/{capture_id}/end", headers=headers())
    assert again.status_code == 409 and again.json()["error"] == "capture_state_conflict"
    record = sealed(client, capture_id)
    assert record["state"] == "sealed" and record["endReason"] == "user", record


def test_a_download_over_the_cap_fails_its_step_and_the_capture_is_still_sealed(
    capture_hub: tuple[Hub, TestClient], site: CaptureSite
) -> None:
    _, client = capture_hub
    body = {
        "target": site.url("/"),
        "steps": f"- save: {site.url('/big/300000')}\n- note: never reached",
        "limits": {"downloadCapBytes": 100_000},
    }
    capture_id = client.post("/captures", json=body, headers=headers()).json()["id"]
    record = sealed(client, capture_id)
    assert record["state"] == "sealed", record["refusal"]
    assert record["outcome"].startswith("script failed: step 0 (save): "), record["outcome"]
    assert "is over the download cap of 100000 bytes" in record["outcome"], record["outcome"]
    letter = client.get(f"/captures/{capture_id}/letter", headers=headers()).json()
    assert "keyItems" not in letter["credentialSubject"]  # nothing half-saved, no note
