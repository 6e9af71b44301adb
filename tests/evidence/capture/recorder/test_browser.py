"""A headless Chromium through the recording proxy, trusting the session CA alone (issue 15):
the page and the subresources it loads are in the WARC as the site served them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from evidence.capture.recorder.process import MitmRecorder
from testkit.capture_site import CaptureSite
from tests.evidence.capture.recorder.warc_reading import read_warc, responses

CHROMIUM = Path("/usr/bin/chromium")


def test_chromium_records_the_page_and_what_it_loads(
    tmp_path: Path, recorder: MitmRecorder, site: CaptureSite
) -> None:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: `make debs-test` installs Debian's chromium")
    page = site.url("/", host="localhost")
    arguments = [
        "--headless=new",
        "--no-sandbox",  # root in CI
        "--disable-gpu",
        f"--user-data-dir={tmp_path / 'profile'}",  # the SPKI list is honoured only with one
        f"--proxy-server={recorder.proxy_url}",
        "--proxy-bypass-list=<-loopback>",  # Chromium never proxies loopback otherwise
        f"--ignore-certificate-errors-spki-list={recorder.session_ca.spki_sha256_base64}",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--virtual-time-budget=3000",
        "--dump-dom",
        page,
    ]
    done = subprocess.run([str(CHROMIUM), *arguments], capture_output=True, timeout=60)
    assert b"Text to capture." in done.stdout, done.stderr[-2000:]
    records = read_warc(recorder.warc_path)
    for path in ("/", "/image.png"):
        recorded = [r.body for r in responses(records, site.url(path, host="localhost"))]
        assert recorded and all(body in site.bodies(path) for body in recorded), path
    assert [e for e in recorder.events() if e.facts.get("port") == site.port] == []
