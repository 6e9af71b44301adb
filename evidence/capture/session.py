"""One remote evidence capture session, end to end (issue 15): the recording proxy, the
browser through it, the pre-flight report, the user's actions, the video, the hash chain
and its stamps, and the end that hands a :class:`RecordedSession` to sealing.

Trust boundary: the notary witnesses only what passed through its own browser and its
own recording proxy in this session — the bytes the proxy received from the addresses it
resolved and vetted (the WARC), what that browser drew (screenshots, MHTML, video) and
what the user did in it (the action log). It does not witness what a site would serve
to anyone else, at another time, or from another network; nor who the site's operator
is beyond the TLS certificate the proxy validated.

Order (``docs/capture-hash-chain.md`` §1-§3): the chain's first item is the pre-flight
report; every item is appended the moment it is written (:mod:`.session_record`); a
:class:`Checkpointer` stamps the head every ``checkpoint_interval`` seconds; at the end
the WARC, the video, the proxy's event log and the whole action log are chained and the
head is stamped a last time, so nothing in the package postdates the final stamp but the
chain file itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import Any, Literal
from urllib.parse import urlsplit

from evidence.capture.browser import Action, CaptureBrowser, Frame
from evidence.capture.browser_errors import BrowserFailed, CaptureBrowserError
from evidence.capture.chain_checkpoints import Checkpointer
from evidence.capture.clips import ClipMarks, cut_marked
from evidence.capture.errors import CaptureStateConflict, InvalidCaptureItem
from evidence.capture.hash_chain import HashChain
from evidence.capture.recorder.process import MitmRecorder
from evidence.capture.session_package import seal_package
from evidence.capture.session_record import (
    ActionLog,
    RecordedFile,
    RecordedSession,
    SessionFiles,
)
from evidence.capture.session_settings import (
    SessionSettings,
    browser_settings,
    make_directory,
    recorder_settings,
)
from evidence.capture.video import VideoWriter, record_video

__all__ = ["CaptureSession", "FrameListener", "RecordedSession", "SessionSettings", "seal_package"]

log = logging.getLogger(__name__)
#: Called in the session's event loop with each screencast frame the video gets; it must
#: not block (the live page's viewer hands the frame to another loop and returns).
FrameListener = Callable[[Frame], None]

CHAIN_FILE = "chain.jsonl"
# RFC 8785 bytes, the ones the report's digest is over. Not ``.json``: `wacz validate`
# (frictionless) reads a JSON resource whose top level has ``checks`` as a "checklist"
# descriptor and fails the package.
PREFLIGHT_PATH = "capture/preflight.jcs"
VIDEO_PATH = "video/session.webm"
MAX_NOTE = 10_000
_EXTENSION = re.compile(r"[A-Za-z0-9]{1,8}\Z")


class CaptureSession:
    """Use :meth:`start`; every action after :meth:`end` raises :class:`CaptureStateConflict`."""

    def __init__(
        self,
        settings: SessionSettings,
        recorder: MitmRecorder,
        chain: HashChain,
        browser: CaptureBrowser,
    ) -> None:
        self.settings = settings
        self.recorder = recorder
        self.browser = browser
        self.files = SessionFiles(settings.directory, chain)
        self.actions = ActionLog(self.files)
        self.navigations: list[str] = []
        self.started_at = datetime.now(UTC)
        self._chain = chain
        self._seen = 0
        self._clips = ClipMarks()
        self._ended = False
        self._checkpointer = Checkpointer(
            chain, settings.authority, interval=settings.checkpoint_interval
        )
        assert browser.preflight is not None  # launch() refuses a session without one
        self.preflight_sha256 = browser.preflight.sha256()
        self._video_writer = VideoWriter(
            self.files.source(VIDEO_PATH),
            width=browser.settings.width,
            height=browser.settings.height,
        )
        self._video: asyncio.Task[Path] | None = None
        self._frame_listeners: list[FrameListener] = []

    @classmethod
    async def start(cls, settings: SessionSettings) -> CaptureSession:
        """The recorder, then the browser through it (its pre-flight refusing a dirty host),
        then the pre-flight report as the chain's first item, the stamps and the video."""
        make_directory(settings.directory)
        recorder = MitmRecorder(recorder_settings(settings))
        await asyncio.to_thread(recorder.start)
        chain: HashChain | None = None
        try:
            chain = HashChain.open(settings.directory / CHAIN_FILE)
            browser = await CaptureBrowser.launch(
                browser_settings(settings, recorder), settings.preflight, settings.slots
            )
        except BaseException:
            if chain is not None:
                chain.close()
            await asyncio.to_thread(recorder.stop)
            raise
        try:
            session = cls(settings, recorder, chain, browser)
            assert browser.preflight is not None
            session.files.write(PREFLIGHT_PATH, "preflight", browser.preflight.canonical())
            session._drain()
        except BaseException:
            await browser.close("refused before start")
            chain.close()
            await asyncio.to_thread(recorder.stop)
            raise
        session._checkpointer.start()
        try:
            await session._start_video()
        except BaseException:
            await session.end("refused before start: the video did not start")
            raise
        return session

    async def _start_video(self) -> None:
        """The screencast running before the first action: a navigation started while
        ``Page.startScreencast`` is in flight can detach it ("Not attached to an active
        page"), so the first frame (the blank page) is awaited."""
        first = asyncio.Event()

        async def frames() -> AsyncIterator[Frame]:
            async for frame in self.browser.frames():
                first.set()
                self._tee(frame)
                yield frame

        self._video = asyncio.get_running_loop().create_task(
            record_video(frames(), self._video_writer)
        )
        waiting = asyncio.ensure_future(first.wait())
        await asyncio.wait(
            {waiting, self._video},
            timeout=self.browser.settings.load_timeout,
            return_when=asyncio.FIRST_COMPLETED,
        )
        waiting.cancel()
        if self._video.done():
            self._video.result()  # the reason it failed, raised

    def add_frame_listener(self, listener: FrameListener) -> None:
        """Also hand each frame the video gets to ``listener`` (the live page): one
        screencast feeds both, so what the person saw is what the video holds."""
        self._frame_listeners.append(listener)

    def remove_frame_listener(self, listener: FrameListener) -> None:
        with contextlib.suppress(ValueError):
            self._frame_listeners.remove(listener)

    def _tee(self, frame: Frame) -> None:
        for listener in tuple(self._frame_listeners):
            try:
                listener(frame)
            except Exception:  # a viewer's failure never costs the video a frame
                log.exception("a frame listener failed")

    # -- the action log -----------------------------------------------------------------
    def _drain(self) -> None:
        """The browser's new action lines (masked by it) into the chained action log."""
        for action in self.browser.actions[self._seen :]:
            self.actions.write(action)
        self._seen = len(self.browser.actions)

    def _log(self, kind: str, **detail: Any) -> None:
        self._drain()
        self.actions.write(Action(datetime.now(UTC).isoformat(), kind, detail))

    def _open(self) -> None:
        if self._ended:
            raise CaptureStateConflict("the capture session has ended")

    def _item(self, item: RecordedFile) -> RecordedFile:
        self._log("item", path=item.path, sha256=item.sha256, chain_seq=item.chain_seq)
        return item

    # -- what the user does --------------------------------------------------------------
    async def navigate(self, url: str) -> str:
        """Go to ``url``; its final URL (after redirects), a page of the package."""
        self._open()
        try:
            final = await self.browser.navigate(url)
        except BrowserFailed as error:
            self._log("navigate_failed", url=url, reason=error.message)
            raise
        self.navigations.append(final)
        self._drain()
        return final

    async def click(self, x: float, y: float, button: str = "left") -> None:
        self._open()
        try:
            await self.browser.click(x, y, button)
        finally:
            self._drain()

    async def click_selector(self, selector: str) -> None:
        self._open()
        try:
            await self.browser.click_selector(selector)
        finally:
            self._drain()

    async def type_text(self, text: str, selector: str | None = None) -> None:
        """Type into ``selector`` (clicked first) or the focused element; the browser masks
        what goes into a password field before the log sees it."""
        self._open()
        try:
            if selector is not None:
                await self.browser.click_selector(selector)
            await self.browser.type_text(text)
        finally:
            self._drain()

    async def key(self, key: str) -> None:
        self._open()
        try:
            await self.browser.key(key)
        finally:
            self._drain()

    async def scroll(self, delta_y: float, x: float | None = None, y: float | None = None) -> None:
        self._open()
        s = self.browser.settings
        at_x = s.width / 2 if x is None else x  # the viewport's centre unless told
        at_y = s.height / 2 if y is None else y
        try:
            await self.browser.scroll(at_x, at_y, 0, delta_y)
        finally:
            self._drain()

    # -- what the session records -----------------------------------------------------------
    async def screenshot(self, *, full_page: bool = False) -> RecordedFile:
        self._open()
        png = await self.browser.screenshot(full_page=full_page)
        self._drain()
        path = self.files.next_path("screenshots", "full" if full_page else "shot", "png")
        return self._item(self.files.write(path, "screenshot", png))

    async def snapshot(self) -> RecordedFile:
        """The page as MHTML: chained as a ``screenshot`` (a rendering), its ref says so."""
        self._open()
        mhtml = await self.browser.mhtml()
        self._drain()
        path = self.files.next_path("snapshots", "snapshot", "mhtml")
        return self._item(self.files.write(path, "screenshot", mhtml))

    async def save_original(self, url: str) -> RecordedFile:
        """The bytes ``url`` answers with, fetched through the proxy (so in the WARC too)."""
        self._open()
        suffix = PurePosixPath(urlsplit(url).path).suffix.lstrip(".")
        path = self.files.next_path(
            "originals", "original", suffix.lower() if _EXTENSION.match(suffix) else "bin"
        )
        try:
            await self.browser.save_resource(url, self.files.source(path))
        except BrowserFailed as failed:
            if any(
                e.reason == "over_cap" and e.facts.get("url") == url for e in self.recorder.events()
            ):
                cap = self.settings.max_response_bytes
                raise BrowserFailed(f"{url} is over the download cap of {cap} bytes") from failed
            raise
        finally:
            self._drain()
        return self._item(self.files.add(path, "original", self.files.source(path)))

    async def note(self, text: str) -> RecordedFile:
        self._open()
        if not 1 <= len(text) <= MAX_NOTE:
            raise InvalidCaptureItem(f"a note has 1 to {MAX_NOTE} characters")
        path = self.files.next_path("notes", "note", "txt")
        return self._item(self.files.write(path, "note", text.encode("utf-8")))

    def mark_clip(self, edge: Literal["start", "end"], label: str = "") -> None:
        """A clip's start or end, as seconds into the session (hence into its video)."""
        self._open()
        offset = round((datetime.now(UTC) - self.started_at).total_seconds(), 3)
        self._clips.mark(edge, offset, label[:200])  # a bad mark is refused, not logged
        self._log(f"clip_{edge}", label=label[:200], offset_seconds=offset)

    # -- the end -------------------------------------------------------------------------
    async def end(self, reason: str = "ended by the user") -> RecordedSession:
        """Stop the video and the browser, stop the proxy, chain the WARC, the video, the
        event log and the whole action log, stamp the head a last time."""
        self._open()
        self._ended = True
        interruption = self.browser.ended  # the browser ended on its own before this
        ended_at = datetime.now(UTC)
        try:
            try:
                await self.browser.close(reason)
                video_error = await self._finish_video()
                if video_error is None:
                    seconds = (ended_at - self.started_at).total_seconds()
                    video = self.files.source(VIDEO_PATH)
                    await cut_marked(self._clips, video, seconds, self.files, self._log)
                self._drain()
            finally:
                await asyncio.to_thread(self.recorder.stop)
                self._forget_ca_key()
            return await self._seal_chain(ended_at, interruption, video_error)
        finally:
            self._checkpointer.stop()
            self._chain.close()

    async def _finish_video(self) -> str | None:
        assert self._video is not None
        try:
            path = await self._video
        except CaptureBrowserError as error:  # no frame, ffmpeg failed, the screencast refused
            self._log("video_failed", reason=error.message)
            return error.message
        self.files.add(VIDEO_PATH, "video-segment", path)
        return None

    def _forget_ca_key(self) -> None:
        """The session CA's key dies with the session (:mod:`.launch`'s docstring)."""
        (self.settings.directory / "proxy-conf" / "mitmproxy-ca.pem").unlink(missing_ok=True)

    async def _seal_chain(
        self, ended_at: datetime, interruption: str | None, video_error: str | None
    ) -> RecordedSession:
        warc = self.recorder.warc_path
        warcs = (self.files.add(f"archive/{warc.name}", "warc-record", warc),)
        events = self.recorder.events_path
        events.touch(mode=0o600)  # an empty log: nothing was refused
        self.files.add("capture/events.jsonl", "warc-record", events)
        self.actions.close()
        await asyncio.to_thread(self._checkpointer.finish)
        head = self._chain.head
        assert head is not None
        return RecordedSession(
            directory=self.settings.directory,
            started_at=self.started_at,
            ended_at=ended_at,
            preflight_sha256=self.preflight_sha256,
            warcs=warcs,
            files=tuple(f for f in self.files.recorded if f not in warcs),
            chain_path=self._chain.path,
            chain_head=head.hash,
            chain_length=len(self._chain),
            navigations=tuple(self.navigations),
            interrupted=interruption is not None,
            interruption_reason=interruption,
            video_error=video_error,
        )

    async def __aenter__(self) -> CaptureSession:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if not self._ended:
            with contextlib.suppress(Exception):
                await self.end("aborted" if exc is None else f"aborted: {type(exc).__name__}")
