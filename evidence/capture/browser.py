"""One capture session's browser (issue 15, "Each session gets a fresh headless Chromium"):
a new empty profile, fixed flags, locale and time zone, the recording proxy, the
pre-flight report before anyone sees a page, and the profile destroyed at the end.

Why raw CDP over a pipe (:mod:`evidence.capture.cdp`) and not Playwright for Python:
Playwright drives the browser through its own Node.js driver process, which would relay
every screencast frame (the live view and the video, several per second per session on a
2-core machine) a second time; it adds default switches of its own to the command line,
which the pre-flight must then name and trust; and its features beyond the handful of CDP
commands used here (selectors, auto-waiting, several engines) serve tests, not a recorder.
With the pipe, the command line is exactly :func:`~evidence.capture.launch.browser_flags`,
each frame crosses one process boundary, and no other local process can reach the
browser. Playwright stays a test dependency.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import signal
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from evidence.capture.browser_errors import (
    BrowserFailed,
    InvalidCaptureInput,
    SessionEnded,
)
from evidence.capture.cdp import CdpConnection, JsonObject, start_browser_process
from evidence.capture.launch import (
    BrowserSettings,
    browser_environment,
    browser_flags,
    make_profile,
    remove_profile,
)
from evidence.capture.page_input import (
    MASK,
    element_center,
    focused_is_secret,
    key_events,
    mouse_events,
)
from evidence.capture.preflight import (
    PreflightInputs,
    PreflightReport,
    browser_checks,
    host_checks,
)
from evidence.capture.resources import SavedResource, fetch_resource
from evidence.capture.session_limits import SessionClock, SessionSlot, SessionSlots

__all__ = ["Action", "CaptureBrowser", "Frame"]

_MAX_FULL_PAGE_HEIGHT = 16384  # CSS pixels: Chromium's own texture limit
_SCREENCAST_ATTEMPTS = 20  # two seconds at most
_DETACHED = "Not attached to an active page"
EXITED = "the browser exited"


@dataclass(frozen=True)
class Action:
    """One line of the session's action log."""

    at: str
    kind: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Frame:
    """A screencast frame: JPEG bytes and the time the browser drew it (Unix seconds)."""

    jpeg: bytes
    timestamp: float
    width: int
    height: int


class CaptureBrowser:
    """Use :meth:`launch`; every method raises :class:`SessionEnded` once it is over."""

    def __init__(
        self,
        settings: BrowserSettings,
        process: asyncio.subprocess.Process,
        cdp: CdpConnection,
        profile: Path,
        slot: SessionSlot | None,
    ) -> None:
        self.settings = settings
        self.profile = profile
        self.actions: list[Action] = []
        self.preflight: PreflightReport | None = None
        self.ended: str | None = None
        self.user_agent = ""
        self._process = process
        self._cdp = cdp
        self._slot = slot
        self._page = ""
        self._open_queues: list[asyncio.Queue[JsonObject]] = []  # woken at the end
        self._clock = SessionClock(settings.idle_timeout, settings.max_duration, self.close)
        self._closed = asyncio.Event()
        self._watcher: asyncio.Task[None] | None = None

    @classmethod
    async def launch(
        cls,
        settings: BrowserSettings,
        preflight: PreflightInputs,
        slots: SessionSlots | None = None,
    ) -> CaptureBrowser:
        """Take a slot, check the host, start the browser, check it, open its page.

        A failed check raises :class:`PreflightFailed` (the report on it) and leaves
        nothing behind: no process, no profile, no slot."""
        slot = slots.take() if slots is not None else None
        profile = None
        try:
            profile = make_profile(settings.profile_parent)
            checks = await asyncio.to_thread(host_checks, preflight, settings.chromium, profile)
            PreflightReport(tuple(checks)).raise_if_failed()
            flags = browser_flags(settings, profile)
            process, cdp = await start_browser_process(
                Path(checks[0].value["elf"]), flags, browser_environment(settings, profile)
            )
        except BaseException:
            if profile is not None:
                remove_profile(profile)
            if slot is not None:
                slot.release()
            raise
        browser = cls(settings, process, cdp, profile, slot)
        try:
            async with asyncio.timeout(settings.load_timeout):  # a wedged browser, refused
                version = await cdp.send("Browser.getVersion")
                arguments = (await cdp.send("Browser.getBrowserCommandLine"))["arguments"]
                cli_version = checks[0].value["version"]
                more = browser_checks(
                    preflight, version, cli_version, arguments, flags, settings.proxy
                )
                browser.preflight = PreflightReport(tuple(checks + more))
                browser.preflight.raise_if_failed()
                browser.user_agent = version.get("userAgent", "")
                await browser._open_page()
        except BaseException as error:
            await browser.close("refused before start")
            if isinstance(error, TimeoutError):
                raise BrowserFailed("the browser did not answer in time") from error
            raise
        browser._log("session_started", preflight_sha256=browser.preflight.sha256())
        browser._clock.start()
        browser._watcher = asyncio.get_running_loop().create_task(browser._watch_process())
        return browser

    async def _watch_process(self) -> None:
        """A browser that dies (a crash, an out-of-memory kill) ends its session too."""
        await self._process.wait()
        if self.ended is None:
            await self.close(EXITED)

    async def _open_page(self) -> None:
        targets = (await self._cdp.send("Target.getTargets"))["targetInfos"]
        pages = [target["targetId"] for target in targets if target["type"] == "page"]
        if not pages:
            created = await self._cdp.send("Target.createTarget", {"url": "about:blank"})
            pages = [created["targetId"]]
        attached = await self._cdp.send(
            "Target.attachToTarget", {"targetId": pages[0], "flatten": True}
        )
        self._page = attached["sessionId"]
        s = self.settings
        for method, params in (
            ("Page.enable", {}),
            ("Emulation.setTimezoneOverride", {"timezoneId": s.timezone}),
            ("Emulation.setLocaleOverride", {"locale": s.lang}),
            (
                "Emulation.setDeviceMetricsOverride",
                {"width": s.width, "height": s.height, "deviceScaleFactor": 1, "mobile": False},
            ),
        ):
            await self._cdp.send(method, params, session=self._page)

    # -- the action log and the session's life ---------------------------------------------
    def _log(self, kind: str, **detail: Any) -> None:
        self.actions.append(Action(datetime.now(UTC).isoformat(), kind, detail))

    def _alive(self) -> None:
        if self.ended is not None:
            raise SessionEnded(f"the capture session has ended: {self.ended}")
        if self._cdp.closed is not None:
            raise SessionEnded(f"the capture browser is gone: {self._cdp.closed}")

    async def _send(self, method: str, params: JsonObject | None = None) -> JsonObject:
        self._alive()
        return await self._cdp.send(method, params, session=self._page)

    def _user_action(self, kind: str, **detail: Any) -> None:
        self._alive()
        self._clock.touch()
        self._log(kind, **detail)

    # -- what the user does ------------------------------------------------------------------
    async def navigate(self, url: str) -> str:
        """Go to ``url`` (http or https only) and wait for its load event; the final URL."""
        if urlsplit(url).scheme not in ("http", "https"):
            raise InvalidCaptureInput("the address bar takes http and https addresses only")
        self._user_action("navigate", url=url)
        loaded = self._cdp.subscribe("Page.loadEventFired", self._page)
        try:
            answer = await self._send("Page.navigate", {"url": url})
            if "errorText" in answer:
                raise BrowserFailed(f"{url} did not load: {answer['errorText']}")
            try:
                await asyncio.wait_for(loaded.get(), self.settings.load_timeout)
            except TimeoutError:
                self._log("load_timeout", url=url)
        finally:
            self._cdp.unsubscribe("Page.loadEventFired", self._page, loaded)
        tree = await self._send("Page.getFrameTree")
        final: str = tree["frameTree"]["frame"]["url"]
        self._log("loaded", url=final)
        return final

    async def click(self, x: float, y: float, button: str = "left") -> None:
        events = mouse_events(x, y, button, self.settings.width, self.settings.height)
        self._user_action("click", x=x, y=y, button=button)
        for event in events:
            await self._send("Input.dispatchMouseEvent", event)

    async def click_selector(self, selector: str) -> tuple[float, float]:
        """Click the first element matching the CSS ``selector``; where it was clicked."""
        self._alive()
        x, y = await element_center(self._cdp, self._page, selector)
        self._log("located", selector=selector, x=x, y=y)
        await self.click(x, y)
        return x, y

    async def move(self, x: float, y: float) -> None:
        mouse_events(x, y, "left", self.settings.width, self.settings.height)  # bounds check
        self._clock.touch()
        await self._send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x, "y": y})

    async def scroll(self, x: float, y: float, delta_x: float, delta_y: float) -> None:
        mouse_events(x, y, "left", self.settings.width, self.settings.height)  # bounds check
        self._user_action("scroll", x=x, y=y, delta_x=delta_x, delta_y=delta_y)
        wheel = {"type": "mouseWheel", "x": x, "y": y, "deltaX": delta_x, "deltaY": delta_y}
        await self._send("Input.dispatchMouseEvent", wheel)

    async def key(self, key: str) -> None:
        """A named key (Enter, Tab, Backspace, arrows...); a single character is typed."""
        if len(key) == 1:
            await self.type_text(key)
            return
        events = key_events(key)
        self._user_action("key", key=key)
        for event in events:
            await self._send("Input.dispatchKeyEvent", event)

    async def type_text(self, text: str) -> None:
        """Type ``text`` into the focused element; in a password field the log says •••."""
        self._alive()
        secret, styled = await focused_is_secret(self._cdp, self._page)
        if styled:
            self._log("mask_style", reason="a password field was typed into")
        self._user_action("type", text=MASK if secret else text, masked=secret)
        await self._send("Input.insertText", {"text": text})

    # -- what the session records -------------------------------------------------------------
    async def screenshot(self, *, full_page: bool = False) -> bytes:
        """A PNG of the viewport, or of the whole page (up to 16384 CSS pixels high)."""
        params: JsonObject = {"format": "png"}
        if full_page:
            size = (await self._send("Page.getLayoutMetrics"))["cssContentSize"]
            height = min(size["height"], _MAX_FULL_PAGE_HEIGHT)
            clip = {"x": 0, "y": 0, "width": size["width"], "height": height, "scale": 1}
            params |= {"captureBeyondViewport": True, "clip": clip}
        self._log("screenshot", full_page=full_page)
        return base64.b64decode((await self._send("Page.captureScreenshot", params))["data"])

    async def mhtml(self) -> bytes:
        """The page as an MHTML snapshot (``Page.captureSnapshot``)."""
        self._log("mhtml_snapshot")
        snapshot = await self._send("Page.captureSnapshot", {"format": "mhtml"})
        data: str = snapshot["data"]
        return data.encode()

    async def frames(self) -> AsyncIterator[Frame]:
        """Screencast frames as the browser draws them, each acknowledged once taken and
        no sooner than ``screencast_max_fps`` allows (so a slow reader slows the browser
        down instead of piling frames up, and a busy page costs at most that many frames);
        the iteration ends with the session. One reader at a time."""
        s = self.settings
        interval = 1.0 / s.screencast_max_fps
        queue = self._cdp.subscribe("Page.screencastFrame", self._page)
        self._open_queues.append(queue)
        try:
            await self._start_screencast(
                {"format": "jpeg", "quality": s.screencast_quality, "maxWidth": s.width}
                | {"maxHeight": s.height, "everyNthFrame": 1}
            )
            while (params := await queue.get()) and self.ended is None:
                received = time.monotonic()
                meta = params["metadata"]
                yield Frame(
                    base64.b64decode(params["data"]),
                    float(meta.get("timestamp", datetime.now(UTC).timestamp())),
                    int(meta["deviceWidth"]),
                    int(meta["deviceHeight"]),
                )
                await asyncio.sleep(max(0.0, received + interval - time.monotonic()))
                if self.ended is None:
                    await self._send("Page.screencastFrameAck", {"sessionId": params["sessionId"]})
        finally:
            self._open_queues.remove(queue)
            self._cdp.unsubscribe("Page.screencastFrame", self._page, queue)
            if self.ended is None:
                with contextlib.suppress(BrowserFailed):
                    await self._cdp.send("Page.stopScreencast", session=self._page)

    async def _start_screencast(self, params: JsonObject) -> None:
        """Asked again while the page is between two documents: a tab just started may
        swap its first document late (under load), and Chromium answers "Not attached to
        an active page" meanwhile, which used to refuse a session at its start."""
        for attempt in range(_SCREENCAST_ATTEMPTS):
            try:
                await self._send("Page.startScreencast", params)
                return
            except BrowserFailed as error:
                if _DETACHED not in error.message or attempt + 1 == _SCREENCAST_ATTEMPTS:
                    raise
            await asyncio.sleep(0.1)

    async def main_frame_urls(self) -> AsyncIterator[str]:
        """The address of each document the main frame commits to (a link followed, a form
        sent, a redirect), as it happens; the iteration ends with the session."""
        queue = self._cdp.subscribe("Page.frameNavigated", self._page)
        self._open_queues.append(queue)
        try:
            while (params := await queue.get()) and self.ended is None:
                frame = params.get("frame", {})
                if "parentId" not in frame and isinstance(frame.get("url"), str):
                    yield frame["url"]
        finally:
            self._open_queues.remove(queue)
            self._cdp.unsubscribe("Page.frameNavigated", self._page, queue)

    async def save_resource(self, url: str, destination: Path) -> SavedResource:
        """The original bytes of ``url``, fetched through the session's proxy (so recorded
        like the page) with the browser's User-Agent, streamed into ``destination``."""
        self._user_action("save_resource", url=url)
        saved = await fetch_resource(url, destination, self.settings, self.user_agent)
        self._log("saved_resource", url=url, sha256=saved.sha256, size=saved.size)
        return saved

    # -- the end ---------------------------------------------------------------------------
    async def wait_closed(self) -> str:
        """Until the browser is closed (by the session's end, its own clock, or its
        death): why."""
        await self._closed.wait()
        return self.ended or EXITED

    async def close(self, reason: str = "closed") -> None:
        """End the session: the browser killed, its profile deleted (and checked gone), the
        slot given back. Idempotent; the first reason is the one recorded."""
        if self.ended is not None:
            await self._closed.wait()
            return
        self.ended = reason
        await self._clock.stop()
        if self._watcher is not None and self._watcher is not asyncio.current_task():
            self._watcher.cancel()
        for queue in self._open_queues:
            queue.put_nowait({})
        with contextlib.suppress(BrowserFailed, TimeoutError):
            await asyncio.wait_for(self._cdp.send("Browser.close"), 2)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._process.pid, signal.SIGKILL)  # its helpers share its group
        await self._process.wait()
        await self._cdp.close()
        try:
            remove_profile(self.profile)
        finally:
            if self._slot is not None:
                self._slot.release()
            self._log("session_ended", reason=reason)
            self._closed.set()
