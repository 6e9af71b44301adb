"""What the recording proxy refuses, with a reason in its event log (issue 15): loopback,
private ranges and the hub unless allow-listed (names resolved first: DNS rebinding), a
certificate that fails validation (recorded, never ignored), a target refusing TLS, a
response over the cap."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from evidence.capture.recorder.process import MitmRecorder, RecorderEvent, RecorderSettings
from testkit.capture_site import CaptureSite
from tests.evidence.capture.recorder.conftest import CAP, proxied_client
from tests.evidence.capture.recorder.warc_reading import read_warc, responses


def _refused(client: httpx.Client, url: str) -> None:
    """The browser gets no answer from the target: the proxy's 502 or a broken tunnel."""
    try:
        answer = client.get(url)
    except httpx.HTTPError:
        return
    assert answer.status_code == 502, (url, answer.status_code)


def _plain_http_status(recorder: MitmRecorder, url: str) -> bytes:
    """The proxy's status line for an absolute-form GET, sent as is (httpx drops the
    brackets of an IPv6 literal in a proxied request)."""
    port = int(recorder.proxy_url.rsplit(":", 1)[1])
    authority = url.split("/")[2]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"GET {url} HTTP/1.1\r\nHost: {authority}\r\n\r\n".encode())
        return sock.recv(4096).split(b"\r\n")[0]


def _events_for(recorder: MitmRecorder, port: int, since: int = 0) -> list[RecorderEvent]:
    """Events for ``port`` after the first ``since``: the recorder is shared by the module,
    and the OS may hand an earlier test's closed port out again."""
    return [e for e in recorder.events()[since:] if e.facts.get("port") == port]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.mark.parametrize(
    ("scheme", "host", "reason"),
    [
        ("https", "127.0.0.1", "loopback_address"),
        ("https", "localhost", "loopback_address"),  # a name resolving to loopback: after DNS
        ("https", "2130706433", "loopback_address"),  # 127.0.0.1 as one integer
        ("https", "0x7f.1", "loopback_address"),  # and in hex
        # httpx writes an IPv6 literal without brackets: plain HTTP, sent by hand, for those
        ("http", "[::1]", "loopback_address"),
        ("http", "[::ffff:127.0.0.1]", "loopback_address"),  # IPv4-mapped IPv6
        ("https", "0.0.0.0", "private_address"),
        ("https", "10.1.2.3", "private_address"),
        ("https", "192.168.0.1", "private_address"),
        ("http", "169.254.169.254", "private_address"),  # the cloud metadata service
        ("http", "[fd00::1]", "private_address"),
    ],
)
def test_local_destinations_are_refused_before_connecting(
    client: httpx.Client, recorder: MitmRecorder, scheme: str, host: str, reason: str
) -> None:
    port = _closed_port()  # never listened on: a refusal is not a connection error
    url = f"{scheme}://{host}:{port}/"
    since = len(recorder.events())
    if scheme == "http":
        assert _plain_http_status(recorder, url) == b"HTTP/1.1 502 Bad Gateway"
    else:
        _refused(client, url)
    [event] = _events_for(recorder, port, since)
    assert event.reason == reason
    assert "refused" in event.detail


def test_plain_http_to_a_local_destination_is_refused_too(
    client: httpx.Client, recorder: MitmRecorder
) -> None:
    port = _closed_port()
    since = len(recorder.events())
    answer = client.get(f"http://localhost:{port}/latest/meta-data")
    assert answer.status_code == 502
    assert [e.reason for e in _events_for(recorder, port, since)] == ["loopback_address"]


def test_an_allow_listed_port_passes_and_its_neighbour_does_not(
    client: httpx.Client, recorder: MitmRecorder, site: CaptureSite
) -> None:
    assert client.get(site.url("/image.png", host="localhost")).status_code == 200
    assert _events_for(recorder, site.port) == []


def test_a_name_that_does_not_resolve_is_a_clear_event(
    client: httpx.Client, recorder: MitmRecorder
) -> None:
    _refused(client, "https://no-such-host.invalid:4443/")
    [event] = _events_for(recorder, 4443)
    assert event.reason == "dns_failed" and event.facts["host"] == "no-such-host.invalid"


def test_the_proxy_answers_nothing_itself(client: httpx.Client, recorder: MitmRecorder) -> None:
    """mitmproxy's own page (its CA for download) is off: mitm.it is a name like any other."""
    answer = client.get("http://mitm.it/cert/pem")
    assert answer.status_code == 502 and b"BEGIN CERTIFICATE" not in answer.content
    assert "mitm.it" in [e.facts.get("host") for e in recorder.events()]


def test_an_untrusted_certificate_is_recorded_as_invalid_and_refused(
    client: httpx.Client, recorder: MitmRecorder, rogue_site: CaptureSite
) -> None:
    _refused(client, rogue_site.url("/"))
    assert rogue_site.served == []  # no request ever reached it
    [event] = _events_for(recorder, rogue_site.port)
    assert event.reason == "certificate_invalid"
    assert "unable to get local issuer certificate" in event.detail
    records = read_warc(recorder.warc_path)
    assert responses(records, rogue_site.url("/")) == []
    [connection] = [
        r for r in records if r.kind == "metadata" and r.json.get("port") == rogue_site.port
    ]
    tls = connection.json["tls"]
    assert tls["validation"].startswith("invalid: Certificate verify failed")
    assert tls["chain_pem"][0].encode() == rogue_site.ca.leaf_pem  # what it offered, kept


def test_a_target_refusing_tls_is_a_clear_event(
    client: httpx.Client, recorder: MitmRecorder, plain_port: int
) -> None:
    _refused(client, f"https://127.0.0.1:{plain_port}/")
    [event] = _events_for(recorder, plain_port)
    assert event.reason == "tls_failed"
    assert event.detail


def test_a_response_over_the_cap_is_refused(
    client: httpx.Client, recorder: MitmRecorder, site: CaptureSite
) -> None:
    assert client.get(site.url(f"/big/{CAP // 2}")).status_code == 200
    _refused(client, site.url(f"/big/{CAP + 1}"))
    [event] = [e for e in recorder.events() if e.reason == "over_cap"]
    assert event.facts["url"] == site.url(f"/big/{CAP + 1}")
    assert responses(read_warc(recorder.warc_path), site.url(f"/big/{CAP + 1}")) == []


@pytest.fixture
def hub_recorder(tmp_path: Path, site: CaptureSite) -> Iterator[MitmRecorder]:
    """A session whose allow-list covers all of loopback, the hub among it."""
    settings = RecorderSettings(
        session_dir=tmp_path / "session",
        allow=["127.0.0.0/8"],
        deny=[f"127.0.0.1:{site.port}"],
        extra_trusted_ca_pem=site.ca.certificate_pem,
    )
    settings.session_dir.mkdir()
    with MitmRecorder(settings) as running:
        yield running


def test_the_hub_is_refused_even_inside_an_allowed_range(
    hub_recorder: MitmRecorder, site: CaptureSite
) -> None:
    before = len(site.served)
    with proxied_client(hub_recorder) as client:
        _refused(client, site.url("/", host="localhost"))
    assert len(site.served) == before
    assert [e.reason for e in hub_recorder.events()] == ["hub"]
