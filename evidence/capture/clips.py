"""Key-evidence clips (issue 15 item 4: "mark the start and end of a key-evidence clip").

The user marks a clip's start and end while the session runs; the marks are in the action
log as they happen (each line chained). At the end, once the session's video is closed,
each marked span is cut from it into ``clips/clip-NNNN.webm`` by Debian's ffmpeg,
re-encoded (VP8, as the video) so the clip starts exactly at its mark rather than at the
nearest key frame, and chained like any item: the letter names each clip with its digest
as a key item, and the whole video stays in the package beside it.

A start while a clip is open, or an end with none open, is refused; a clip still open at
the end is closed at the end of the video. Marks are seconds since the session started;
the video starts with the first frame drawn after that, so a clip's span is exact to
within the time that first frame took (well under a second).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from evidence.capture.browser_errors import InvalidCaptureInput, VideoFailed
from evidence.capture.session_record import SessionFiles

__all__ = ["CLIP_FOLDER", "Clip", "ClipMarks", "cut_clip", "cut_marked"]

CLIP_FOLDER = "clips"
MAX_CLIPS = 100
_CUT_TIMEOUT = 600.0


@dataclass(frozen=True)
class Clip:
    start: float  # seconds into the session's video
    end: float
    label: str


class ClipMarks:
    """The marks of one session, paired into clips."""

    def __init__(self) -> None:
        self.clips: list[Clip] = []
        self._open: tuple[float, str] | None = None

    def mark(self, edge: str, offset: float, label: str) -> None:
        if edge == "start":
            if self._open is not None:
                raise InvalidCaptureInput("a clip is already started: end it first")
            if len(self.clips) >= MAX_CLIPS:
                raise InvalidCaptureInput(f"a session has at most {MAX_CLIPS} clips")
            self._open = (offset, label)
        elif edge == "end":
            if self._open is None:
                raise InvalidCaptureInput("no clip is started")
            start, started_label = self._open
            self.clips.append(Clip(start, max(offset, start), label or started_label))
            self._open = None
        else:
            raise InvalidCaptureInput("a clip mark is 'start' or 'end'")

    def close(self, end: float) -> list[Clip]:
        """Every clip, one still open ended at ``end``."""
        if self._open is not None:
            self.clips.append(Clip(self._open[0], max(end, self._open[0]), self._open[1]))
            self._open = None
        return self.clips


async def cut_clip(
    video: Path, clip: Clip, output: Path, ffmpeg: Path = Path("/usr/bin/ffmpeg")
) -> Path:
    """``clip``'s span of ``video`` as its own WebM at ``output``."""
    length = max(clip.end - clip.start, 0.04)  # at least one frame at 25 fps
    process = await asyncio.create_subprocess_exec(
        str(ffmpeg), "-nostdin", "-loglevel", "error", "-ss", f"{clip.start:.3f}",
        "-i", str(video), "-t", f"{length:.3f}", "-an", "-c:v", "libvpx", "-b:v", "1M",
        "-f", "webm", str(output),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        _, errors = await asyncio.wait_for(process.communicate(), _CUT_TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise VideoFailed(f"cutting {output.name} took over {_CUT_TIMEOUT:g} s") from None
    if process.returncode != 0 or not output.is_file() or output.stat().st_size == 0:
        output.unlink(missing_ok=True)
        raise VideoFailed(f"ffmpeg could not cut {output.name}: {errors.decode()[-300:]}")
    output.chmod(0o600)
    return output


async def cut_marked(
    marks: ClipMarks,
    video: Path,
    end: float,
    files: SessionFiles,
    log: Callable[..., None],
) -> None:
    """Every marked clip cut from the closed ``video`` and chained as it lands; a clip that
    cannot be cut is logged with the reason (the whole video stays in the package)."""
    for clip in marks.close(end):
        path = files.next_path(CLIP_FOLDER, "clip", "webm")
        try:
            await cut_clip(video, clip, files.source(path))
        except VideoFailed as failed:
            log("clip_failed", start=clip.start, end=clip.end, reason=failed.message)
            continue
        item = files.add(path, "video-segment", files.source(path))
        log("clip", path=path, sha256=item.sha256, start=clip.start, end=clip.end, label=clip.label)
