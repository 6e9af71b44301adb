"""Deposits received → timestamped: an RFC 3161 token over each content's SHA-256.

RFC 3161 §2.4.1: the messageImprint is the content's SHA-256. Tokens come from the
configured authorities (a :class:`~evidence.timestamping.client.TimestampClient`
fails over between them); an authority that is down leaves the deposit ``received``,
retried with exponential backoff. Tokens from external authorities are asked for
concurrently; the embedded TSA, which costs CPU rather than waiting, is called in a loop.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from evidence.deposit.claims import DepositClaims
from evidence.deposit.models import Deposit, DepositState
from evidence.deposit.tokens import IMPRINT_ALGORITHM, check_token, token_values
from evidence.errors import TimestampError, TimestampUnavailable
from evidence.timestamping.client import TimestampClient
from evidence.timestamping.embedded_tsa import EmbeddedTimestampAuthority
from evidence.timestamping.protocol import TimestampAuthority, TimestampToken


class TimestampStage:
    name = "timestamp"

    def __init__(
        self,
        claims: DepositClaims,
        authority: TimestampAuthority,
        *,
        concurrency: int,
        clock: Callable[[], datetime],
        lease_ending: Callable[[datetime], bool],
    ) -> None:
        self._claims = claims
        self._authority = authority
        # Threads would only add overhead to the embedded TSA's CPU work; an external
        # authority answers in network time, so ask it concurrently.
        self._concurrency = 1 if _answers_in_process(authority) else max(1, concurrency)
        self._pool: ThreadPoolExecutor | None = None  # made on first need
        self._clock = clock
        self._lease_ending = lease_ending
        self.last_error: str | None = None

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False)

    def run_pass(self) -> int:
        claimed_at = self._clock()
        claimed = self._claims.claim(DepositState.RECEIVED, Deposit.sha256, claimed_at)
        results: list[dict[str, Any]] = []
        window = self._concurrency
        for start in range(0, len(claimed), window):
            if self._lease_ending(claimed_at):
                self._claims.release([row[0] for row in claimed[start:]])
                break
            chunk = claimed[start : start + window]
            down = False
            for (deposit_id, _), outcome in zip(chunk, self._tokens(chunk), strict=True):
                if isinstance(outcome, Exception):
                    self.last_error = self._claims.fail(deposit_id, outcome)
                    down = down or isinstance(outcome, TimestampUnavailable)
                    continue
                results.append(token_values(deposit_id, outcome, self._clock()))
                self.last_error = None
            if down:
                # Every authority is down: the others wait for the next pass.
                self._claims.release([row[0] for row in claimed[start + window :]])
                break
        return self._claims.finish(DepositState.RECEIVED, DepositState.TIMESTAMPED, results)

    def _tokens(self, chunk: list[tuple[str, Any]]) -> list[TimestampToken | Exception]:
        """A token (or the authority's error) for each ``(id, sha256)``, concurrently when
        the authority is external."""
        if len(chunk) == 1:
            return [self._token(bytes(sha256)) for _, sha256 in chunk]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._concurrency, thread_name_prefix="evidence-tsa")
        futures = [self._pool.submit(self._token, bytes(sha256)) for _, sha256 in chunk]
        return [future.result() for future in futures]

    def _token(self, sha256: bytes) -> TimestampToken | Exception:
        try:
            token = self._authority.timestamp(sha256, hash_algorithm=IMPRINT_ALGORITHM)
            check_token(token, sha256)
        except (TimestampUnavailable, TimestampError) as exc:
            return exc
        return token


def _answers_in_process(authority: TimestampAuthority) -> bool:
    """Whether tokens come from the embedded TSA (first in line, for a fail-over client)."""
    if isinstance(authority, TimestampClient):
        authority = authority.authorities[0]
    return isinstance(authority, EmbeddedTimestampAuthority)
