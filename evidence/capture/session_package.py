"""A recorded capture session sealed as a signed WACZ (issue 15): the WARC(s), every file
of the session as a resource, the final hash chain, and the pages the user navigated to.

Spec: WACZ 1.1.1 (https://specs.webrecorder.net/wacz/1.1.1/) by
:func:`~evidence.capture.wacz_package.build_wacz`, signed per WACZ Signing and
Verification 0.1.0 (https://specs.webrecorder.net/wacz-auth/0.1.0/) by a
:class:`~evidence.capture.wacz_signing.WaczSigner` (P-384, what ReplayWeb.page imports).
"""

from __future__ import annotations

from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from evidence.capture.capture_letter import CHAIN_PATH
from evidence.capture.errors import CaptureChainBroken
from evidence.capture.session_record import RecordedSession, file_sha256
from evidence.capture.wacz_package import Page, Resource, build_wacz
from evidence.capture.wacz_signing import WaczSigner

__all__ = ["seal_package"]

PACKAGE_NAME = "capture.wacz"


def _recorded_urls(warcs: tuple[Path, ...]) -> set[str]:
    """The URLs the WARCs hold a response for: a page the proxy refused has none."""
    urls: set[str] = set()
    for warc in warcs:
        with warc.open("rb") as stream:
            for record in ArchiveIterator(stream):
                if record.rec_type == "response":
                    urls.add(record.rec_headers.get_header("WARC-Target-URI"))
    return urls


def _check_unchanged(recorded: RecordedSession) -> None:
    """Every file still has the SHA-256 its chain entry holds: a file altered or swapped
    after it was chained is refused, never sealed."""
    for item in (*recorded.warcs, *recorded.files):
        if file_sha256(item.source) != item.sha256:
            raise CaptureChainBroken(
                f"{item.path} changed after chain entry {item.chain_seq} recorded it",
                item.chain_seq,
            )


def seal_package(recorded: RecordedSession, signer: WaczSigner, output: Path | None = None) -> Path:
    """The signed WACZ of ``recorded`` at ``output`` (``capture.wacz`` in its directory)."""
    _check_unchanged(recorded)
    warcs = tuple(item.source for item in recorded.warcs)
    urls = _recorded_urls(warcs)
    pages: list[Page] = [page for page in recorded.pages() if page.url in urls]
    resources = [Resource(item.path, item.source) for item in recorded.files]
    resources.append(Resource(CHAIN_PATH, recorded.chain_path))
    built = build_wacz(
        output or recorded.directory / PACKAGE_NAME,
        warcs,
        pages=pages,
        resources=resources,
        title=f"Capture {recorded.directory.name}",
        signer=signer,
    )
    return built.path
