"""Clients of timestamp authorities over real HTTP: the hub's TSA and an independent
one (``openssl ts -reply``) behind http.server on loopback ports, fail-over and retries
against closed ports and failing servers, answers that must be refused, and several
authorities asked at once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from asn1crypto import tsp

from evidence.errors import TimestampError, TimestampUnavailable
from evidence.timestamping import (
    EmbeddedTimestampAuthority,
    HttpTimestampAuthority,
    TimestampAuthority,
    TimestampClient,
    TsaKeyMaterial,
    handle_request,
    verify_token,
)
from evidence.timestamping.tsp_asn1 import granted_response, rejection_response
from tests.evidence.timestamping_support import (
    DIGEST,
    OTHER_DIGEST,
    Answer,
    CustomPki,
    OpenSslTsa,
    closed_port_url,
    hub_tsa,
    openssl,
    reply,
    serve,
)


@pytest.fixture(scope="module")
def hub(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[EmbeddedTimestampAuthority, TsaKeyMaterial]:
    return hub_tsa(tmp_path_factory.mktemp("hub-tsa"))


@pytest.fixture(scope="module")
def openssl_tsa(tmp_path_factory: pytest.TempPathFactory) -> OpenSslTsa:
    return OpenSslTsa.create(tmp_path_factory.mktemp("openssl-tsa"))


def hub_answer(authority: EmbeddedTimestampAuthority) -> Callable[[bytes], Answer]:
    return lambda body: reply(handle_request(body, authority))


def query_of(body: bytes) -> tuple[bytes, int | None]:
    request = tsp.TimeStampReq.load(body)
    return request["message_imprint"]["hashed_message"].native, request["nonce"].native


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


# -- one authority over HTTP -------------------------------------------------------------


def test_hub_tsa_over_http(hub: tuple[EmbeddedTimestampAuthority, TsaKeyMaterial]) -> None:
    authority, material = hub
    with serve(hub_answer(authority)) as served:
        tsa = HttpTimestampAuthority(served.url, trust_roots=[material.root_certificate])
        with tsa:
            token = tsa.timestamp(DIGEST)
    assert token.tsa == served.url and token.message_imprint == DIGEST
    assert token.certificates == material.chain
    assert isinstance(tsa, TimestampAuthority)
    digest, nonce = query_of(served.hits[0])
    assert digest == DIGEST and nonce is not None and nonce > 0
    verified = verify_token(token.token, DIGEST, trust_roots=[material.root_certificate])
    assert (verified.serial_number, verified.gen_time) == (token.serial_number, token.gen_time)


def test_openssl_tsa_over_http(tmp_path: Path, openssl_tsa: OpenSslTsa) -> None:
    with serve(openssl_tsa.answer) as served:
        tsa = HttpTimestampAuthority(served.url, trust_roots=[openssl_tsa.root], name="openssl")
        token = tsa.timestamp(DIGEST, nonce=2**63 + 11)
        sha512 = tsa.timestamp(bytes(range(64)), hash_algorithm="sha512")
        tsa.close()
    assert token.tsa == "openssl"
    verified = verify_token(token.token, DIGEST, trust_roots=[openssl_tsa.root])
    assert verified.tsa_subject == "CN=OpenSSL TSA,O=OpenSSL test"
    assert verified.policy == "1.2.3.4.1" and verified.nonce == 2**63 + 11
    assert verified.chain_trusted and len(token.certificates) == 2
    assert sha512.hash_algorithm == "sha512"
    # The stored token is the openssl TSA's bytes and openssl itself still verifies it.
    (tmp_path / "r.tsr").write_bytes(granted_response(token.token))
    out = openssl(
        "ts", "-verify", "-digest", DIGEST.hex(), "-in", tmp_path / "r.tsr",
        "-CAfile", openssl_tsa.directory / "ca.pem",
    )  # fmt: skip
    assert b"Verification: OK" in out


def test_requested_policy(openssl_tsa: OpenSslTsa) -> None:
    with serve(openssl_tsa.answer) as served:
        tsa = HttpTimestampAuthority(served.url, trust_roots=[openssl_tsa.root], policy="1.2.3.4.5")
        assert verify_token(tsa.timestamp(DIGEST).token, DIGEST).policy == "1.2.3.4.5"
        refused = HttpTimestampAuthority(served.url, policy="1.9.9")
        with pytest.raises(TimestampError, match="rejection"):
            refused.timestamp(DIGEST)


def test_trust_roots_are_enforced(
    openssl_tsa: OpenSslTsa, hub: tuple[EmbeddedTimestampAuthority, TsaKeyMaterial]
) -> None:
    _, material = hub
    with serve(openssl_tsa.answer) as served:
        pinned_elsewhere = HttpTimestampAuthority(
            served.url, trust_roots=[material.root_certificate]
        )
        with pytest.raises(TimestampError, match="untrusted root"):
            pinned_elsewhere.timestamp(DIGEST)
        # Without trust roots the token is still checked against the chain it carries.
        assert HttpTimestampAuthority(served.url).timestamp(DIGEST).message_imprint == DIGEST


# -- answers that must be refused --------------------------------------------------------


def _wrong_imprint(authority: EmbeddedTimestampAuthority) -> Callable[[bytes], Answer]:
    def answer(body: bytes) -> Answer:
        _, nonce = query_of(body)
        return reply(granted_response(authority.timestamp(OTHER_DIGEST, nonce=nonce).token))

    return answer


def _wrong_nonce(authority: EmbeddedTimestampAuthority) -> Callable[[bytes], Answer]:
    def answer(body: bytes) -> Answer:
        digest, nonce = query_of(body)
        assert nonce is not None
        return reply(granted_response(authority.timestamp(digest, nonce=nonce + 1).token))

    return answer


def _bad_answers(
    authority: EmbeddedTimestampAuthority, pki: CustomPki
) -> dict[str, tuple[Callable[[bytes], Answer], str]]:
    no_eku = EmbeddedTimestampAuthority(pki.issue(eku=[]))
    return {
        "garbage": (lambda _: reply(b"\x30\x82garbage"), "not a TimeStampResp"),
        "html": (lambda _: (200, "text/html", b"<html>hi</html>"), "answered text/html"),
        "not found": (lambda _: (404, "text/plain", b"no"), "HTTP 404"),
        "rejection": (
            lambda _: reply(rejection_response("bad_alg", "no such algorithm")),
            "status rejection",
        ),
        "granted without token": (
            lambda _: reply(bytes.fromhex("3005300302010" + "0")),
            "status granted",
        ),
        "wrong imprint": (_wrong_imprint(authority), "imprint mismatch"),
        "wrong nonce": (_wrong_nonce(authority), "nonce mismatch"),
        "not a timeStamping certificate": (
            hub_answer(no_eku),
            "not a timeStamping certificate",
        ),
        "too large": (lambda _: reply(b"\x30" * 300_000), "over"),
    }


BAD_ANSWERS = [
    "garbage",
    "html",
    "not found",
    "rejection",
    "granted without token",
    "wrong imprint",
    "wrong nonce",
    "not a timeStamping certificate",
    "too large",
]


@pytest.mark.parametrize("case", BAD_ANSWERS)
def test_bad_answers_are_timestamp_errors_and_not_retried(
    hub: tuple[EmbeddedTimestampAuthority, TsaKeyMaterial], case: str
) -> None:
    authority, material = hub
    pki = CustomPki.create()
    answer, reason = _bad_answers(authority, pki)[case]
    roots = [material.root_certificate, pki.root]
    with serve(answer) as served:
        with pytest.raises(TimestampError, match=reason):
            HttpTimestampAuthority(served.url, trust_roots=roots).timestamp(DIGEST)
        sleeps = Sleeps()
        client = TimestampClient(
            [HttpTimestampAuthority(served.url, trust_roots=roots)], sleep=sleeps
        )
        with pytest.raises(TimestampError, match=reason):
            client.timestamp(DIGEST)
    assert len(served.hits) == 2 and sleeps == []  # one per call: no retry


def test_transient_refusals_are_unavailability() -> None:
    busy = reply(rejection_response("time_not_available", "clock not synchronised"))
    with serve(lambda _: busy) as served, pytest.raises(TimestampUnavailable, match="time_not"):
        HttpTimestampAuthority(served.url).timestamp(DIGEST)
    with (
        serve(lambda _: (503, "text/plain", b"overloaded")) as served,
        pytest.raises(TimestampUnavailable, match="HTTP 503"),
    ):
        HttpTimestampAuthority(served.url).timestamp(DIGEST)


# -- fail-over ---------------------------------------------------------------------------


def test_a_down_tsa_is_retried_then_the_next_one_answers(
    hub: tuple[EmbeddedTimestampAuthority, TsaKeyMaterial],
) -> None:
    authority, material = hub
    down = HttpTimestampAuthority(closed_port_url(), timeout=2)
    with serve(hub_answer(authority)) as served:
        up = HttpTimestampAuthority(served.url, trust_roots=[material.root_certificate])
        sleeps = Sleeps()
        token = TimestampClient([down, up], retries=2, backoff=0.1, sleep=sleeps).timestamp(DIGEST)
    assert token.tsa == served.url and len(served.hits) == 1
    assert sleeps == [0.1, 0.2]  # two retries of the down TSA, exponential backoff


def test_a_failing_server_is_retried(
    hub: tuple[EmbeddedTimestampAuthority, TsaKeyMaterial],
) -> None:
    authority, _ = hub
    answers = iter([(503, "text/plain", b"busy"), (502, "text/plain", b"gateway")])

    def flaky(body: bytes) -> Answer:
        return next(answers, None) or reply(handle_request(body, authority))

    with serve(flaky) as served:
        sleeps = Sleeps()
        token = TimestampClient([HttpTimestampAuthority(served.url)], sleep=sleeps).timestamp(
            DIGEST
        )
    assert token.message_imprint == DIGEST
    assert len(served.hits) == 3 and len(sleeps) == 2


def test_a_bad_tsa_falls_back_to_the_next(
    hub: tuple[EmbeddedTimestampAuthority, TsaKeyMaterial], openssl_tsa: OpenSslTsa
) -> None:
    authority, _ = hub
    with serve(_wrong_nonce(authority)) as bad, serve(openssl_tsa.answer) as good:
        client = TimestampClient(
            [HttpTimestampAuthority(bad.url), HttpTimestampAuthority(good.url)], sleep=Sleeps()
        )
        token = client.timestamp(DIGEST)
    assert token.tsa == good.url


def test_all_down_is_unavailable() -> None:
    sleeps = Sleeps()
    client = TimestampClient(
        [HttpTimestampAuthority(closed_port_url(), timeout=2) for _ in range(2)],
        retries=1,
        sleep=sleeps,
    )
    with pytest.raises(TimestampUnavailable, match="no timestamp authority gave a token"):
        client.timestamp(DIGEST)
    assert sleeps == [0.2, 0.2]


def test_the_embedded_tsa_is_an_authority_too(
    hub: tuple[EmbeddedTimestampAuthority, TsaKeyMaterial],
) -> None:
    authority, material = hub
    client = TimestampClient([authority])
    token = client.timestamp(DIGEST)
    assert verify_token(token.token, DIGEST, trust_roots=[material.root_certificate])
    with pytest.raises(ValueError, match="at least one"):
        TimestampClient([])


# -- several authorities at once ---------------------------------------------------------


def test_timestamp_all_asks_independent_authorities_concurrently(
    hub: tuple[EmbeddedTimestampAuthority, TsaKeyMaterial], openssl_tsa: OpenSslTsa
) -> None:
    authority, material = hub
    # Each server holds its answer until both requests are in: sequential asking would
    # time out on the barrier.
    both_in = threading.Barrier(2, timeout=10)

    def together(answer: Callable[[bytes], Answer]) -> Callable[[bytes], Answer]:
        def wait_then(body: bytes) -> Answer:
            both_in.wait()
            return answer(body)

        return wait_then

    with serve(together(hub_answer(authority))) as a, serve(together(openssl_tsa.answer)) as b:
        client = TimestampClient(
            [
                HttpTimestampAuthority(a.url, trust_roots=[material.root_certificate]),
                HttpTimestampAuthority(b.url, trust_roots=[openssl_tsa.root]),
            ]
        )
        tokens = client.timestamp_all(DIGEST, minimum=2)
    assert [t.tsa for t in tokens] == [a.url, b.url]
    subjects = {
        verify_token(t.token, DIGEST, certificates=t.certificates).tsa_subject for t in tokens
    }
    assert subjects == {"CN=Notary Hub TSA,O=Notary Hub", "CN=OpenSSL TSA,O=OpenSSL test"}


def test_timestamp_all_minimum(hub: tuple[EmbeddedTimestampAuthority, TsaKeyMaterial]) -> None:
    authority, _ = hub
    down = HttpTimestampAuthority(closed_port_url(), timeout=2)
    client = TimestampClient([authority, down], retries=0)
    assert [t.tsa for t in client.timestamp_all(DIGEST, minimum=1)] == [authority.name]
    with pytest.raises(TimestampUnavailable, match="1 of 2 authorities gave a token, 2 needed"):
        client.timestamp_all(DIGEST, minimum=2)
    with pytest.raises(ValueError, match="minimum"):
        client.timestamp_all(DIGEST, minimum=3)
