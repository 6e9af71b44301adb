"""A local HTTPS test site with its own CA, for remote evidence capture (issue 15).

It serves what a capture meets: text, an image, a PDF, a small video, a login form, a
redirect, a slow (chunked) resource, one that changes on every load and a large one; and
it logs the exact bytes of every body it served (:attr:`CaptureSite.served`), so a test can
hold a WARC to them. A site whose CA nobody trusts is the same site with another CA; a
target that refuses TLS is :func:`serve_plain_tcp`.
"""

from __future__ import annotations

import asyncio
import datetime
import functools
import hashlib
import io
import ipaddress
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fastapi import FastAPI, Request
from fastapi.responses import Response, StreamingResponse
from PIL import Image
from reportlab.pdfgen import canvas

from testkit.waiting import wait_until

__all__ = ["CaptureSite", "SiteCa", "serve_capture_site", "serve_plain_tcp"]

LOGIN_FORM = (
    b"<!doctype html><title>Sign in</title><form method=post action=/login>"
    b"<input name=user><input name=password type=password><button>Sign in</button></form>"
)


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


@dataclass(frozen=True)
class SiteCa:
    """A test CA and the leaf it issued for ``localhost`` and ``127.0.0.1``."""

    certificate_pem: bytes
    leaf_pem: bytes
    leaf_key_pem: bytes

    @classmethod
    def create(cls, name: str = "capture test site CA") -> SiteCa:
        now = datetime.datetime.now(datetime.UTC)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(_name(name))
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256())
        )
        key = ec.generate_private_key(ec.SECP256R1())
        names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        leaf = (
            x509.CertificateBuilder()
            .subject_name(_name("localhost"))
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256())
        )
        pem = serialization.Encoding.PEM
        return cls(
            ca.public_bytes(pem),
            leaf.public_bytes(pem),
            key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
        )


@functools.cache
def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


@functools.cache
def pdf_bytes() -> bytes:
    out = io.BytesIO()
    page = canvas.Canvas(out, invariant=True)
    page.drawString(72, 720, "Capture test PDF")
    page.save()
    return out.getvalue()


@functools.cache
def webm_bytes() -> bytes:
    """One second of a 64x48 test pattern (VP9 in WebM): ffmpeg, a Debian test package."""
    ffmpeg = shutil.which("ffmpeg")
    assert ffmpeg, "ffmpeg is missing: `make debs-test` installs it"
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "clip.webm"
        source = "testsrc=size=64x48:rate=10"
        subprocess.run(
            [
                ffmpeg,
                "-loglevel",
                "error",
                "-f",
                "lavfi",
                "-i",
                source,
                "-t",
                "1",
                "-c:v",
                "libvpx-vp9",
                "-b:v",
                "50k",
                "-an",
                str(path),
            ],
            check=True,
            timeout=60,
        )
        return path.read_bytes()


@dataclass
class CaptureSite:
    """Where the site answers, its CA, and every body it served, in order."""

    port: int
    ca: SiteCa
    served: list[tuple[str, bytes]] = field(default_factory=list)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"https://{host}:{self.port}{path}"

    def bodies(self, path: str) -> list[bytes]:
        return [body for served_path, body in self.served if served_path == path]


def _site_app(site: CaptureSite) -> FastAPI:
    """The media routes here; the others in :func:`_add_behaviour_routes`."""
    app = FastAPI()

    def serve(path: str, body: bytes, media_type: str, **headers: str) -> Response:
        site.served.append((path, body))
        return Response(body, media_type=media_type, headers=headers)

    @app.get("/")
    def text() -> Response:
        html = b"<!doctype html><title>Capture test</title><p>Text to capture.</p>"
        html += b'<img src="/image.png"><a href="/doc.pdf">PDF</a><video src="/clip.webm">'
        return serve("/", html, "text/html; charset=utf-8")

    @app.get("/image.png")
    def image() -> Response:
        return serve("/image.png", png_bytes(), "image/png")

    @app.get("/doc.pdf")
    def pdf() -> Response:
        return serve("/doc.pdf", pdf_bytes(), "application/pdf")

    @app.get("/clip.webm")
    def video() -> Response:
        return serve("/clip.webm", webm_bytes(), "video/webm")

    _add_behaviour_routes(app, site, serve)
    return app


def _add_behaviour_routes(app: FastAPI, site: CaptureSite, serve: Callable[..., Response]) -> None:
    """A login form, a redirect, a resource that changes, a slow one, a large one."""

    @app.get("/login")
    def login_form() -> Response:
        return serve("/login", LOGIN_FORM, "text/html")

    @app.post("/login")
    async def login(request: Request) -> Response:
        site.served.append(("POST /login", await request.body()))
        headers = {"location": "/", "set-cookie": "session=s1; Secure; HttpOnly"}
        return Response(b"", status_code=303, headers=headers)

    @app.get("/redirect")
    def redirect() -> Response:
        site.served.append(("/redirect", b""))
        return Response(b"", status_code=302, headers={"location": "/"})

    @app.get("/changing")
    def changing() -> Response:
        body = b"changes on every load: " + secrets.token_hex(16).encode()
        return serve("/changing", body, "text/plain", **{"cache-control": "no-store"})

    @app.get("/slow")
    def slow() -> StreamingResponse:
        parts = [b"first part, ", b"second part after a pause"]
        site.served.append(("/slow", b"".join(parts)))

        async def stream() -> AsyncIterator[bytes]:
            for part in parts:
                yield part
                await asyncio.sleep(0.2)

        return StreamingResponse(stream(), media_type="text/plain")  # chunked: no length

    @app.get("/big/{size}")
    def big(size: int) -> Response:
        return serve(f"/big/{size}", b"B" * size, "application/octet-stream")

    _add_bench_routes(app)


ANIMATED = (
    b"<!doctype html><title>Animated</title><canvas id=c width=640 height=360></canvas>"
    b"<script>const c=document.getElementById('c').getContext('2d');let n=0;"
    b"(function draw(){n++;c.fillStyle=`hsl(${n%360},70%,50%)`;c.fillRect(0,0,640,360);"
    b"c.fillStyle='#000';c.font='48px sans-serif';c.fillText('frame '+n,40,190);"
    b"requestAnimationFrame(draw)})()</script>"
)


def _add_bench_routes(app: FastAPI) -> None:
    """For the benchmarks: a page that redraws on every frame (a busy live session), and
    incompressible bytes streamed (a large original, never held whole); not logged."""

    @app.get("/animated")
    def animated() -> Response:
        return Response(ANIMATED, media_type="text/html")

    @app.get("/noise/{size}")
    def noise(size: int) -> StreamingResponse:
        async def stream() -> AsyncIterator[bytes]:
            left, counter = size, 0
            while left > 0:
                block = hashlib.shake_256(counter.to_bytes(8, "big")).digest(min(left, 1 << 20))
                counter, left = counter + 1, left - len(block)
                yield block

        headers = {"content-length": str(size)}
        return StreamingResponse(stream(), media_type="application/octet-stream", headers=headers)


@contextmanager
def serve_capture_site(ca: SiteCa | None = None) -> Iterator[CaptureSite]:
    """The test site over HTTPS on a free loopback port until the block exits."""
    site = CaptureSite(0, ca or SiteCa.create())
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    site.port = sock.getsockname()[1]
    with tempfile.TemporaryDirectory() as directory:
        cert, key = Path(directory) / "leaf.pem", Path(directory) / "key.pem"
        cert.write_bytes(site.ca.leaf_pem)
        key.write_bytes(site.ca.leaf_key_pem)
        config = uvicorn.Config(
            _site_app(site),
            log_level="warning",
            lifespan="off",
            access_log=False,
            ssl_certfile=str(cert),
            ssl_keyfile=str(key),
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        try:
            wait_until(lambda: server.started or not thread.is_alive(), timeout=10)
            assert server.started, "the capture site did not start"
            yield site
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            sock.close()


@contextmanager
def serve_plain_tcp() -> Iterator[int]:
    """A loopback port that speaks plain HTTP/1.0 and closes: a target refusing TLS."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def answer() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.sendall(b"HTTP/1.0 400 Bad Request\r\n\r\nno TLS here\n")

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()
