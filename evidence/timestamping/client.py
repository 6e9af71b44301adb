"""Clients of RFC 3161 timestamp authorities: one over HTTP, and a fail-over client.

RFC 3161 §3.4 (https://www.rfc-editor.org/rfc/rfc3161#section-3.4): the request is a
DER TimeStampReq POSTed as ``application/timestamp-query``; the answer is a DER
TimeStampResp as ``application/timestamp-reply``. §2.4.1: a nonce and certReq=TRUE are
sent so the answer is fresh and carries the TSA certificate; §2.4.2: the token is then
checked (imprint, nonce, signature, TSA certificate and chain) before it is accepted.

The request is encoded with asn1crypto rather than rfc3161-client's
``TimestampRequestBuilder``, which only hashes data itself and picks its own nonce,
while the hub holds a digest; the answer is checked with rfc3161-client's verifier via
:func:`~evidence.timestamping.verify.verify_token`.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from asn1crypto import tsp
from cryptography import x509

from evidence.errors import InvalidTimestampToken, TimestampError, TimestampUnavailable
from evidence.timestamping.health import AuthorityHealth
from evidence.timestamping.protocol import TimestampAuthority, TimestampToken, check_digest
from evidence.timestamping.tsa_http import TIMESTAMP_QUERY_MEDIA_TYPE, TIMESTAMP_REPLY_MEDIA_TYPE
from evidence.timestamping.tsp_asn1 import TimeStampResp
from evidence.timestamping.verify import verify_token

__all__ = ["HttpTimestampAuthority", "TimestampClient"]

#: Answers are a few kilobytes (a token and a short chain); anything far bigger is refused.
MAX_RESPONSE_BYTES = 256 * 1024
# PKIFailureInfo bits that say "try again later" rather than "this will never work".
_TRANSIENT_FAILURES = {"time_not_available", "system_failure"}

_log = logging.getLogger(__name__)


def _request(digest: bytes, hash_algorithm: str, nonce: int, policy: str | None) -> bytes:
    fields: dict[str, Any] = {
        "version": "v1",
        "message_imprint": {
            "hash_algorithm": {"algorithm": hash_algorithm},
            "hashed_message": digest,
        },
        "nonce": nonce,
        "cert_req": True,
    }
    if policy is not None:
        fields["req_policy"] = policy
    return bytes(tsp.TimeStampReq(fields).dump())


class HttpTimestampAuthority:
    """An external TSA reached over HTTP(S); every token it returns is verified first.

    With ``trust_roots`` the TSA chain must end at one of them; without, the token is
    only checked against the root certificate it carries. ``policy`` (a dotted OID)
    is requested and then required.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10.0,
        trust_roots: Sequence[x509.Certificate] | None = None,
        policy: str | None = None,
        name: str | None = None,
    ) -> None:
        self.url = url
        self.name = name or url
        self._trust_roots = list(trust_roots) if trust_roots is not None else None
        self._policy = policy
        self._http = httpx.Client(timeout=timeout, follow_redirects=False)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HttpTimestampAuthority:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"HttpTimestampAuthority({self.url!r})"

    def _post(self, body: bytes) -> bytes:
        headers = {"Content-Type": TIMESTAMP_QUERY_MEDIA_TYPE, "Accept": TIMESTAMP_REPLY_MEDIA_TYPE}
        try:
            with self._http.stream("POST", self.url, content=body, headers=headers) as answer:
                if answer.status_code >= 500:
                    raise TimestampUnavailable(f"{self.name}: HTTP {answer.status_code}")
                if answer.status_code != 200:
                    raise TimestampError(f"{self.name}: HTTP {answer.status_code}")
                media_type = answer.headers.get("content-type", "").split(";")[0].strip()
                if media_type.lower() != TIMESTAMP_REPLY_MEDIA_TYPE:
                    raise TimestampError(f"{self.name}: answered {media_type or 'no media type'}")
                received = bytearray()
                for chunk in answer.iter_bytes():
                    received += chunk
                    if len(received) > MAX_RESPONSE_BYTES:
                        raise TimestampError(f"{self.name}: answer over {MAX_RESPONSE_BYTES} bytes")
                return bytes(received)
        except httpx.HTTPError as exc:
            raise TimestampUnavailable(f"{self.name}: {type(exc).__name__}: {exc}") from None

    def _token(self, answer: bytes) -> bytes:
        """The token of a granted TimeStampResp; a refusal is an error of the right kind."""
        try:
            response = TimeStampResp.load(answer, strict=True)
            status = response["status"]
            state = status["status"].native
            texts = status["status_string"].native or []
            failures = sorted(status["fail_info"].native or ())
            token = response["time_stamp_token"]
            present = token.native is not None
        except (ValueError, TypeError, KeyError, OverflowError) as exc:
            raise TimestampError(f"{self.name}: not a TimeStampResp ({exc})") from None
        if state in ("granted", "granted_with_mods") and present:
            return bytes(token.dump())  # the bytes as received: asn1crypto keeps them
        detail = "; ".join([*texts, *failures]) or "no detail"
        message = f"{self.name}: status {state} ({detail})"
        if state == "waiting" or _TRANSIENT_FAILURES.intersection(failures):
            raise TimestampUnavailable(message)
        raise TimestampError(message)

    def timestamp(
        self, digest: bytes, *, hash_algorithm: str = "sha256", nonce: int | None = None
    ) -> TimestampToken:
        check_digest(digest, hash_algorithm)
        if nonce is None:
            nonce = secrets.randbits(64)  # 64 bits, like OpenSSL's `ts -query`
        token = self._token(self._post(_request(digest, hash_algorithm, nonce, self._policy)))
        try:
            verified = verify_token(
                token,
                digest,
                trust_roots=self._trust_roots,
                nonce=nonce,
                hash_algorithm=hash_algorithm,
            )
        except InvalidTimestampToken as exc:
            raise TimestampError(f"{self.name}: {exc.message}") from None
        if self._policy is not None and verified.policy != self._policy:
            raise TimestampError(f"{self.name}: token under policy {verified.policy}")
        return TimestampToken(
            token=token,
            gen_time=verified.gen_time,
            serial_number=verified.serial_number,
            tsa=self.name,
            hash_algorithm=hash_algorithm,
            message_imprint=bytes(digest),
            certificates=verified.certificates,
        )


class TimestampClient:
    """Several authorities: fail over for one token, or ask them all for several.

    Each authority is tried ``1 + retries`` times while it is unavailable, waiting
    ``backoff``, then twice that, and so on; an authority that answers with something
    invalid is not asked again for that digest. A :class:`TimestampClient` is itself a
    :class:`TimestampAuthority`.
    """

    def __init__(
        self,
        authorities: Sequence[TimestampAuthority],
        *,
        retries: int = 2,
        backoff: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not authorities:
            raise ValueError("a TimestampClient needs at least one authority")
        if retries < 0 or backoff < 0:
            raise ValueError("retries and backoff must not be negative")
        self.authorities = tuple(authorities)
        self.name = ", ".join(a.name for a in self.authorities)
        self._retries = retries
        self._backoff = backoff
        self._sleep = sleep
        self.health = AuthorityHealth()

    def _ask(
        self, authority: TimestampAuthority, digest: bytes, hash_algorithm: str, nonce: int | None
    ) -> TimestampToken:
        for attempt in range(self._retries + 1):
            try:
                token = authority.timestamp(digest, hash_algorithm=hash_algorithm, nonce=nonce)
            except TimestampUnavailable as exc:
                self.health.failed(authority.name, exc)
                _log.warning("timestamp authority unavailable (attempt %d): %s", attempt + 1, exc)
                if attempt == self._retries:
                    raise
                self._sleep(self._backoff * 2**attempt)
            except TimestampError as exc:
                self.health.failed(authority.name, exc)
                raise
            else:
                self.health.succeeded(authority.name)
                return token
        raise AssertionError("unreachable")

    @staticmethod
    def _failure(failures: list[tuple[str, Exception]], summary: str) -> Exception:
        detail = "; ".join(f"{name}: {exc}" for name, exc in failures)
        if all(isinstance(exc, TimestampUnavailable) for _, exc in failures):
            return TimestampUnavailable(f"{summary}: {detail}")
        return TimestampError(f"{summary}: {detail}")

    def timestamp(
        self, digest: bytes, *, hash_algorithm: str = "sha256", nonce: int | None = None
    ) -> TimestampToken:
        """A token from the first authority that gives a valid one, in the given order."""
        check_digest(digest, hash_algorithm)
        failures: list[tuple[str, Exception]] = []
        for authority in self.authorities:
            try:
                return self._ask(authority, digest, hash_algorithm, nonce)
            except (TimestampError, TimestampUnavailable) as exc:
                _log.warning("falling back from timestamp authority %s: %s", authority.name, exc)
                failures.append((authority.name, exc))
        raise self._failure(failures, "no timestamp authority gave a token")

    def timestamp_all(
        self, digest: bytes, *, minimum: int, hash_algorithm: str = "sha256"
    ) -> list[TimestampToken]:
        """Tokens from every authority that gives one, asked concurrently, in the given
        order; fewer than ``minimum`` is an error (multi-party evidence)."""
        if not 1 <= minimum <= len(self.authorities):
            raise ValueError(f"minimum must be between 1 and {len(self.authorities)}")
        check_digest(digest, hash_algorithm)
        with ThreadPoolExecutor(max_workers=len(self.authorities)) as pool:
            futures = [
                pool.submit(self._ask, authority, digest, hash_algorithm, None)
                for authority in self.authorities
            ]
        tokens: list[TimestampToken] = []
        failures: list[tuple[str, Exception]] = []
        for authority, future in zip(self.authorities, futures, strict=True):
            try:
                tokens.append(future.result())
            except (TimestampError, TimestampUnavailable) as exc:
                failures.append((authority.name, exc))
        if len(tokens) < minimum:
            raise self._failure(
                failures,
                f"{len(tokens)} of {len(self.authorities)} authorities gave a token, "
                f"{minimum} needed",
            )
        return tokens
