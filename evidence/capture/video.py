"""The whole session on video (issue 15: "screencast frames to WebM or MP4 with Debian's
``ffmpeg``"): the screencast's JPEG frames piped into ``ffmpeg``, VP8 in WebM out,
streamed to disk (no frame is kept but the last one), and the file's SHA-256 and duration
read back with ``ffprobe``.

Timing. The screencast sends a frame when the page changes, so frames come irregularly,
each stamped by the browser with the time it was drawn. The concat demuxer would carry
those durations exactly, but it reads its whole list of files before it starts, so
nothing could be streamed; ``-use_wallclock_as_timestamps`` would stamp each frame with
the time ffmpeg happens to read it from the pipe, not the time it was drawn. So the
output has a constant rate (``fps``, 25 by default) and each frame is held — written
again — until the slot in which the next frame was drawn: frame ``k`` of the video shows
what the page showed at ``t0 + k / fps``, to within half a slot (20 ms), without drift, and
the duration is the session's. Of several frames drawn within one slot the last is kept.
A repeated frame costs VP8 almost nothing: it encodes as "no change".

WebM and VP8: https://www.webmproject.org/docs/container/, RFC 6386.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from evidence.capture.browser import Frame
from evidence.capture.browser_errors import VideoFailed

__all__ = ["VideoFacts", "VideoWriter", "probe_video", "record_video"]


@dataclass(frozen=True)
class VideoFacts:
    path: Path
    sha256: str
    duration: float
    codec: str
    width: int
    height: int


class VideoWriter:
    """Frames in (with their draw times), a WebM file out; :meth:`finish` ends it."""

    def __init__(
        self,
        path: Path,
        *,
        width: int,
        height: int,
        fps: int = 25,
        ffmpeg: Path = Path("/usr/bin/ffmpeg"),
        max_seconds: float = 4 * 3600.0,
    ) -> None:
        if fps < 1 or width < 2 or height < 2:
            raise VideoFailed("a video needs a positive rate and a size")
        self.path = path
        self.fps = fps
        self._size = (width - width % 2, height - height % 2)  # VP8 wants even sizes
        self._ffmpeg = ffmpeg
        self._max_slots = round(max_seconds * fps)
        self._process: asyncio.subprocess.Process | None = None
        self._start: float | None = None
        self._held: bytes | None = None
        self._held_slot = 0
        self._written = 0

    def _command(self) -> list[str]:
        width, height = self._size
        fit = (
            f"scale={width}:{height}:force_original_aspect_ratio=decrease,"
            f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2,format=yuv420p"
        )
        return [
            str(self._ffmpeg),
            "-hide_banner", "-nostats", "-loglevel", "error", "-nostdin",
            "-f", "image2pipe", "-c:v", "mjpeg", "-framerate", str(self.fps), "-i", "pipe:0",
            "-vf", fit,
            "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "1M",
            "-threads", "1", "-an", "-f", "webm", "-y", str(self.path),
        ]  # fmt: skip

    async def _open(self) -> asyncio.subprocess.Process:
        if self._process is None:
            try:
                self._process = await asyncio.create_subprocess_exec(
                    *self._command(),
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.PIPE,
                )
            except OSError as error:
                raise VideoFailed(f"ffmpeg did not start: {error}") from error
        return self._process

    async def _write_until(self, slot: int) -> None:
        """Write the held frame into every slot before ``slot``."""
        if slot > self._max_slots:
            # A frame time far ahead (a wrong clock, a forged frame) would write for ever.
            raise VideoFailed(f"the video would be longer than {self._max_slots} frames")
        process = await self._open()
        assert process.stdin is not None and self._held is not None
        try:
            while self._written < slot:
                process.stdin.write(self._held)
                self._written += 1
                await process.stdin.drain()
        except (BrokenPipeError, ConnectionResetError) as error:
            raise VideoFailed(f"ffmpeg stopped taking frames: {await self._error()}") from error

    async def add(self, jpeg: bytes, timestamp: float) -> None:
        if self._start is None:
            self._start = timestamp
        slot = max(round((timestamp - self._start) * self.fps), self._written)
        if self._held is not None and slot > self._held_slot:
            await self._write_until(slot)
        self._held, self._held_slot = jpeg, slot

    async def finish(self, end: float) -> Path:
        """Hold the last frame until ``end`` (Unix seconds), close the file, check ffmpeg."""
        if self._held is None or self._start is None:
            raise VideoFailed("no frame was recorded")
        last = max(round((end - self._start) * self.fps), self._held_slot + 1)
        await self._write_until(last)
        process = await self._open()
        assert process.stdin is not None
        process.stdin.close()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            await process.stdin.wait_closed()
        if await process.wait() != 0:
            raise VideoFailed(f"ffmpeg failed: {await self._error()}")
        return self.path

    async def _error(self) -> str:
        process = self._process
        if process is None or process.stderr is None:
            return "not started"
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        return (await process.stderr.read()).decode(errors="replace").strip()[-500:]

    async def abort(self) -> None:
        """Stop ffmpeg and delete the partial file (a session that failed)."""
        if self._process is not None and self._process.returncode is None:
            self._process.kill()
            await self._process.wait()
        self.path.unlink(missing_ok=True)


async def record_video(frames: AsyncIterator[Frame], writer: VideoWriter) -> Path:
    """Every frame until the iteration ends (the session's end); the last frame is held for
    as long as it stayed on screen (measured here, so that the browser's clock and this
    host's need not agree)."""
    loop = asyncio.get_running_loop()
    last: tuple[float, float] | None = None  # (its draw time, when it arrived here)
    try:
        async for frame in frames:
            await writer.add(frame.jpeg, frame.timestamp)
            last = (frame.timestamp, loop.time())
        if last is None:
            raise VideoFailed("no frame was recorded")
        return await writer.finish(last[0] + (loop.time() - last[1]))
    except BaseException:
        await writer.abort()
        raise


def probe_video(path: Path, ffprobe: Path = Path("/usr/bin/ffprobe")) -> VideoFacts:
    """The file's SHA-256 and what ``ffprobe`` reads in it (duration, codec, size)."""
    done = subprocess.run(  # noqa: S603 (fixed argv, no shell)
        [
            str(ffprobe), "-v", "error", "-print_format", "json",
            "-show_entries", "format=duration:stream=codec_name,width,height", str(path),
        ],
        capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise VideoFailed(f"ffprobe cannot read {path.name}: {done.stderr.decode().strip()}")
    facts = json.loads(done.stdout)
    stream = facts["streams"][0]
    with path.open("rb") as file:
        sha256 = hashlib.file_digest(file, "sha256").hexdigest()
    return VideoFacts(
        path,
        sha256,
        float(facts["format"]["duration"]),
        stream["codec_name"],
        int(stream["width"]),
        int(stream["height"]),
    )
