"""Scripted capture steps through the real recording proxy and a real Chromium against the
HTTPS test site: the login, the screenshot and the PDF are in the record exactly as the
site served them, the chain verifies with its stamps, the video lasts the session, the
signed WACZ verifies; a bad step is refused before anything runs."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from evidence.capture.chain_verify import verify_chain
from evidence.capture.errors import CaptureStepFailed, InvalidCaptureStep
from evidence.capture.hash_chain import read_chain
from evidence.capture.page_input import MASK
from evidence.capture.session import seal_package
from evidence.capture.session_record import RecordedSession
from evidence.capture.steps import StepLimits, parse_steps, run_script
from evidence.capture.video import probe_video
from evidence.capture.wacz_signing import WaczSigner
from evidence.capture.wacz_verify import verify_wacz
from testkit.capture_site import CaptureSite, pdf_bytes, serve_capture_site
from tests.evidence.capture.capture_support import wacz_validate
from tests.evidence.capture.recorder.warc_reading import read_warc, responses
from tests.evidence.capture.session_support import (
    PASSWORD,
    action_lines,
    session_settings,
    tsa,
)

NOTARY_KEY = ec.generate_private_key(ec.SECP384R1())


@pytest.fixture(scope="module")
def site() -> Iterator[CaptureSite]:
    with serve_capture_site() as served:
        yield served


def login_script(site: CaptureSite) -> str:
    return f"""
- goto: {site.url("/login")}
- type: {{selector: "input[name=user]", text: alice}}
- type: {{selector: "input[name=password]", text: "{PASSWORD}"}}
- click: button
- wait: 1.5
- screenshot
- save: {site.url("/doc.pdf")}
- note: the page after signing in
- wait: 1.5
"""


def test_a_scripted_login_is_recorded_chained_filmed_and_sealed(
    tmp_path: Path, site: CaptureSite
) -> None:
    authority = tsa(tmp_path / "tsa")
    with session_settings(tmp_path, site, authority.authority) as settings:
        recorded = asyncio.run(run_script(settings, login_script(site)))
    directory = recorded.directory
    assert directory.stat().st_mode & 0o777 == 0o700
    assert not (directory / "proxy-conf" / "mitmproxy-ca.pem").exists()  # the CA key is gone
    assert not recorded.interrupted and recorded.video_error is None
    assert recorded.navigations[0] == site.url("/login")

    # The password is masked in the action log, and nowhere in it in clear.
    log = (directory / "capture" / "actions.jsonl").read_text(encoding="utf-8")
    assert PASSWORD not in log
    typed = [line["detail"] for line in action_lines(directory) if line["kind"] == "type"]
    assert typed == [{"text": "alice", "masked": False}, {"text": MASK, "masked": True}]

    # The WARC holds exactly what the site served: the form, the page after login, the PDF.
    records = read_warc(recorded.warcs[0].source)
    for path in ("/login", "/", "/doc.pdf"):
        answers = [r for r in responses(records, site.url(path)) if b" 200 " in r.http_head]
        assert answers and all(r.payload in site.bodies(path) for r in answers), path
    posted = [r.payload for r in records if r.kind == "request" and b"POST" in r.http_head]
    assert posted == site.bodies("POST /login")  # what the form sent, as the site got it
    assert pdf_bytes() in [r.payload for r in responses(records, site.url("/doc.pdf"))]
    original = recorded.file("originals/original-0001.pdf")
    assert original.sha256 == hashlib.sha256(pdf_bytes()).hexdigest()

    _check_chain(recorded, authority.root)
    _check_video(recorded)
    _check_package(recorded)


def _check_chain(recorded: RecordedSession, root: object) -> None:
    entries = list(read_chain(recorded.chain_path))
    report = verify_chain(entries, [root])  # type: ignore[list-item]
    assert (report.length, report.head) == (recorded.chain_length, recorded.chain_head)
    assert report.sealed and len(report.stamps) >= 2  # an interval stamp and the final one
    assert entries[0].kind == "preflight" and entries[0].ref == "capture/preflight.jcs"
    assert entries[0].sha256 == recorded.preflight_sha256
    by_ref = {entry.ref: entry for entry in entries}
    for item in (*recorded.warcs, *recorded.files):
        assert by_ref[item.path].sha256 == item.sha256, item.path
    actions = [entry for entry in entries if entry.kind == "action" and "#" in (entry.ref or "")]
    lines = (recorded.directory / "capture" / "actions.jsonl").read_bytes().splitlines(True)
    assert [e.sha256 for e in actions] == [hashlib.sha256(line).hexdigest() for line in lines]


def _check_video(recorded: RecordedSession) -> None:
    facts = probe_video(recorded.file("video/session.webm").source)
    length = (recorded.ended_at - recorded.started_at).total_seconds()
    assert facts.codec == "vp8" and abs(facts.duration - length) < 1.5, (facts, length)


def _check_package(recorded: RecordedSession) -> None:
    package = seal_package(recorded, WaczSigner(NOTARY_KEY))
    report = verify_wacz(package, [NOTARY_KEY.public_key()])
    for path in ("capture/chain.jsonl", "video/session.webm", "originals/original-0001.pdf"):
        assert path in report.resources
    done = wacz_validate(package)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("script", "index", "why"),
    [
        ("- goto: https://a.example/\n- fly: away\n", 1, "not a step"),
        ("- goto: javascript:alert(1)\n", 0, "http and https"),
        ("- wait: 3600\n", 0, "between"),
        ("- screenshot\n- click: [1]\n", 1, "selector is text"),
        ("- type: {selector: input}\n", 0, "a selector and a text"),
        ("- key: F13\n", 0, "unknown key"),
        ("- note: hi\n  extra: 1\n", 0, "one `verb: argument` pair"),
        ("- snapshot: now\n", 0, "no argument"),
    ],
)
def test_a_bad_step_is_refused_naming_its_index(script: str, index: int, why: str) -> None:
    with pytest.raises(InvalidCaptureStep, match=why) as refused:
        parse_steps(script)
    assert refused.value.index == index and refused.value.status_code == 422


@pytest.mark.parametrize(
    ("script", "why"),
    [
        ("not: a list\n", "non-empty list"),
        ("- [unclosed\n", "not YAML"),
        # Forged: a Python object tag is refused by safe_load, never constructed.
        ("- !!python/object/apply:os.system [touch /tmp/pwned]\n", "not YAML"),
        ("- wait: 10\n" * 51, "at most 50 steps"),
        ("- wait: 10\n" * 4, "add up to more than 30"),
        ("- note: " + "x" * 70_000 + "\n", "at most 65536 bytes"),
    ],
)
def test_a_script_over_its_budget_is_refused(script: str, why: str) -> None:
    with pytest.raises(InvalidCaptureStep, match=why):
        parse_steps(script, StepLimits(max_total_seconds=30))


def test_a_bad_step_refuses_the_script_before_anything_runs(
    tmp_path: Path, site: CaptureSite
) -> None:
    served = len(site.served)
    authority = tsa(tmp_path / "tsa")
    script = login_script(site) + "- rm: -rf /\n"
    with session_settings(tmp_path, site, authority.authority) as settings:
        with pytest.raises(InvalidCaptureStep, match="step 9"):
            asyncio.run(run_script(settings, script))
        assert not settings.directory.exists()  # no session, no proxy, no browser
    assert len(site.served) == served


def test_a_failing_step_ends_the_session_and_keeps_its_record(
    tmp_path: Path, site: CaptureSite
) -> None:
    authority = tsa(tmp_path / "tsa")
    script = f"- goto: {site.url('/login')}\n- click: '#nothing-here'\n- screenshot\n"
    with (
        session_settings(tmp_path, site, authority.authority) as settings,
        pytest.raises(CaptureStepFailed, match=r"step 1 \(click\): nothing") as failed,
    ):
        asyncio.run(run_script(settings, script))
    recorded = failed.value.recorded
    assert isinstance(recorded, RecordedSession) and recorded.navigations
    assert not any(item.kind == "screenshot" for item in recorded.files)  # step 2 never ran
    assert verify_chain(read_chain(recorded.chain_path), [authority.root]).sealed
