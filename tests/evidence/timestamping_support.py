"""Shared pieces of the time-stamping tests: a hub TSA in a temporary directory, a TSA
run by ``openssl ts -reply`` (an independent implementation), a tiny real HTTP server
in a thread, and certificates made with ``cryptography`` for the failure cases."""

from __future__ import annotations

import hashlib
import socket
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from evidence.timestamping import (
    TIMESTAMP_REPLY_MEDIA_TYPE,
    EmbeddedTimestampAuthority,
    TsaKeyMaterial,
)
from hub_kernel.keystore import MemoryKeyStore

DIGEST = hashlib.sha256(b"deposit #1: the notarised contract").digest()
OTHER_DIGEST = hashlib.sha256(b"deposit #2: something else").digest()


def run(*args: str | Path, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [str(a) for a in args], input=input, capture_output=True, timeout=30, check=False
    )


def openssl(*args: str | Path, input: bytes | None = None) -> bytes:
    done = run("openssl", *args, input=input)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout


def hub_tsa(directory: Path, **kwargs: object) -> tuple[EmbeddedTimestampAuthority, TsaKeyMaterial]:
    material = TsaKeyMaterial.load_or_create(MemoryKeyStore(), directory)
    return EmbeddedTimestampAuthority(material, **kwargs), material  # type: ignore[arg-type]


class UncheckedAuthority(EmbeddedTimestampAuthority):
    """Signs whatever its clock says, even outside its certificate's validity, as a
    misconfigured TSA would: the verifier tests need such tokens."""

    def _check_certificate_at(self, gen_time: datetime) -> None:
        pass


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


@dataclass(frozen=True)
class CustomPki:
    """A root CA made with ``cryptography``, which can issue any signing certificate."""

    root_key: ec.EllipticCurvePrivateKey
    root: x509.Certificate

    @classmethod
    def create(cls, name: str = "Test TSA Root") -> CustomPki:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        root = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(_name(name))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=30))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256())
        )
        return cls(key, root)

    def issue(
        self,
        *,
        eku: list[x509.ObjectIdentifier] | None = None,
        eku_critical: bool = True,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
    ) -> TsaKeyMaterial:
        """Key material for an :class:`EmbeddedTimestampAuthority` signing as asked."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name("Test TSA"))
            .issuer_name(self.root.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before or now - timedelta(days=1))
            .not_valid_after(not_after or now + timedelta(days=10))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        )
        if eku is None:
            eku = [ExtendedKeyUsageOID.TIME_STAMPING]
        if eku:
            builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=eku_critical)
        cert = builder.sign(self.root_key, hashes.SHA256())
        return TsaKeyMaterial(certificate=cert, private_key=key, root_certificate=self.root)


# -- a real HTTP server in a thread ------------------------------------------------------

Answer = tuple[int, str, bytes]  # status, content type, body


@dataclass
class Served:
    url: str
    hits: list[bytes]


@contextmanager
def serve(answer: Callable[[bytes], Answer]) -> Iterator[Served]:
    """An HTTP server on a free loopback port; every POST body goes to ``answer``."""
    hits: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            hits.append(body)
            status, content_type, payload = answer(body)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield Served(f"http://127.0.0.1:{server.server_address[1]}/tsa", hits)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def closed_port_url() -> str:
    """A loopback URL where nothing listens (the port was free a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/tsa"


def reply(body: bytes) -> Answer:
    return 200, TIMESTAMP_REPLY_MEDIA_TYPE, body


# -- an independent TSA: openssl ts -reply ----------------------------------------------

_REQ_CONFIG = """
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ v3_ca ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ v3_tsa ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,nonRepudiation
extendedKeyUsage = critical,timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""

_TS_CONFIG = """
[ tsa ]
default_tsa = tsa_config1
[ tsa_config1 ]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
certs = $dir/ca.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
other_policies = 1.2.3.4.5
digests = sha256, sha384, sha512
accuracy = secs:1, millisecs:500
clock_precision_digits = 0
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


@dataclass(frozen=True)
class OpenSslTsa:
    """A TSA whose CA, certificate and tokens are all made by the openssl CLI (RSA)."""

    directory: Path

    @classmethod
    def create(cls, directory: Path) -> OpenSslTsa:
        directory.mkdir(parents=True, exist_ok=True)
        req = directory / "req.cnf"
        req.write_text(_REQ_CONFIG)
        (directory / "ts.cnf").write_text(_TS_CONFIG.format(dir=directory))
        (directory / "serial").write_text("01\n")
        openssl(
            "req",
            "-x509",
            "-config",
            req,
            "-extensions",
            "v3_ca",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            directory / "ca.key",
            "-out",
            directory / "ca.pem",
            "-subj",
            "/O=OpenSSL test/CN=OpenSSL TSA Root",
            "-days",
            "2",
        )
        openssl(
            "req",
            "-new",
            "-config",
            req,
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            directory / "tsa.key",
            "-out",
            directory / "tsa.csr",
            "-subj",
            "/O=OpenSSL test/CN=OpenSSL TSA",
        )
        openssl(
            "x509",
            "-req",
            "-in",
            directory / "tsa.csr",
            "-CA",
            directory / "ca.pem",
            "-CAkey",
            directory / "ca.key",
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            req,
            "-extensions",
            "v3_tsa",
            "-out",
            directory / "tsa.pem",
        )
        return cls(directory)

    @property
    def root(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate((self.directory / "ca.pem").read_bytes())

    _lock = threading.Lock()  # openssl rewrites its serial file on every reply

    def answer(self, query: bytes) -> Answer:
        with self._lock, tempfile.TemporaryDirectory(dir=self.directory) as scratch:
            request, response = Path(scratch) / "q.tsq", Path(scratch) / "r.tsr"
            request.write_bytes(query)
            done = run(
                "openssl",
                "ts",
                "-reply",
                "-config",
                self.directory / "ts.cnf",
                "-queryfile",
                request,
                "-out",
                response,
            )
            if done.returncode != 0:
                return 500, "text/plain", done.stderr
            return reply(response.read_bytes())
