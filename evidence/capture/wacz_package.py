"""A capture packaged as a WACZ 1.1.1 file: the WARCs, their CDXJ index, the pages, the
capture's own resources (video, screenshots, originals, action log, pre-flight report,
hash chain) and ``datapackage.json`` with every file's SHA-256.

Spec: Web Archive Collection Zipped (WACZ) 1.1.1, https://specs.webrecorder.net/wacz/1.1.1/
(§ Directory Layout, § datapackage.json, § datapackage-digest.json). The CDXJ index
(``indexes/index.cdx.gz`` in compressed blocks, ``indexes/index.idx``), the page list and
the resource list are made by the ``wacz`` package's own indexer (``WACZIndexer``, as its
``wacz create`` does); this module chooses the layout and the inputs, and indexes only the
records a replay tool can show (the proxy's metadata records stay in the WARC). Every file is
streamed into the ZIP and hashed in blocks: a large video never sits in memory.

The digest file is signed when a :class:`DigestSigner` is given
(:mod:`evidence.capture.wacz_signing`). The package is written under a temporary name
and renamed into place once complete and ``fsync``ed.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Protocol

from wacz.main import DEFAULT_NUM_LINES, PAGE_INDEX
from wacz.util import construct_passed_pages_dict, now
from wacz.waczindexer import WACZIndexer

from evidence.capture.errors import InvalidWaczInput

__all__ = ["BuiltWacz", "DigestSigner", "Page", "Resource", "build_wacz"]

#: Folders the WACZ layout gives a meaning of its own.
RESERVED_FOLDERS = frozenset({"archive", "indexes", "pages"})
# One folder and a file name with an extension: `wacz validate` checks exactly the files
# two levels down whose names hold a dot, and datapackage names must be unique.
_RESOURCE_PATH = re.compile(r"[a-z0-9][a-z0-9-]*/[A-Za-z0-9][A-Za-z0-9._-]*\.[A-Za-z0-9]+\Z")
_WARC_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\.warc(\.gz)?\Z")
_OWN_NAMES = frozenset({"index.cdx.gz", "index.idx", "pages.jsonl"})


@dataclass(frozen=True)
class Resource:
    """A file of the capture, stored at ``path`` (``folder/name.ext``) in the package."""

    path: str
    source: Path


@dataclass(frozen=True)
class Page:
    """A page the capture visited: a response record in the WARCs, by URL and, when
    given, by its WARC-Date (to the second)."""

    url: str
    ts: datetime | None = None
    title: str | None = None


@dataclass(frozen=True)
class BuiltWacz:
    path: Path
    #: ``datapackage.json``'s ``created`` (and the signature's).
    created: str
    #: ``sha256:<hex>`` of ``datapackage.json``, as the digest file names it.
    datapackage_hash: str
    datapackage: dict[str, Any]


class DigestSigner(Protocol):
    """Signs the digest of ``datapackage.json``: the WACZ signing spec's ``signedData``."""

    def sign(self, hash: str, created: str) -> dict[str, str]: ...


def _check_names(warcs: Sequence[Path], resources: Sequence[Resource]) -> None:
    names: set[str] = set(_OWN_NAMES)
    for warc in warcs:
        if not _WARC_NAME.match(warc.name):
            raise InvalidWaczInput(f"{warc.name!r} is not a .warc or .warc.gz file name")
        if warc.name.lower() in names:
            raise InvalidWaczInput(f"two files are named {warc.name!r}")
        names.add(warc.name.lower())
    for resource in resources:
        folder, _, name = resource.path.partition("/")
        if not _RESOURCE_PATH.match(resource.path) or folder in RESERVED_FOLDERS:
            raise InvalidWaczInput(
                f"resource path {resource.path!r} is not folder/name.ext outside "
                f"{', '.join(sorted(RESERVED_FOLDERS))}"
            )
        if name.lower() in names:
            raise InvalidWaczInput(f"two files are named {name!r}")
        names.add(name.lower())


def _page_lines(pages: Sequence[Page]) -> list[str]:
    lines = []
    for number, page in enumerate(pages, 1):
        line: dict[str, str] = {
            "id": f"page-{number}",
            "url": page.url,
            "title": page.title or page.url,
        }
        if page.ts is not None:
            line["ts"] = page.ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        lines.append(json.dumps(line))
    return lines


def _index(wacz: zipfile.ZipFile, warcs: Sequence[Path], pages: Sequence[Page]) -> WACZIndexer:
    """The CDXJ index into ``indexes/``, by the ``wacz`` indexer; each page must match a
    response record (the indexer leaves the unmatched ones in ``passed_pages_dict``)."""
    secondary = io.BytesIO()  # index.idx: one line per block of the CDXJ, small
    text = io.TextIOWrapper(secondary, "utf-8", write_through=True)
    with wacz.open(zipfile.ZipInfo("indexes/index.cdx.gz", now()), "w") as data:
        indexer = WACZIndexer(
            text,
            [str(warc) for warc in warcs],
            sort=True,
            post_append=True,
            compress=data,
            lines=DEFAULT_NUM_LINES,
            digest_records=True,
            # Replayable records only: the proxy's metadata record of a TLS connection
            # names its origin's root URL, and indexed it is what pywb replays there.
            records="response,revisit,resource,warcinfo",
            fields="referrer,req.http:cookie",
            data_out_name="index.cdx.gz",
            hash_type="sha256",
            main_url=None,
            main_ts=None,
            detect_pages=False,
            passed_pages_dict=construct_passed_pages_dict(_page_lines(pages)),
            extract_text=False,
        )
        indexer.process_all()
    if indexer.passed_pages_dict:
        missing = ", ".join(sorted(indexer.passed_pages_dict))
        raise InvalidWaczInput(f"pages not in the archive: {missing}")
    info = zipfile.ZipInfo("indexes/index.idx", now())
    info.compress_type = zipfile.ZIP_DEFLATED
    wacz.writestr(info, secondary.getvalue())
    return indexer


def _copy_in(wacz: zipfile.ZipFile, source: Path, path: str) -> None:
    # Stored, not deflated: WARCs and media are read in place by replay tools.
    info = zipfile.ZipInfo.from_file(source, path)
    info.compress_type = zipfile.ZIP_STORED
    with source.open("rb") as reader, wacz.open(info, "w") as writer:
        shutil.copyfileobj(reader, writer, 1024 * 1024)


def _datapackage(
    wacz: zipfile.ZipFile, indexer: WACZIndexer, pages: Sequence[Page], title: str | None
) -> bytes:
    """``datapackage.json``: the indexer's resource list (every file so far, hashed in
    blocks), with the first page as the main page."""
    options = SimpleNamespace(title=title, desc=None, date=None)
    package: dict[str, Any] = json.loads(indexer.generate_datapackage(options, wacz))
    first = next(iter(indexer.pages.values()), None)
    if first is not None and pages:
        package["mainPageURL"] = first["url"]
        package["mainPageDate"] = first["ts"]
    return json.dumps(package, indent=2).encode("utf-8")


def _write_json(wacz: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, now())
    info.compress_type = zipfile.ZIP_DEFLATED
    wacz.writestr(info, data)


@contextmanager
def _replacing(output: Path) -> Iterator[Path]:
    """A temporary path next to ``output``, renamed to it (durably) on success only."""
    partial = output.with_name(output.name + ".part")
    try:
        yield partial
        with partial.open("rb+") as written:
            os.fsync(written.fileno())
        os.replace(partial, output)
        fd = os.open(output.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    finally:
        partial.unlink(missing_ok=True)


def build_wacz(
    output: Path,
    warcs: Sequence[Path],
    *,
    pages: Sequence[Page],
    resources: Sequence[Resource] = (),
    title: str | None = None,
    signer: DigestSigner | None = None,
) -> BuiltWacz:
    """Package ``warcs`` and ``resources`` as the WACZ file ``output``."""
    if not warcs:
        raise InvalidWaczInput("a WACZ holds at least one WARC file")
    _check_names(warcs, resources)
    with _replacing(output) as partial, zipfile.ZipFile(partial, "w", allowZip64=True) as wacz:
        indexer = _index(wacz, warcs, pages)
        for warc in warcs:
            _copy_in(wacz, warc, f"archive/{warc.name}")
        for resource in resources:
            _copy_in(wacz, resource.source, resource.path)
        page_list = indexer.serialize_json_pages(
            indexer.pages.values(), id="pages", title="Pages", has_text=False
        )
        indexer.write_page_list(wacz, PAGE_INDEX, page_list)
        datapackage = _datapackage(wacz, indexer, pages, title)
        _write_json(wacz, "datapackage.json", datapackage)
        digest = json.loads(indexer.generate_datapackage_digest(datapackage))
        package = json.loads(datapackage)
        if signer is not None:
            digest["signedData"] = signer.sign(digest["hash"], package["created"])
        _write_json(wacz, "datapackage-digest.json", json.dumps(digest, indent=2).encode())
    return BuiltWacz(output, package["created"], digest["hash"], package)
