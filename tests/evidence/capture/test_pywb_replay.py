"""A real capture package (issue 15) in other tools' hands: Chromium through the recording
proxy on the HTTPS test site, sealed and signed as the service seals it, is accepted by the
`wacz` tool's own validator and replays in pywb (:mod:`testkit.pywb_replay`), the site
stopped first: the page's text is in the replay, its archived body is the one the site
served, and a URL never captured is not in the archive."""

from __future__ import annotations

import asyncio
import zipfile
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from evidence.capture.session import CaptureSession, RecordedSession, SessionSettings
from evidence.capture.session_package import seal_package
from evidence.capture.wacz_signing import WaczSigner
from testkit.capture_site import serve_capture_site
from testkit.pywb_replay import ReplayFailed, ReplayUnavailable, pywb_replay
from tests.evidence.capture.capture_support import wacz_validate
from tests.evidence.capture.session_support import session_settings, tsa

pytestmark = pytest.mark.slow

TEXT = b"Text to capture."


@dataclass(frozen=True)
class Captured:
    package: Path
    page: str  # the URL captured
    served: bytes  # the body the site served there
    elsewhere: str  # a URL of the same site, never captured


async def _visit(settings: SessionSettings, url: str) -> RecordedSession:
    session = await CaptureSession.start(settings)
    async with session:
        await session.navigate(url)
        return await session.end()


@pytest.fixture(scope="module")
def captured(tmp_path_factory: pytest.TempPathFactory) -> Captured:
    directory = tmp_path_factory.mktemp("replay")
    with serve_capture_site() as site:
        authority = tsa(directory / "tsa")
        with session_settings(directory, site, authority.authority) as settings:
            recorded = asyncio.run(_visit(settings, site.url("/")))
        (served,) = site.bodies("/")
        elsewhere = site.url("/doc.pdf")
    key = ec.generate_private_key(ec.SECP384R1())
    package = seal_package(recorded, WaczSigner(key), directory / "capture.wacz")
    return Captured(package, site.url("/"), served, elsewhere)


def test_the_wacz_tools_own_validator_accepts_it(captured: Captured) -> None:
    done = wacz_validate(captured.package)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "the passed WACZ is valid" in done.stdout


def test_pywb_replays_the_captured_page_and_nothing_else(captured: Captured) -> None:
    assert TEXT in captured.served
    with pywb_replay(captured.package) as replay, httpx.Client(trust_env=False) as client:
        archived = client.get(replay.url(captured.page, "id_"))
        rewritten = client.get(replay.url(captured.page, "mp_"))
        missing = client.get(replay.url(captured.elsewhere, "mp_"))
    assert archived.status_code == 200, archived.text
    assert archived.content == captured.served
    assert archived.headers["content-type"].startswith("text/html")
    assert "memento-datetime" in archived.headers
    # mp_: the page as pywb shows it in a browser, its own script inserted.
    assert rewritten.status_code == 200 and TEXT in rewritten.content
    assert b"wbinfo" in rewritten.content
    assert missing.status_code == 404
    assert f"{captured.elsewhere}</b> could not be found in this collection" in missing.text


def test_without_its_venv_the_replay_says_how_to_build_it(
    captured: Captured, tmp_path: Path
) -> None:
    with (
        pytest.raises(ReplayUnavailable, match=r"make \.venv-replay/\.installed"),
        pywb_replay(captured.package, venv=tmp_path / "no-venv"),
    ):
        pass


def test_a_package_without_a_warc_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.wacz"
    with zipfile.ZipFile(empty, "w") as package:
        package.writestr("datapackage.json", b"{}")
    with pytest.raises(ReplayFailed, match="no indexed WARC"), pywb_replay(empty):
        pass
    with pytest.raises(FileNotFoundError, match="no WACZ at"), pywb_replay(tmp_path / "x.wacz"):
        pass
    zipped = empty.rename(tmp_path / "a.zip")
    with pytest.raises(ValueError, match=r"\.wacz name"), pywb_replay(zipped):
        pass
