"""The capture's WACZ (WACZ 1.1.1) built from a real HTTP exchange recorded with warcio:
what it holds, that the `wacz` tool's own validator accepts it, that large files are
streamed, and the inputs it refuses."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tracemalloc
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.warcwriter import WARCWriter

from evidence.capture.errors import InvalidWaczInput
from evidence.capture.wacz_package import Page, Resource, build_wacz
from tests.evidence.capture.capture_support import CaptureFiles, capture_files, wacz_validate
from tests.evidence.timestamping_support import hub_tsa


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> CaptureFiles:
    authority, _ = hub_tsa(tmp_path_factory.mktemp("tsa"))
    return capture_files(tmp_path_factory.mktemp("capture"), authority)


def test_the_package_holds_everything_with_its_sha256(
    capture: CaptureFiles, tmp_path: Path
) -> None:
    built = build_wacz(
        tmp_path / "capture.wacz", [capture.warc], pages=capture.pages, resources=capture.resources
    )
    with zipfile.ZipFile(built.path) as wacz:
        names = set(wacz.namelist())
        expected = {resource.path for resource in capture.resources} | {
            "archive/capture.warc.gz",
            "indexes/index.cdx.gz",
            "indexes/index.idx",
            "pages/pages.jsonl",
            "datapackage.json",
            "datapackage-digest.json",
        }
        assert names == expected
        package = json.loads(wacz.read("datapackage.json"))
        pages = [json.loads(line) for line in wacz.read("pages/pages.jsonl").splitlines()]
        index = gzip.decompress(wacz.read("indexes/index.cdx.gz")).decode()
        digest = json.loads(wacz.read("datapackage-digest.json"))
    assert package == built.datapackage and package["wacz_version"] == "1.1.1"
    sources = {r.path: r.source for r in capture.resources} | {
        "archive/capture.warc.gz": capture.warc
    }
    listed = {r["path"]: r for r in package["resources"]}
    for path, source in sources.items():
        data = source.read_bytes()
        assert listed[path]["hash"] == "sha256:" + hashlib.sha256(data).hexdigest()
        assert listed[path]["bytes"] == len(data)
    assert pages[0]["format"] == "json-pages-1.0"
    assert (pages[1]["url"], pages[1]["title"]) == (f"{capture.origin}/", "Terms")
    assert package["mainPageURL"] == f"{capture.origin}/"
    assert "127.0.0.1" in index and "logo.png" in index
    assert digest == {"path": "datapackage.json", "hash": built.datapackage_hash}
    assert (
        built.datapackage_hash
        == "sha256:"
        + hashlib.sha256(zipfile.ZipFile(built.path).read("datapackage.json")).hexdigest()
    )


def test_the_wacz_tools_own_validator_accepts_it(capture: CaptureFiles, tmp_path: Path) -> None:
    built = build_wacz(
        tmp_path / "capture.wacz", [capture.warc], pages=capture.pages, resources=capture.resources
    )
    done = wacz_validate(built.path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "the passed WACZ is valid" in done.stdout


def test_a_page_is_matched_by_its_warc_date(capture: CaptureFiles, tmp_path: Path) -> None:
    with capture.warc.open("rb") as stream:
        date = next(
            r.rec_headers["WARC-Date"] for r in ArchiveIterator(stream) if r.rec_type == "response"
        )
    page = Page(f"{capture.origin}/", ts=datetime.fromisoformat(date.replace("Z", "+00:00")))
    built = build_wacz(tmp_path / "capture.wacz", [capture.warc], pages=[page])
    assert built.datapackage["mainPageDate"].startswith(date[:19])


def test_a_page_not_in_the_archive_is_refused_and_nothing_is_left(
    capture: CaptureFiles, tmp_path: Path
) -> None:
    output = tmp_path / "capture.wacz"
    with pytest.raises(
        InvalidWaczInput, match=r"pages not in the archive: http://elsewhere\.example/"
    ):
        build_wacz(output, [capture.warc], pages=[Page("http://elsewhere.example/")])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "path",
    [
        "archive/extra.warc",
        "video/deep/session.webm",
        "video/no-extension",
        "../escape.txt",
        "Video/a.webm",
    ],
)
def test_resource_paths_outside_the_layout_are_refused(
    capture: CaptureFiles, tmp_path: Path, path: str
) -> None:
    resource = Resource(path, capture.resources[0].source)
    with pytest.raises(InvalidWaczInput, match=r"is not folder/name\.ext"):
        build_wacz(tmp_path / "x.wacz", [capture.warc], pages=capture.pages, resources=[resource])


def test_two_files_of_one_name_are_refused(capture: CaptureFiles, tmp_path: Path) -> None:
    twins = [Resource("video/a.webm", capture.warc), Resource("originals/A.webm", capture.warc)]
    with pytest.raises(InvalidWaczInput, match="two files are named"):
        build_wacz(tmp_path / "x.wacz", [capture.warc], pages=capture.pages, resources=twins)


def test_a_large_video_is_streamed_not_held_in_memory(
    capture: CaptureFiles, tmp_path: Path
) -> None:
    video = tmp_path / "long.webm"
    with video.open("wb") as file:
        for _ in range(24):
            file.write(os.urandom(1 << 20))
    tracemalloc.start()
    try:
        built = build_wacz(
            tmp_path / "capture.wacz",
            [capture.warc],
            pages=capture.pages,
            resources=[Resource("video/long.webm", video)],
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, f"peak {peak} bytes for a 24 MiB video"
    listed = {r["path"]: r for r in built.datapackage["resources"]}
    assert listed["video/long.webm"]["bytes"] == 24 << 20


def test_only_replayable_records_are_indexed(capture: CaptureFiles, tmp_path: Path) -> None:
    # The recording proxy's record of a TLS connection names the origin's root URL: were it
    # indexed, replay tools would show it as the page (see test_pywb_replay.py).
    warc = tmp_path / "with-metadata.warc.gz"
    with warc.open("wb") as file:
        writer = WARCWriter(file, gzip=True)
        block = io.BytesIO(b'{"tls": {"version": "TLSv1.3"}}')
        json_type = "application/json"
        record = writer.create_warc_record(
            f"{capture.origin}/", "metadata", payload=block, warc_content_type=json_type
        )
        writer.write_record(record)
    built = build_wacz(tmp_path / "capture.wacz", [warc, capture.warc], pages=capture.pages)
    with zipfile.ZipFile(built.path) as wacz:
        index = gzip.decompress(wacz.read("indexes/index.cdx.gz")).decode().splitlines()
    assert len(index) == 2 and all('"status": "200"' in line for line in index)
