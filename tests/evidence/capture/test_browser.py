"""The capture browser against a real Chromium and a real page on loopback (direct, no
recording proxy: the ``direct_for_tests`` setting). One browser per test."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import struct
import time
from pathlib import Path

import pytest

from evidence.capture.browser import EXITED, CaptureBrowser
from evidence.capture.browser_errors import (
    InvalidCaptureInput,
    InvalidCaptureSettings,
    SessionEnded,
    SessionsFull,
)
from evidence.capture.launch import BrowserSettings, browser_flags
from evidence.capture.page_input import MASK
from evidence.capture.session_limits import IDLE, MAX_DURATION, SessionSlots
from evidence.capture.video import VideoWriter, probe_video
from tests.evidence.capture.browser_support import (
    ORIGINAL,
    PASSWORD,
    direct_settings,
    preflight_inputs,
    sign_in_site,
)

# The address bar takes no script.
SCRIPT_URL = "javascript:void 0"


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


async def _launch(tmp_path: Path, origin: str, **settings: object) -> CaptureBrowser:
    return await CaptureBrowser.launch(
        direct_settings(tmp_path / "profiles", **settings),
        preflight_inputs(tmp_path / "tsa", origin),
    )


@pytest.fixture
def profiles(tmp_path: Path) -> Path:
    (tmp_path / "profiles").mkdir()
    (tmp_path / "tsa").mkdir()
    return tmp_path / "profiles"


def test_a_session_records_the_page_and_masks_the_password(tmp_path: Path, profiles: Path) -> None:
    async def session(origin: str) -> CaptureBrowser:
        browser = await _launch(tmp_path, origin)
        assert browser.preflight is not None and not browser.preflight.failed
        assert Path(browser.profile).parent == profiles
        assert await browser.navigate(f"{origin}/") == f"{origin}/"
        await browser.click(100, 95)  # the user name field
        await browser.type_text("alice")
        await browser.click(100, 145)  # the password field
        await browser.type_text(PASSWORD)
        await browser.key("x")
        await browser.key("Tab")
        (tmp_path / "viewport.png").write_bytes(await browser.screenshot())
        (tmp_path / "full.png").write_bytes(await browser.screenshot(full_page=True))
        (tmp_path / "page.mhtml").write_bytes(await browser.mhtml())
        saved = await browser.save_resource(f"{origin}/original.bin", tmp_path / "original.bin")
        assert (saved.status, saved.size) == (200, len(ORIGINAL))
        assert saved.sha256 == hashlib.sha256(ORIGINAL).hexdigest()
        await browser.scroll(100, 100, 0, 400)
        await browser.close()
        return browser

    with sign_in_site() as origin:
        browser = asyncio.run(session(origin))

    typed = [action.detail for action in browser.actions if action.kind == "type"]
    assert typed == [
        {"text": "alice", "masked": False},
        {"text": MASK, "masked": True},
        {"text": MASK, "masked": True},
    ]
    assert "mask_style" in [action.kind for action in browser.actions]
    assert PASSWORD not in repr(browser.actions)
    assert png_size((tmp_path / "viewport.png").read_bytes()) == (1280, 800)
    width, height = png_size((tmp_path / "full.png").read_bytes())
    assert 1200 < width <= 1280 and height > 3000  # the content, less the scroll bar
    mhtml = (tmp_path / "page.mhtml").read_bytes()
    assert b"Terms of the notarised contract" in mhtml and PASSWORD.encode() not in mhtml
    # The end: the browser is gone, so is its profile, and the session says why.
    assert browser.ended == "closed" and not Path(browser.profile).exists()
    assert list(profiles.iterdir()) == []
    assert browser.actions[-1].kind == "session_ended"
    with pytest.raises(SessionEnded):
        asyncio.run(browser.navigate("http://127.0.0.1/"))


def test_a_page_cannot_lie_about_the_focused_field(tmp_path: Path, profiles: Path) -> None:
    """The page redefines document.activeElement to name the user field; the password
    typed is masked anyway (the question is asked in an isolated world)."""
    liar = (
        "Object.defineProperty(Document.prototype,'activeElement',"
        "{get(){return document.getElementById('user')}})"
    )

    async def session(origin: str) -> list[dict[str, object]]:
        browser = await _launch(tmp_path, origin)
        try:
            await browser.navigate(f"{origin}/")
            await browser._send("Runtime.evaluate", {"expression": liar})  # the page's own JS
            await browser.click(100, 145)
            await browser.type_text(PASSWORD)
            with pytest.raises(InvalidCaptureInput):
                await browser.navigate("file:///etc/passwd")
            with pytest.raises(InvalidCaptureInput):
                await browser.navigate(SCRIPT_URL)
            with pytest.raises(InvalidCaptureInput):
                await browser.click(5000, 10)
            with pytest.raises(InvalidCaptureInput):
                await browser.key("PrintScreenAndLeak")
        finally:
            await browser.close()
        return [action.detail for action in browser.actions if action.kind == "type"]

    with sign_in_site() as origin:
        assert asyncio.run(session(origin)) == [{"text": MASK, "masked": True}]


def test_the_screencast_runs_at_five_frames_a_second_and_becomes_a_video(
    tmp_path: Path, profiles: Path
) -> None:
    async def session(origin: str) -> tuple[int, float, Path]:
        browser = await _launch(tmp_path, origin)
        writer = VideoWriter(tmp_path / "session.webm", width=1280, height=800)
        count = 0
        try:
            await browser.navigate(f"{origin}/")
            started = time.time()
            async for frame in browser.frames():
                await writer.add(frame.jpeg, frame.timestamp)
                count += 1
                if time.time() - started >= 2.0:
                    break
            ended = time.time()
            await writer.finish(ended)
            return count, ended - started, writer.path
        finally:
            await browser.close()

    with sign_in_site() as origin:
        count, elapsed, video = asyncio.run(session(origin))
    assert count / elapsed >= 5, f"{count} frames in {elapsed:.2f} s"
    facts = probe_video(video)
    assert facts.codec == "vp8" and (facts.width, facts.height) == (1280, 800)
    assert abs(facts.duration - elapsed) < 0.3, (facts.duration, elapsed)
    assert facts.sha256 == hashlib.sha256(video.read_bytes()).hexdigest()


def test_the_session_cap_refuses_the_next_one(tmp_path: Path, profiles: Path) -> None:
    slots = SessionSlots(1)

    async def sessions(origin: str) -> None:
        settings = direct_settings(profiles)
        inputs = preflight_inputs(tmp_path / "tsa", origin)
        first = await CaptureBrowser.launch(settings, inputs, slots)
        try:
            with pytest.raises(SessionsFull, match="all 1 capture sessions are in use") as refused:
                await CaptureBrowser.launch(settings, inputs, slots)
            assert refused.value.status_code == 503 and refused.value.headers["Retry-After"]
            assert len(list(profiles.iterdir())) == 1  # the refused one made nothing
        finally:
            await first.close()
        assert slots.in_use == 0

    with sign_in_site() as origin:
        asyncio.run(sessions(origin))


def test_an_idle_session_ends_itself(tmp_path: Path, profiles: Path) -> None:
    async def session(origin: str) -> CaptureBrowser:
        browser = await _launch(tmp_path, origin, idle_timeout=0.8)
        await browser.navigate(f"{origin}/still")
        await asyncio.sleep(1.5)
        return browser

    with sign_in_site() as origin:
        browser = asyncio.run(session(origin))
    assert browser.ended == IDLE and not Path(browser.profile).exists()
    assert browser.actions[-1].detail == {"reason": IDLE}


def test_a_browser_that_dies_ends_its_session(tmp_path: Path, profiles: Path) -> None:
    async def session(origin: str) -> CaptureBrowser:
        browser = await _launch(tmp_path, origin)
        os.killpg(browser._process.pid, signal.SIGKILL)  # as the OOM killer would
        for _ in range(50):
            if browser.ended is not None:
                break
            await asyncio.sleep(0.1)
        await browser.close()
        return browser

    with sign_in_site() as origin:
        browser = asyncio.run(session(origin))
    assert browser.ended == EXITED and not Path(browser.profile).exists()
    assert browser.actions[-1].detail == {"reason": EXITED}


def test_a_busy_session_still_ends_at_its_maximum_duration(tmp_path: Path, profiles: Path) -> None:
    async def session(origin: str) -> CaptureBrowser:
        browser = await _launch(tmp_path, origin, idle_timeout=0.5, max_duration=1.2)
        with pytest.raises(SessionEnded, match="maximum duration"):
            for _ in range(20):
                await browser.move(10, 10)  # a user action each 0.2 s: never idle
                await asyncio.sleep(0.2)
        # The timer's close has begun (actions are refused) but may still be killing the
        # browser: close() waits for it, as every owner of a session does.
        await browser.close()
        return browser

    with sign_in_site() as origin:
        browser = asyncio.run(session(origin))
    assert browser.ended == MAX_DURATION and not Path(browser.profile).exists()


def test_a_browser_without_its_proxy_is_refused() -> None:
    with pytest.raises(InvalidCaptureSettings, match="recording proxy"):
        BrowserSettings()
    with pytest.raises(InvalidCaptureSettings, match="SPKI"):
        BrowserSettings(proxy="http://127.0.0.1:8080")


def test_the_proxied_flags_send_everything_through_the_proxy(tmp_path: Path) -> None:
    settings = BrowserSettings(proxy="http://127.0.0.1:8080", session_ca_spki="c3BraQ==")
    flags = browser_flags(settings, tmp_path)
    assert "--proxy-server=http://127.0.0.1:8080" in flags
    assert "--proxy-bypass-list=<-loopback>" in flags  # not even loopback bypasses it
    assert "--ignore-certificate-errors-spki-list=c3BraQ==" in flags
    assert "--no-proxy-server" not in flags and "--disable-extensions" in flags
    assert not [flag for flag in flags if "load-extension" in flag]
