"""A capture session's recording proxy in front of the HTTPS test site (issue 15)."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from evidence.capture.recorder.process import MitmRecorder, RecorderSettings
from testkit.capture_site import CaptureSite, SiteCa, serve_capture_site, serve_plain_tcp

CAP = 100_000  # the response size cap of these sessions


@pytest.fixture(scope="module")
def site() -> Iterator[CaptureSite]:
    with serve_capture_site() as served:
        yield served


@pytest.fixture(scope="module")
def rogue_site() -> Iterator[CaptureSite]:
    """The same site, its certificate from a CA the recorder does not trust."""
    with serve_capture_site(SiteCa.create("a CA nobody trusts")) as served:
        yield served


@pytest.fixture(scope="module")
def plain_port() -> Iterator[int]:
    with serve_plain_tcp() as port:
        yield port


@pytest.fixture(scope="module")
def recorder(
    tmp_path_factory: pytest.TempPathFactory,
    site: CaptureSite,
    rogue_site: CaptureSite,
    plain_port: int,
) -> Iterator[MitmRecorder]:
    """One session for the module: the test servers' own ports allow-listed, nothing else."""
    settings = RecorderSettings(
        session_dir=tmp_path_factory.mktemp("capture") / "session-1",
        allow=[f"127.0.0.1:{port}" for port in (site.port, rogue_site.port, plain_port)],
        max_response_bytes=CAP,
        extra_trusted_ca_pem=site.ca.certificate_pem,
    )
    settings.session_dir.mkdir()
    with MitmRecorder(settings) as running:
        yield running


def proxied_client(recorder: MitmRecorder) -> httpx.Client:
    """A client that trusts the session CA alone, as the capture browser does."""
    context = ssl.create_default_context(cadata=recorder.session_ca.certificate_pem.decode())
    return httpx.Client(proxy=recorder.proxy_url, verify=context, timeout=20)


@pytest.fixture
def client(recorder: MitmRecorder) -> Iterator[httpx.Client]:
    with proxied_client(recorder) as opened:
        yield opened


def session_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "session"
    directory.mkdir()
    return directory
