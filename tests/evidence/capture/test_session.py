"""A capture session driven action by action through the real recording proxy and a real
Chromium: a private address refused by the proxy and in its event log, every action and
item chained as it happens, the end refused twice, a browser that ends on its own marked
interrupted, and a file altered after it was chained refused at sealing."""

from __future__ import annotations

import asyncio
import hashlib
import json
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from evidence.capture.browser_errors import SessionEnded
from evidence.capture.chain_verify import verify_chain
from evidence.capture.errors import CaptureChainBroken, CaptureStateConflict, InvalidCaptureItem
from evidence.capture.hash_chain import read_chain
from evidence.capture.session import (
    CaptureSession,
    RecordedSession,
    SessionSettings,
    seal_package,
)
from evidence.capture.wacz_signing import WaczSigner
from evidence.capture.wacz_verify import verify_wacz
from testkit.capture_site import CaptureSite, serve_capture_site
from tests.evidence.capture.capture_support import wacz_validate
from tests.evidence.capture.recorder.warc_reading import read_warc
from tests.evidence.capture.session_support import action_lines, session_settings, tsa

NOTARY_KEY = ec.generate_private_key(ec.SECP384R1())
PRIVATE = "http://10.255.255.1/"


@pytest.fixture(scope="module")
def site() -> Iterator[CaptureSite]:
    with serve_capture_site() as served:
        yield served


async def _drive(session: CaptureSession, site: CaptureSite) -> RecordedSession:
    with pytest.raises(InvalidCaptureItem):
        await session.note("")
    # The proxy answers for the refused address itself; the browser shows its error page.
    assert await session.navigate(PRIVATE) == PRIVATE
    assert await session.navigate(site.url("/")) == site.url("/")
    await session.click(10, 10)
    await session.key("Tab")
    await session.scroll(200)
    session.mark_clip("start", "the text")
    await session.screenshot(full_page=True)
    await session.snapshot()
    session.mark_clip("end")
    recorded = await session.end()
    with pytest.raises(CaptureStateConflict, match="has ended"):
        await session.end()
    with pytest.raises(CaptureStateConflict):
        await session.navigate(site.url("/"))
    return recorded


def test_each_action_is_chained_and_a_private_address_is_refused_by_the_proxy(
    tmp_path: Path, site: CaptureSite
) -> None:
    authority = tsa(tmp_path / "tsa")
    with session_settings(tmp_path, site, authority.authority) as settings:
        recorded = asyncio.run(_session(settings, site))
    events = (recorded.directory / "events.jsonl").read_text()
    assert "10.255.255.1" in events and "private_address" in events
    assert (
        recorded.file("capture/events.jsonl").sha256 == hashlib.sha256(events.encode()).hexdigest()
    )
    warc = read_warc(recorded.warcs[0].source)
    assert not [r for r in warc if "10.255.255.1" in r.uri and r.kind == "response"]
    kinds = [line["kind"] for line in action_lines(recorded.directory)]
    for kind in ("navigate", "click", "key", "scroll", "clip_start", "clip_end", "session_ended"):
        assert kind in kinds, kind
    assert kinds.index("clip_start") < kinds.index("clip_end")
    entries = list(read_chain(recorded.chain_path))
    assert verify_chain(entries, [authority.root]).sealed
    # An action is chained before the items it causes, in the order it happened.
    refs = [entry.ref or "" for entry in entries]
    assert refs.index("screenshots/full-0001.png") < refs.index("snapshots/snapshot-0001.mhtml")
    assert refs[-2] == "capture/actions.jsonl"  # the whole log, then the final stamp
    assert entries[-1].kind == "timestamp"

    package = seal_package(recorded, WaczSigner(NOTARY_KEY), tmp_path / "capture.wacz")
    assert verify_wacz(package, [NOTARY_KEY.public_key()]).resources
    with zipfile.ZipFile(package) as wacz:
        pages = [json.loads(line) for line in wacz.read("pages/pages.jsonl").splitlines()[1:]]
    assert recorded.navigations[0] == PRIVATE  # navigated to, but nothing was recorded there
    assert [page["url"] for page in pages] == [site.url("/")]
    assert wacz_validate(package).returncode == 0

    # Tamper: a screenshot altered after it was chained is refused at sealing.
    shot = recorded.file("screenshots/full-0001.png")
    shot.source.write_bytes(shot.source.read_bytes() + b"\0")
    with pytest.raises(CaptureChainBroken, match="changed after chain entry") as refused:
        seal_package(recorded, WaczSigner(NOTARY_KEY), tmp_path / "forged.wacz")
    assert refused.value.seq == shot.chain_seq


async def _session(settings: SessionSettings, site: CaptureSite) -> RecordedSession:
    session = await CaptureSession.start(settings)
    async with session:
        return await _drive(session, site)


def test_a_browser_that_ends_on_its_own_leaves_an_interrupted_session(
    tmp_path: Path, site: CaptureSite
) -> None:
    authority = tsa(tmp_path / "tsa")

    async def run(settings: SessionSettings) -> RecordedSession:
        session = await CaptureSession.start(settings)
        await session.navigate(site.url("/"))
        await asyncio.sleep(2.5)  # past the maximum duration
        with pytest.raises(SessionEnded):
            await session.screenshot()
        return await session.end()

    with session_settings(tmp_path, site, authority.authority) as settings:
        assert settings.browser is not None
        browser = replace(settings.browser, max_duration=2.0)
        recorded = asyncio.run(run(replace(settings, browser=browser)))
    assert recorded.interrupted and recorded.interruption_reason is not None
    assert verify_chain(read_chain(recorded.chain_path), [authority.root]).sealed


def test_a_session_directory_that_exists_is_refused_before_anything_starts(
    tmp_path: Path, site: CaptureSite
) -> None:
    authority = tsa(tmp_path / "tsa")
    with session_settings(tmp_path, site, authority.authority) as settings:
        settings.directory.mkdir()
        (settings.directory / "chain.jsonl").write_bytes(b"someone else's\n")
        with pytest.raises(CaptureStateConflict, match="exists"):
            asyncio.run(CaptureSession.start(settings))
    assert (settings.directory / "chain.jsonl").read_bytes() == b"someone else's\n"
