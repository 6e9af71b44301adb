"""Shared pieces of the capture tests: a real HTTP exchange on loopback written as WARC
records with warcio, the capture's other files, and a WACZ rewritten as an attacker
would."""

from __future__ import annotations

import hashlib
import http.client
import io
import subprocess
import sys
import zipfile
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from evidence.capture.chain_checkpoints import Checkpointer
from evidence.capture.hash_chain import HashChain
from evidence.capture.wacz_package import Page, Resource
from evidence.timestamping import TimestampAuthority
from tests.fixtures.loopback_site import loopback_site

WACZ_CLI = Path(sys.executable).with_name("wacz")
PAGE = b"<!doctype html><title>Terms</title><h1>Terms of sale</h1><img src=/logo.png>"
LOGO = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
ROUTES = {"/": ("text/html; charset=utf-8", PAGE), "/logo.png": ("image/png", LOGO)}


def website() -> AbstractContextManager[str]:
    """A tiny site on a free loopback port; yields its origin."""
    return loopback_site(ROUTES)


def _record_exchange(writer: WARCWriter, url: str) -> None:
    """GET ``url`` for real and write its request and response records."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.netloc, timeout=5)
    request_headers = [("Host", parts.netloc), ("User-Agent", "notary-hub-capture-test")]
    connection.request("GET", parts.path, headers=dict(request_headers))
    response = connection.getresponse()
    body = response.read()
    connection.close()
    response_headers = StatusAndHeaders(
        f"{response.status} {response.reason}", response.getheaders(), protocol="HTTP/1.1"
    )
    record = writer.create_warc_record(
        url, "response", payload=io.BytesIO(body), http_headers=response_headers
    )
    request = writer.create_warc_record(
        url,
        "request",
        payload=io.BytesIO(b""),
        http_headers=StatusAndHeaders(
            f"GET {parts.path} HTTP/1.1", request_headers, is_http_request=True
        ),
    )
    writer.write_record(record)
    writer.write_record(request)


def record_site(directory: Path, origin: str, name: str = "capture.warc.gz") -> Path:
    """The site's page and image as a gzipped WARC file."""
    path = directory / name
    with path.open("wb") as file:
        writer = WARCWriter(file, gzip=name.endswith(".gz"))
        writer.write_record(
            writer.create_warcinfo_record(
                name, {"software": "notary-hub tests", "format": "WARC 1.1"}
            )
        )
        _record_exchange(writer, f"{origin}/")
        _record_exchange(writer, f"{origin}/logo.png")
    return path


@dataclass(frozen=True)
class CaptureFiles:
    warc: Path
    origin: str
    resources: tuple[Resource, ...]
    pages: tuple[Page, ...]


def capture_files(directory: Path, authority: TimestampAuthority) -> CaptureFiles:
    """A small but real capture: the WARC of a live exchange, a video, a screenshot, an
    original, the action log, the pre-flight report and the sealed hash chain over them."""
    with website() as origin:
        warc = record_site(directory, origin)
    files = {
        "video/session.webm": b"\x1aE\xdf\xa3 webm segment" * 64,
        "screenshots/shot-0001.png": LOGO,
        "originals/terms.pdf": b"%PDF-1.7 the original terms",
        "capture/actions.jsonl": b'{"seq":1,"action":"goto","url":"/"}\n',
        "capture/preflight.json": b'{"clock":"ok","dns":"ok"}',
    }
    chain_path = directory / "chain.jsonl"
    with HashChain.open(chain_path) as chain:
        chain.append("warc-record", hashlib.sha256(warc.read_bytes()).digest(), ref=warc.name)
        for path, data in files.items():
            chain.append(_kind(path), hashlib.sha256(data).digest(), ref=path)
        Checkpointer(chain, authority).finish()
    resources = []
    for path, data in files.items():
        source = directory / path.replace("/", "_")
        source.write_bytes(data)
        resources.append(Resource(path, source))
    resources.append(Resource("capture/chain.jsonl", chain_path))
    return CaptureFiles(warc, origin, tuple(resources), (Page(f"{origin}/", title="Terms"),))


def _kind(path: str) -> str:
    return {
        "video": "video-segment",
        "screenshots": "screenshot",
        "originals": "original",
    }.get(path.split("/")[0], "preflight" if "preflight" in path else "action")


def rewrite_zip(
    source: Path,
    target: Path,
    replace: Mapping[str, bytes] = {},
    add: Mapping[str, bytes] = {},
) -> Path:
    """``source`` copied to ``target`` with some entries' bytes replaced or added."""
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w") as forged:
        for info in original.infolist():
            forged.writestr(info, replace.get(info.filename, original.read(info)))
        for name, data in add.items():
            forged.writestr(name, data)
    return target


def wacz_validate(path: Path) -> subprocess.CompletedProcess[str]:
    """The `wacz` package's own validator, as its command line runs it."""
    return subprocess.run(
        [str(WACZ_CLI), "validate", "-f", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
