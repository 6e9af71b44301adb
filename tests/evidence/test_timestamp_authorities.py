"""What every :class:`~evidence.timestamping.TimestampAuthority` promises, checked against
each backend the hub has: the embedded TSA in process, :class:`HttpTimestampAuthority`
against the hub's own ``POST /tsa`` (a real hub served by uvicorn) and against an
independent TSA (``openssl ts -reply``), and a :class:`TimestampClient` in front of one.

:class:`TimestampAuthorityContract` holds the tests; each subclass provides the
``backend`` fixture. The promises (``evidence/timestamping/protocol.py``): a token over
the digest, in the hash algorithm asked for, that :func:`verify_token` accepts for that
digest and the nonce sent, whose fields the returned :class:`TimestampToken` repeats;
a digest of the wrong size or an algorithm outside :data:`HASH_ALGORITHMS` is refused.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from evidence.errors import InvalidDeposit, InvalidTimestampToken, UnsupportedHashAlgorithm
from evidence.timestamping import (
    DEFAULT_POLICY,
    HASH_ALGORITHMS,
    HttpTimestampAuthority,
    TimestampAuthority,
    TimestampClient,
    TimestampToken,
    verify_token,
)
from notary_hub.app import create_app
from notary_hub.hub import open_hub
from notary_hub.settings import Settings
from testkit.serving import serve_app
from tests.evidence.timestamping_support import (
    DIGEST,
    OTHER_DIGEST,
    OpenSslTsa,
    hub_tsa,
    serve,
)

DATA = b"deposit #3: a contract, hashed with every accepted algorithm"
#: genTime is whole seconds with an accuracy of one second (both TSAs say so).
LEEWAY = timedelta(seconds=2)


@dataclass(frozen=True)
class TsaBackend:
    """An authority under test, the roots its chain ends at and the policy it serves."""

    authority: TimestampAuthority
    trust_roots: list[x509.Certificate]
    policy: str


def der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(Encoding.DER)


class TimestampAuthorityContract:
    """The tests every authority passes; each subclass provides the ``backend`` fixture."""

    @pytest.fixture
    def authority(self, backend: TsaBackend) -> TimestampAuthority:
        return backend.authority

    def stamp(
        self,
        backend: TsaBackend,
        digest: bytes,
        *,
        hash_algorithm: str = "sha256",
        nonce: int | None = None,
    ) -> TimestampToken:
        """A token, checked to be dated now (the authorities share this machine's clock)."""
        before = datetime.now(UTC)
        token = backend.authority.timestamp(digest, hash_algorithm=hash_algorithm, nonce=nonce)
        after = datetime.now(UTC)
        assert before - LEEWAY <= token.gen_time <= after + LEEWAY
        assert token.gen_time.utcoffset() == timedelta(0)
        return token

    # -- the token -------------------------------------------------------------------------

    def test_is_a_timestamp_authority(self, authority: TimestampAuthority) -> None:
        assert isinstance(authority, TimestampAuthority)
        assert isinstance(authority.name, str) and authority.name

    def test_a_token_over_the_digest_that_verifies(self, backend: TsaBackend) -> None:
        token = self.stamp(backend, DIGEST)
        assert token.message_imprint == DIGEST and token.hash_algorithm == "sha256"
        assert token.tsa == backend.authority.name
        verified = verify_token(token.token, DIGEST, trust_roots=backend.trust_roots)
        assert verified.chain_trusted and verified.policy == backend.policy
        assert (verified.gen_time, verified.serial_number) == (token.gen_time, token.serial_number)
        assert verified.hash_algorithm == "sha256"

    def test_the_token_carries_its_chain_up_to_the_root(self, backend: TsaBackend) -> None:
        token = self.stamp(backend, DIGEST)
        leaf = x509.load_der_x509_certificate(token.certificates[0])
        verified = verify_token(token.token, DIGEST, trust_roots=backend.trust_roots)
        assert leaf.subject.rfc4514_string() == verified.tsa_subject
        assert token.certificates[-1] in {der(root) for root in backend.trust_roots}
        # Offline, from the token and the chain kept beside it.
        again = verify_token(token.token, DIGEST, certificates=token.certificates)
        assert again.serial_number == token.serial_number

    def test_the_token_is_for_that_digest_only(self, backend: TsaBackend) -> None:
        token = self.stamp(backend, DIGEST)
        with pytest.raises(InvalidTimestampToken, match="imprint"):
            verify_token(token.token, OTHER_DIGEST, trust_roots=backend.trust_roots)

    def test_every_token_has_its_own_serial_number(self, backend: TsaBackend) -> None:
        tokens = [self.stamp(backend, DIGEST) for _ in range(3)]
        assert len({token.serial_number for token in tokens}) == 3
        assert len({token.token for token in tokens}) == 3
        for token in tokens:
            verify_token(token.token, DIGEST, trust_roots=backend.trust_roots)

    # -- nonce and hash algorithm ----------------------------------------------------------

    @pytest.mark.parametrize("nonce", [1, 2**63 + 11, 2**159 + 7])
    def test_the_nonce_sent_is_the_nonce_signed(self, backend: TsaBackend, nonce: int) -> None:
        token = self.stamp(backend, DIGEST, nonce=nonce)
        verified = verify_token(token.token, DIGEST, trust_roots=backend.trust_roots, nonce=nonce)
        assert verified.nonce == nonce
        with pytest.raises(InvalidTimestampToken, match="nonce mismatch"):
            verify_token(token.token, DIGEST, trust_roots=backend.trust_roots, nonce=nonce + 1)

    @pytest.mark.parametrize("algorithm", sorted(HASH_ALGORITHMS))
    def test_each_accepted_hash_algorithm(self, backend: TsaBackend, algorithm: str) -> None:
        digest = hashlib.new(algorithm, DATA).digest()
        token = self.stamp(backend, digest, hash_algorithm=algorithm)
        assert (token.hash_algorithm, token.message_imprint) == (algorithm, digest)
        verified = verify_token(
            token.token, digest, trust_roots=backend.trust_roots, hash_algorithm=algorithm
        )
        assert verified.hash_algorithm == algorithm
        other = "sha512" if algorithm != "sha512" else "sha384"
        with pytest.raises(InvalidTimestampToken):
            verify_token(token.token, digest, trust_roots=backend.trust_roots, hash_algorithm=other)

    # -- bad requests ----------------------------------------------------------------------

    @pytest.mark.parametrize("algorithm", ["sha1", "md5", "SHA256", "sha3-256", ""])
    def test_an_algorithm_not_accepted_is_refused(
        self, authority: TimestampAuthority, algorithm: str
    ) -> None:
        with pytest.raises(UnsupportedHashAlgorithm, match="unsupported hash algorithm"):
            authority.timestamp(DIGEST, hash_algorithm=algorithm)

    @pytest.mark.parametrize(
        ("digest", "algorithm"),
        [
            (DIGEST[:31], "sha256"),
            (DIGEST + b"\x00", "sha256"),
            (b"", "sha256"),
            (DIGEST, "sha384"),
            (hashlib.sha512(DATA).digest(), "sha256"),
            (bytearray(DIGEST), "sha256"),  # not bytes
        ],
        ids=["short", "long", "empty", "sha256-as-sha384", "sha512-as-sha256", "bytearray"],
    )
    def test_a_digest_of_the_wrong_size_or_type_is_refused(
        self, authority: TimestampAuthority, digest: bytes, algorithm: str
    ) -> None:
        with pytest.raises(InvalidDeposit, match="digest is"):
            authority.timestamp(digest, hash_algorithm=algorithm)


# -- the backends: made once per module, each handed to its class as ``backend`` ------------


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> TsaBackend:
    authority, material = hub_tsa(tmp_path_factory.mktemp("embedded-tsa"))
    return TsaBackend(authority, [material.root_certificate], DEFAULT_POLICY)


@pytest.fixture(scope="module")
def hub_over_http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TsaBackend]:
    """A real hub (embedded chain, SQLite) served by uvicorn; its TSA asked over HTTP."""
    hub = open_hub(Settings(data_dir=tmp_path_factory.mktemp("hub") / "data"))
    try:
        assert hub.evidence is not None and hub.evidence.tsa is not None
        root = x509.load_der_x509_certificate(hub.evidence.tsa.certificates[-1])
        with (
            serve_app(create_app(hub), lifespan="auto", start_timeout=30) as served,
            HttpTimestampAuthority(f"{served.url}/tsa", trust_roots=[root]) as authority,
        ):
            yield TsaBackend(authority, [root], DEFAULT_POLICY)
    finally:
        hub.close()


@pytest.fixture(scope="module")
def openssl_over_http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TsaBackend]:
    tsa = OpenSslTsa.create(tmp_path_factory.mktemp("openssl-tsa"))
    with (
        serve(tsa.answer) as served,
        HttpTimestampAuthority(served.url, trust_roots=[tsa.root], name="openssl") as authority,
    ):
        yield TsaBackend(authority, [tsa.root], "1.2.3.4.1")


class TestEmbeddedTimestampAuthority(TimestampAuthorityContract):
    @pytest.fixture
    def backend(self, embedded: TsaBackend) -> TsaBackend:
        return embedded


class TestTimestampClient(TimestampAuthorityContract):
    """A :class:`TimestampClient` is an authority too: here in front of the embedded TSA."""

    @pytest.fixture
    def backend(self, embedded: TsaBackend) -> TsaBackend:
        return TsaBackend(
            TimestampClient([embedded.authority]), embedded.trust_roots, embedded.policy
        )


class TestHubTsaOverHttp(TimestampAuthorityContract):
    @pytest.fixture
    def backend(self, hub_over_http: TsaBackend) -> TsaBackend:
        return hub_over_http


class TestOpenSslTsaOverHttp(TimestampAuthorityContract):
    @pytest.fixture
    def backend(self, openssl_over_http: TsaBackend) -> TsaBackend:
        return openssl_over_http
