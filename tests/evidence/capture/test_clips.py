"""Key-evidence clips (:mod:`evidence.capture.clips`): marks paired into clips, bad marks
refused with a reason, and a span cut from a real VP8 video by ffmpeg."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

from evidence.capture.browser_errors import InvalidCaptureInput, VideoFailed
from evidence.capture.clips import MAX_CLIPS, Clip, ClipMarks, cut_clip
from evidence.capture.video import probe_video


def test_marks_pair_into_clips_and_an_open_one_ends_with_the_video() -> None:
    marks = ClipMarks()
    marks.mark("start", 1.5, "the price")
    marks.mark("end", 3.0, "")
    marks.mark("start", 4.0, "the terms")
    assert marks.close(6.25) == [Clip(1.5, 3.0, "the price"), Clip(4.0, 6.25, "the terms")]


@pytest.mark.parametrize(
    ("edges", "why"),
    [
        (["end"], "no clip is started"),
        (["start", "start"], "already started"),
        (["middle"], "'start' or 'end'"),
    ],
)
def test_a_bad_mark_is_refused(edges: list[str], why: str) -> None:
    marks = ClipMarks()
    with pytest.raises(InvalidCaptureInput, match=why):
        for edge in edges:
            marks.mark(edge, 1.0, "")


def test_a_session_has_at_most_so_many_clips() -> None:
    marks = ClipMarks()
    for n in range(MAX_CLIPS):
        marks.mark("start", n, "")
        marks.mark("end", n + 0.5, "")
    with pytest.raises(InvalidCaptureInput, match=f"at most {MAX_CLIPS} clips"):
        marks.mark("start", 1000.0, "")


def _video(path: Path, seconds: int) -> Path:
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=25",
         "-t", str(seconds), "-c:v", "libvpx", "-b:v", "200k", str(path)],
        check=True, timeout=120,
    )  # fmt: skip
    return path


def test_a_clip_is_cut_from_the_video(tmp_path: Path) -> None:
    video = _video(tmp_path / "session.webm", 4)
    clip = asyncio.run(cut_clip(video, Clip(1.0, 2.5, "x"), tmp_path / "clip.webm"))
    facts = probe_video(clip)
    assert facts.codec == "vp8" and abs(facts.duration - 1.5) < 0.2, facts
    assert (clip.stat().st_mode & 0o777) == 0o600


def test_a_video_ffmpeg_cannot_read_is_a_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.webm"
    broken.write_bytes(b"not a video")
    with pytest.raises(VideoFailed, match=r"could not cut clip\.webm"):
        asyncio.run(cut_clip(broken, Clip(0.0, 1.0, ""), tmp_path / "clip.webm"))
    assert not (tmp_path / "clip.webm").exists()
