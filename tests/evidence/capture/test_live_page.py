"""The remote desktop (issue 15 item 4, and item 9's browser test): a person's browser
(Playwright driving Debian's Chromium) opens a live capture's page on a served hub and
drives the notary's own Chromium through it against the HTTPS test site: frames arrive,
the address bar goes to the login form, clicks and typing sign in, the buttons take a
screenshot, mark a clip, save the site's PDF and end the session; the capture is sealed
and its letter verifies against the package, naming the screenshot and the PDF.

And the refusals: a browser without the cookie, a used ticket, a second viewer, another
origin's socket, someone else's bearer asking for a ticket; bad messages answered with
an error, not a crash."""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page
from pydantic import SecretStr
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Origin

from credentials.issuer_trust import PinnedIssuers
from evidence.capture.capture_verification import CaptureLetterVerifier
from evidence.digests import SHA256, digest_multibase
from notary_hub.app import create_app
from notary_hub.hub import Hub, open_hub
from notary_hub.settings import AnchoringSettings, EvidenceSettings, ServerSettings, Settings
from notary_hub.settings_capture import CaptureSettings
from testkit.capture_site import CaptureSite, pdf_bytes, serve_capture_site
from testkit.holder import did_key_holder
from testkit.serving import serve_app
from testkit.waiting import wait_until
from tests.evidence.capture.browser_support import sign_in_site

pytestmark = [pytest.mark.slow]

TOKEN = "l" * 40
OWNER = did_key_holder("live capture owner").did
STRANGER = did_key_holder("someone else").did
REMOTE = (1280, 800)  # the capture browser's viewport, CSS pixels
# The test site's login form as the capture browser lays it out (CSS pixels): its fields
# and button side by side at the top left.
USER_FIELD, PASSWORD_FIELD, SIGN_IN = (97, 18), (276, 18), (396, 18)
PASSWORD = "s3cret-pass"


@pytest.fixture(scope="module")
def site() -> Iterator[CaptureSite]:
    with serve_capture_site() as served:
        yield served


@dataclass
class LiveHub:
    hub: Hub
    url: str
    client: httpx.Client

    def api(self, method: str, path: str, did: str = OWNER, **kwargs: Any) -> httpx.Response:
        headers = {"authorization": f"Bearer {TOKEN}", "Depositor": did}
        return self.client.request(method, path, headers=headers, **kwargs)

    def start_live(self, site: CaptureSite) -> dict[str, Any]:
        answer = self.api("POST", "/captures", json={"target": site.url("/"), "mode": "live"})
        assert answer.status_code == 202, answer.text
        body: dict[str, Any] = answer.json()
        assert body["mode"] == "live" and body["liveUrl"].startswith(f"/captures/{body['id']}/")
        return body

    def sealed(self, capture_id: str) -> dict[str, Any]:
        def done() -> dict[str, Any] | None:
            body: dict[str, Any] = self.api("GET", f"/captures/{capture_id}").json()
            return body if body["state"] in ("sealed", "refused") else None

        return wait_until(done, timeout=120, interval=0.5, message=f"capture {capture_id}")


@pytest.fixture
def live_hub(tmp_path: Path, site: CaptureSite) -> Iterator[LiveHub]:
    """A hub served by uvicorn (a browser needs real HTTP and WebSockets), SQLite."""
    ca = tmp_path / "site-ca.pem"
    ca.write_bytes(site.ca.certificate_pem)
    with sign_in_site() as origin:
        settings = Settings(
            data_dir=tmp_path / "data",
            server=ServerSettings(api_tokens=[SecretStr(TOKEN)]),
            anchoring=AnchoringSettings(batch_interval_seconds=0.05),
            evidence=EvidenceSettings(poll_seconds=0.05),
            captures=CaptureSettings(
                allow=[f"127.0.0.1:{site.port}"],
                trusted_ca_file=ca,
                egress_probe_url=f"{origin}/whoami",
                allow_no_sandbox=os.geteuid() == 0,
                checkpoint_seconds=1.0,
                max_sessions=1,
            ),
        )
        hub = open_hub(settings)
        try:
            with (
                serve_app(create_app(hub), lifespan="on", access_log=False) as served,
                httpx.Client(base_url=served.url, timeout=30) as client,
            ):
                yield LiveHub(hub, served.url, client)
        finally:
            hub.close()


# -- the person's side ------------------------------------------------------------------


def state(page: Page, expected: str, timeout: float = 90) -> None:
    def reached() -> bool:
        if page.locator("#live").count() == 0:  # not yet, or a refusal: seen() says
            return False
        now = page.locator("#live").get_attribute("data-state")
        if now != expected and now in ("ended", "refused", "closed"):
            raise AssertionError(seen())  # nothing more will come
        return now == expected

    def seen() -> str:
        live = page.locator("#live")
        if live.count() == 0:
            return f"not the live page: {page.content()[:300]}"
        return f"the page is {live.get_attribute('data-state')!r}: {live.inner_text()!r}"

    wait_until(reached, timeout=timeout, interval=0.1, message=seen)


def frames(page: Page) -> int:
    return int(page.locator("#live").get_attribute("data-frames") or 0)


def screen(page: Page) -> str:
    """What the canvas shows now, as a digest."""
    data: str = page.evaluate("document.getElementById('screen').toDataURL('image/png')")
    return hashlib.sha256(data.encode()).hexdigest()


# Whether the canvas shows the test site's front page: its 8x8 red image, near the top
# left; nothing on the login form is red.
RED_IMAGE = """() => {
  const data = document.getElementById('screen').getContext('2d')
    .getImageData(0, 0, 300, 200).data;
  for (let i = 0; i < data.length; i += 4) {
    if (data[i] > 150 && data[i + 1] < 90 && data[i + 2] < 90) { return true; }
  }
  return false;
}"""


def front_page_shown(page: Page, shown: bool = True) -> None:
    wait_until(
        lambda: page.evaluate(RED_IMAGE) is shown,
        timeout=60,  # a loaded 2-core machine draws the remote page slowly
        interval=0.1,
        message=f"the front page is {'not ' if shown else ''}on the remote screen",
    )


def click_remote(page: Page, x: float, y: float) -> None:
    """A click at the remote viewport's (x, y), wherever the canvas is scaled to."""
    box = page.locator("#screen").bounding_box()
    assert box is not None
    page.mouse.click(
        box["x"] + x * box["width"] / REMOTE[0], box["y"] + y * box["height"] / REMOTE[1]
    )


def logged(page: Page, text: str, timeout: float = 30) -> str:
    line = page.locator("#log li", has_text=text).first
    line.wait_for(timeout=timeout * 1000)
    return line.inner_text()


def sign_in(page: Page, site: CaptureSite) -> None:
    """Through the page: click into the login form's fields, type, click the button."""
    click_remote(page, *USER_FIELD)
    page.keyboard.type("alice")
    click_remote(page, *PASSWORD_FIELD)
    page.keyboard.type(PASSWORD)
    click_remote(page, *SIGN_IN)
    wait_until(lambda: site.bodies("POST /login"), timeout=20, message="the form was not sent")
    assert site.bodies("POST /login")[-1] == f"user=alice&password={PASSWORD}".encode()
    front_page_shown(page)  # where the sign-in redirects
    wait_until(
        lambda: page.input_value("#address") == site.url("/"),
        timeout=10,
        message="the address bar did not follow the redirect",
    )


def test_a_person_drives_a_live_capture_through_the_page_and_it_is_sealed(
    live_hub: LiveHub, site: CaptureSite, browser: Browser, tmp_path: Path
) -> None:
    capture = live_hub.start_live(site)
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    page.goto(live_hub.url + capture["liveUrl"])
    page.wait_for_url(f"{live_hub.url}/captures/{capture['id']}/live")  # the ticket gone
    (cookie,) = context.cookies()
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert cookie["path"] == f"/captures/{capture['id']}/live"
    state(page, "live")
    wait_until(lambda: frames(page) > 0, timeout=20, message="no frame arrived")
    front_page_shown(page)  # the target, opened as the session went live
    first = screen(page)

    page.fill("#address", site.url("/login"))
    page.press("#address", "Enter")
    logged(page, f"go to {site.url('/login')}: ")
    front_page_shown(page, False)
    assert screen(page) != first and page.input_value("#address") == site.url("/login")

    sign_in(page, site)
    page.screenshot(path=str(tmp_path / "live-page.png"))  # kept, to look at

    second = context.new_page()  # the owner's own browser, but a second viewer
    second.goto(page.url)
    state(second, "refused", timeout=20)
    assert "another viewer is connected" in logged(second, "Refused")
    second.screenshot(path=str(tmp_path / "second-viewer.png"))
    second.close()

    page.click("#clip-start")
    page.click("#shot")
    shot = logged(page, "screenshot: screenshots/").split(": ")[1].split(" ")[0]
    page.once("dialog", lambda dialog: dialog.accept(site.url("/doc.pdf")))
    page.click("#save")
    original = logged(page, "save original: originals/").split(": ")[1].split(" ")[0]
    assert original.endswith(".pdf")
    page.click("#clip-end")
    logged(page, "clip end: done")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#end")
    state(page, "ended", timeout=30)
    assert "ended by the user" in logged(page, "The session ended")
    context.close()

    record = live_hub.sealed(capture["id"])
    assert record["state"] == "sealed" and record["endReason"] == "user", record
    assert record["mode"] == "live" and record["interrupted"] is False
    check_letter(live_hub, record, tmp_path, shot, original)


def check_letter(
    live_hub: LiveHub, record: dict[str, Any], tmp_path: Path, shot: str, original: str
) -> None:
    """The letter verifies against the package and names the screenshot and the PDF."""
    hub = live_hub.hub
    letter = live_hub.api("GET", f"/captures/{record['id']}/letter").json()
    package = live_hub.api("GET", f"/captures/{record['id']}/package")
    wacz = tmp_path / "live.wacz"
    wacz.write_bytes(package.content)
    assert hashlib.sha256(package.content).hexdigest() == record["packageSha256"]
    verifier = CaptureLetterVerifier(
        hub.credentials.verifier,
        hub.chain_parts.chain,
        trust=PinnedIssuers([hub.did.notary.did]),
        tsa_roots=hub.evidence.tsa_roots,
    )
    result = verifier.verify(letter, wacz)
    assert result.verified, result.errors
    items = {item["itemPath"]: item for item in letter["credentialSubject"]["keyItems"]}
    assert items[shot]["itemKind"] == "screenshot", items
    assert items[original]["itemKind"] == "original", items
    pdf_digest = digest_multibase(SHA256, hashlib.sha256(pdf_bytes()).digest())
    assert items[original]["digestMultibase"] == pdf_digest
    with zipfile.ZipFile(wacz) as archive:
        names = archive.namelist()
        actions = archive.read("capture/actions.jsonl")
    assert "video/session.webm" in names  # the frames shown were the video's too
    assert b"alice" in actions and PASSWORD.encode() not in actions  # typed, masked
    assert b'"clip_start"' in actions and b'"clip_end"' in actions


# -- the refusals --------------------------------------------------------------------------


def socket_url(live_hub: LiveHub, capture_id: str) -> str:
    return live_hub.url.replace("http://", "ws://") + f"/captures/{capture_id}/live/ws"


def open_socket(live_hub: LiveHub, capture_id: str, **headers: str) -> ClientConnection:
    origin = Origin(headers.pop("origin", live_hub.url))
    url = socket_url(live_hub, capture_id)
    return connect(url, origin=origin, additional_headers=headers, proxy=None, legacy=None)


def refused_socket(live_hub: LiveHub, capture_id: str, **headers: str) -> tuple[int, str]:
    with (
        open_socket(live_hub, capture_id, **headers) as socket,
        pytest.raises(ConnectionClosed) as closed,
    ):
        socket.recv(timeout=10)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason


def answers(socket: ClientConnection) -> Iterator[dict[str, Any]]:
    """The socket's JSON messages, frames skipped."""
    while True:
        message = socket.recv(timeout=30)
        if isinstance(message, str):
            yield json.loads(message)


def test_only_the_owners_browser_gets_in_and_bad_messages_are_answered(
    live_hub: LiveHub, site: CaptureSite, browser: Browser
) -> None:
    capture = live_hub.start_live(site)
    capture_id, page_url = capture["id"], f"{live_hub.url}/captures/{capture['id']}/live"
    stranger = live_hub.api("POST", f"/captures/{capture_id}/live-ticket", did=STRANGER)
    assert stranger.status_code == 404 and stranger.json()["error"] == "capture_not_found"

    owner = browser.new_context()
    owner.new_page().goto(live_hub.url + capture["liveUrl"])
    (cookie,) = owner.cookies()
    owner.close()  # its cookie kept here; no viewer connected
    other = browser.new_context()
    for address in (page_url, live_hub.url + capture["liveUrl"]):  # no cookie; a used ticket
        answer = other.new_page().goto(address)
        assert answer is not None and answer.status == 403
        assert answer.json()["error"] == "live_access_refused", answer.text()
    with_cookie = {"Cookie": f"{cookie['name']}={cookie['value']}"}
    code, reason = refused_socket(live_hub, capture_id)
    assert code == 1008 and "owner" in reason
    code, reason = refused_socket(
        live_hub, capture_id, origin="http://elsewhere.test", **with_cookie
    )
    assert code == 1008 and "own page" in reason
    assert refused_socket(live_hub, "f" * 32, **with_cookie)[0] == 1008  # another capture

    with open_socket(live_hub, capture_id, **with_cookie) as socket:
        replies = answers(socket)
        hello = next(m for m in replies if m["type"] == "hello")
        assert hello["viewport"] == {"width": REMOTE[0], "height": REMOTE[1]}
        errors = (m for m in replies if m["type"] == "error")  # past "url" and frames
        socket.send("not json")
        assert next(errors)["error"] == "invalid_live_message"
        socket.send(json.dumps({"id": 7, "type": "click", "x": 5000, "y": 1}))
        off = next(m for m in replies if m.get("id") == 7)
        assert off["type"] == "error" and off["error"] == "invalid_capture_input", off
        socket.send(b"\x00binary")
        assert next(errors)["error"] == "invalid_live_message"
        socket.send(json.dumps({"id": 8, "type": "note", "text": "still here"}))
        note = next(m for m in replies if m.get("id") == 8)
        assert note["type"] == "result" and note["result"]["path"].startswith("notes/"), note

    fresh = live_hub.api("POST", f"/captures/{capture_id}/live-ticket")
    assert fresh.status_code == 200, fresh.text
    page = other.new_page()  # a link on another site's page: the Strict cookie still comes
    link = f'<a id="open" href="{live_hub.url}{fresh.json()["liveUrl"]}">open</a>'
    page.route("http://elsewhere.test/", lambda route: route.fulfill(body=link))
    page.goto("http://elsewhere.test/")
    page.click("#open")
    state(page, "live", timeout=30)
    assert live_hub.api("POST", f"/captures/{capture_id}/end").status_code == 202
    state(page, "ended", timeout=30)
    other.close()
    assert live_hub.sealed(capture_id)["endReason"] == "user"


def test_a_live_capture_left_alone_ends_at_its_limits_and_is_sealed(
    live_hub: LiveHub, site: CaptureSite
) -> None:
    bad: list[tuple[dict[str, Any], str]] = [
        ({"target": site.url("/"), "mode": "live", "steps": "- wait: 1"}, "no steps"),
        ({"target": site.url("/"), "mode": "remote"}, "mode is"),
    ]
    for body, code in bad:
        refused = live_hub.api("POST", "/captures", json=body)
        assert refused.status_code == 422 and code in refused.json()["message"], refused.text
    for limits, reason, outcome in [
        ({"idleSeconds": 2}, "idle_timeout", "the idle timeout of 2 s was reached"),
        ({"maxDurationSeconds": 3}, "max_duration", "the maximum duration of 3 s was reached"),
    ]:
        asked = {"target": site.url("/"), "mode": "live", "limits": limits}
        capture = live_hub.api("POST", "/captures", json=asked).json()
        record = live_hub.sealed(capture["id"])
        assert record["state"] == "sealed", record
        assert (record["endReason"], record["outcome"]) == (reason, outcome), record
        assert record["interrupted"] is False
