"""The WARC holds exactly the bytes the site served, with the chain, the IP and the DNS
answers of each connection (issue 15; WARC/1.1, ISO 28500:2017)."""

from __future__ import annotations

import base64
import gzip
import hashlib
import re
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from warcio.exceptions import ArchiveLoadFailed

from evidence.capture.recorder.process import MitmRecorder
from testkit.capture_site import LOGIN_FORM, CaptureSite
from tests.evidence.capture.recorder.warc_reading import read_warc, responses

WARC_DATE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z\Z")
RESOURCES = ["/", "/image.png", "/doc.pdf", "/clip.webm", "/login", "/redirect", "/big/5000"]


def test_each_resource_is_recorded_byte_for_byte(
    client: httpx.Client, recorder: MitmRecorder, site: CaptureSite
) -> None:
    for path in RESOURCES:
        got = client.get(site.url(path), follow_redirects=False)
        assert got.status_code in (200, 302), path
    records = read_warc(recorder.warc_path)
    for path in RESOURCES:
        [served] = site.bodies(path)
        [record] = responses(records, site.url(path))
        assert record.body == served, path
        digest = base64.b32encode(hashlib.sha256(served).digest()).decode()
        assert record.fields["WARC-Payload-Digest"] == f"sha256:{digest}"
        assert record.fields["Content-Type"] == "application/http;msgtype=response"
        # WARC 1.1 §5.4: UTC with a Z, as indexers (CDXJ, WACZ) parse it.
        assert WARC_DATE.match(record.fields["WARC-Date"]), record.fields["WARC-Date"]
    [redirect] = responses(records, site.url("/redirect"))
    assert redirect.http_head.startswith(b"HTTP/1.1 302 Found\r\n")
    assert b"\r\nlocation: /\r\n" in redirect.http_head


def test_a_resource_that_changes_is_recorded_as_each_load_served_it(
    client: httpx.Client, recorder: MitmRecorder, site: CaptureSite
) -> None:
    seen = [client.get(site.url("/changing")).content for _ in range(3)]
    assert len(set(seen)) == 3
    recorded = [r.body for r in responses(read_warc(recorder.warc_path), site.url("/changing"))]
    assert recorded == site.bodies("/changing") == seen


def test_a_slow_chunked_resource_keeps_its_entity_and_says_it_was_reframed(
    client: httpx.Client, recorder: MitmRecorder, site: CaptureSite
) -> None:
    assert client.get(site.url("/slow")).content == site.bodies("/slow")[0]
    [record] = responses(read_warc(recorder.warc_path), site.url("/slow"))
    assert b"transfer-encoding: chunked" in record.http_head.lower()
    assert record.payload == site.bodies("/slow")[0]
    assert record.fields["Capture-Framing"] == "single-chunk"


def test_the_login_post_is_recorded_with_its_request_body(
    client: httpx.Client, recorder: MitmRecorder, site: CaptureSite
) -> None:
    assert client.get(site.url("/login")).content == LOGIN_FORM
    form = {"user": "alice", "password": "correct horse"}
    answer = client.post(site.url("/login"), data=form, follow_redirects=False)
    assert answer.status_code == 303
    records = read_warc(recorder.warc_path)
    [post] = [r for r in records if r.kind == "request" and r.http_head.startswith(b"POST ")]
    assert post.http_head.startswith(b"POST /login HTTP/1.1\r\n")
    assert post.body == site.bodies("POST /login")[0] == b"user=alice&password=correct+horse"
    [response] = [
        r for r in records if r.fields["WARC-Record-ID"] == post.fields["WARC-Concurrent-To"]
    ]
    assert response.http_head.startswith(b"HTTP/1.1 303 See Other\r\n")


def test_the_connection_record_holds_the_chain_the_ip_and_the_dns_answers(
    client: httpx.Client, recorder: MitmRecorder, site: CaptureSite
) -> None:
    # by name: the DNS answers are the recorder's own lookup, the certificate checked for the name
    assert client.get(site.url("/", host="localhost")).status_code == 200
    records = read_warc(recorder.warc_path)
    [response] = responses(records, site.url("/", host="localhost"))
    assert response.fields["WARC-IP-Address"] == "127.0.0.1"
    [connection] = [
        r for r in records if r.fields["WARC-Record-ID"] == response.fields["Capture-Connection"]
    ]
    assert connection.kind == "metadata"
    facts = connection.json
    assert facts["host"] == "localhost" and facts["port"] == site.port
    assert "127.0.0.1" in facts["dns_answers"] and facts["ip"] == "127.0.0.1"
    assert facts["tls"]["validation"] == "valid" and facts["tls"]["sni"] == "localhost"
    leaf = x509.load_pem_x509_certificate(facts["tls"]["chain_pem"][0].encode())
    assert leaf == x509.load_pem_x509_certificate(site.ca.leaf_pem)
    assert connection.fields["WARC-IP-Address"] == "127.0.0.1"


def test_every_request_record_is_concurrent_to_its_response(recorder: MitmRecorder) -> None:
    records = read_warc(recorder.warc_path)
    ids = {r.fields["WARC-Record-ID"] for r in records if r.kind == "response"}
    requests = [r for r in records if r.kind == "request"]
    assert requests and all(r.fields["WARC-Concurrent-To"] in ids for r in requests)
    assert all(r.fields["WARC-IP-Address"] == "127.0.0.1" for r in requests)


def test_a_tampered_record_fails_its_digest(
    client: httpx.Client, recorder: MitmRecorder, site: CaptureSite, tmp_path: Path
) -> None:
    assert client.get(site.url("/")).status_code == 200
    plain = gzip.decompress(recorder.warc_path.read_bytes())
    assert plain.count(b"Text to capture.") >= 1
    forged = tmp_path / "forged.warc"
    forged.write_bytes(plain.replace(b"Text to capture.", b"Text to kapture.", 1))
    with pytest.raises(ArchiveLoadFailed, match="digest failed"):
        read_warc(forged)
    (tmp_path / "intact.warc").write_bytes(plain)
    assert read_warc(tmp_path / "intact.warc")
