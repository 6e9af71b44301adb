"""The session video: irregular frames held until the next one's time, judged by ffprobe
and by ffmpeg's own decoding of chosen instants; garbage frames and empty sessions are
refused."""

from __future__ import annotations

import asyncio
import io
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image

from evidence.capture.browser import Frame
from evidence.capture.browser_errors import VideoFailed
from evidence.capture.video import VideoWriter, probe_video, record_video

RED, BLUE, GREEN = (220, 20, 20), (20, 20, 220), (20, 200, 20)


def jpeg(colour: tuple[int, int, int], size: tuple[int, int] = (320, 240)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG", quality=90)
    return out.getvalue()


def colour_at(video: Path, seconds: float) -> tuple[int, ...]:
    """The centre pixel of the frame ffmpeg decodes at ``seconds``."""
    png = subprocess.run(
        [
            *("ffmpeg", "-v", "error", "-ss", f"{seconds}", "-i", str(video), "-frames:v", "1"),
            *("-f", "image2pipe", "-c:v", "png", "pipe:1"),
        ],
        capture_output=True,
        check=True,
    ).stdout
    image = Image.open(io.BytesIO(png)).convert("RGB")
    return tuple(image.getpixel((image.width // 2, image.height // 2)))  # type: ignore[arg-type]


def near(found: tuple[int, ...], expected: tuple[int, int, int]) -> bool:
    return all(abs(a - b) < 40 for a, b in zip(found, expected, strict=True))


def test_irregular_frames_keep_their_times(tmp_path: Path) -> None:
    """Red at 0 s, blue at 1.5 s (nothing in between), green at 1.7 s, end at 2.6 s."""
    t0 = 1_780_000_000.0
    writer = VideoWriter(tmp_path / "v.webm", width=320, height=240)

    async def write() -> None:
        await writer.add(jpeg(RED), t0)
        await writer.add(jpeg(BLUE), t0 + 1.5)
        await writer.add(jpeg(GREEN, (640, 480)), t0 + 1.7)  # another size: fitted
        await writer.finish(t0 + 2.6)

    asyncio.run(write())
    facts = probe_video(writer.path)
    assert (facts.codec, facts.width, facts.height) == ("vp8", 320, 240)
    assert abs(facts.duration - 2.6) < 0.1
    assert near(colour_at(writer.path, 1.2), RED)
    assert near(colour_at(writer.path, 1.6), BLUE)
    assert near(colour_at(writer.path, 2.4), GREEN)


def test_record_video_runs_until_the_frames_end(tmp_path: Path) -> None:
    async def frames() -> AsyncIterator[Frame]:
        loop = asyncio.get_running_loop()
        start = loop.time()
        for index in range(10):
            yield Frame(jpeg(RED if index % 2 else BLUE), time.time(), 320, 240)
            await asyncio.sleep(max(0.0, start + (index + 1) * 0.1 - loop.time()))

    writer = VideoWriter(tmp_path / "s.webm", width=320, height=240)
    path = asyncio.run(record_video(frames(), writer))
    assert 0.9 < probe_video(path).duration < 1.3


def test_no_frame_is_no_video(tmp_path: Path) -> None:
    writer = VideoWriter(tmp_path / "empty.webm", width=320, height=240)
    with pytest.raises(VideoFailed, match="no frame"):
        asyncio.run(writer.finish(0.0))


def test_a_garbage_frame_is_refused_and_nothing_is_left(tmp_path: Path) -> None:
    async def frames() -> AsyncIterator[Frame]:
        yield Frame(b"this is not a JPEG" * 100, 10.0, 320, 240)
        yield Frame(b"nor is this" * 100, 10.5, 320, 240)

    writer = VideoWriter(tmp_path / "bad.webm", width=320, height=240)
    with pytest.raises(VideoFailed, match="ffmpeg"):
        asyncio.run(record_video(frames(), writer))
    assert not writer.path.exists()


def test_a_frame_from_far_in_the_future_is_refused(tmp_path: Path) -> None:
    writer = VideoWriter(tmp_path / "far.webm", width=320, height=240, max_seconds=60)

    async def write() -> None:
        await writer.add(jpeg(RED), 1_780_000_000.0)
        await writer.add(jpeg(BLUE), 1_780_000_000.0 + 86_400)

    with pytest.raises(VideoFailed, match="longer than 1500 frames"):
        asyncio.run(write())
    asyncio.run(writer.abort())
    assert not writer.path.exists()


def test_a_file_that_is_not_a_video_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "fake.webm"
    fake.write_bytes(b"\x1a\x45\xdf\xa3" + b"\0" * 64)
    with pytest.raises(VideoFailed, match=r"ffprobe cannot read fake\.webm"):
        probe_video(fake)
