"""Presentation challenges the hub issues and consumes: fresh, bound to a domain, answered once.

After the VC API "exchanges" (https://w3c-ccg.github.io/vc-api/#exchanges), kept small:
a verifier (or the holder on its behalf) asks the hub for a challenge, the holder signs
a presentation over it (VC Data Integrity §2.1 ``challenge`` / ``domain``, or the
``nonce`` / ``aud`` of a vp+jwt), and the hub's verify route accepts it once:

- a challenge is 128 random bits, base64url (RFC 4648 §5), valid for ``lifetime``,
  bound to the domain it was issued for (default: the hub's public origin);
- :meth:`ChallengeService.verify_presentation` verifies with the challenge's own
  domain when the request names none, refuses an expired challenge
  (``CHALLENGE_EXPIRED_ERROR``) or one already answered (``CHALLENGE_REPLAYED_ERROR``),
  and marks it used in one conditional ``UPDATE`` (two concurrent answers: one wins)
  once everything else verifies, so a presentation that fails leaves it answerable;
- a challenge the hub did not issue is the verifier's own choice and is checked as
  given (the VC API allows it); the result's ``details.challenge.issuedByHub`` says
  which, and only a hub-issued one carries the hub's freshness and single use.

Rows are kept :data:`RETENTION` seconds past their expiry, so a replay in that time is
named as one; after that the challenge reads as verifier-chosen (``issuedByHub``
false), never as the hub's.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from credentials.challenge_models import ChallengeRow
from credentials.errors import (
    ChallengeExpired,
    ChallengeReplayed,
    InvalidDomain,
    MalformedCredential,
)
from credentials.verification import VerificationResult
from credentials.verifier import Verifier

CHECK = "challenge"
CHALLENGE_BYTES = 16  # 128 bits
MAX_DOMAIN_CHARS = 512
RETENTION = 86_400  # seconds a used or expired challenge is still recognised


@dataclass(frozen=True, slots=True)
class IssuedChallenge:
    challenge: str
    domain: str
    expires: int  # unix seconds

    def to_json(self) -> dict[str, str]:
        moment = datetime.fromtimestamp(self.expires, UTC)
        return {
            "challenge": self.challenge,
            "domain": self.domain,
            "expires": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }


def digest_of(challenge: str) -> bytes:
    return hashlib.sha256(challenge.encode()).digest()


def check_domain(domain: str) -> str:
    """A domain a challenge may be bound to: a non-empty printable string, no spaces."""
    if not domain or len(domain) > MAX_DOMAIN_CHARS or not domain.isprintable() or " " in domain:
        raise MalformedCredential(
            f"a challenge's domain is 1 to {MAX_DOMAIN_CHARS} printable characters without spaces"
        )
    return domain


class ChallengeService:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        default_domain: str,
        lifetime: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if lifetime < 1:
            raise ValueError("a challenge lives at least one second")
        self._sessions = sessions
        self._domain = check_domain(default_domain)
        self._lifetime = lifetime
        self._clock = clock

    @property
    def default_domain(self) -> str:
        return self._domain

    def issue(self, domain: str | None = None) -> IssuedChallenge:
        """A fresh challenge for ``domain`` (default: the hub's origin), stored unused."""
        bound = self._domain if domain is None else check_domain(domain)
        now = int(self._clock())
        challenge = base64.urlsafe_b64encode(secrets.token_bytes(CHALLENGE_BYTES))
        issued = IssuedChallenge(challenge.rstrip(b"=").decode(), bound, now + self._lifetime)
        with self._sessions.begin() as session:
            session.execute(delete(ChallengeRow).where(ChallengeRow.expires_at < now - RETENTION))
            session.add(
                ChallengeRow(
                    digest=digest_of(issued.challenge),
                    domain=bound,
                    issued_at=now,
                    expires_at=issued.expires,
                )
            )
        return issued

    def verify_presentation(
        self,
        verifier: Verifier,
        presentation: Any,
        *,
        challenge: str | None,
        domain: str | None,
    ) -> VerificationResult:
        """``verifier``'s result for ``presentation``, with the ``challenge`` check when the
        hub issued it (consumed here when everything else verifies)."""
        row = self._find(challenge) if challenge is not None else None
        if row is None:
            result = verifier.verify_presentation(presentation, challenge=challenge, domain=domain)
            if challenge is not None:
                result.details["challenge"] = {"issuedByHub": False}
            return result
        result = verifier.verify_presentation(
            presentation, challenge=challenge, domain=domain if domain is not None else row.domain
        )
        result.details["challenge"] = {"issuedByHub": True, "domain": row.domain}
        self._judge(row, domain, result)
        return result

    def _find(self, challenge: str) -> ChallengeRow | None:
        with self._sessions() as session:
            return session.scalar(
                select(ChallengeRow).where(ChallengeRow.digest == digest_of(challenge))
            )

    def _judge(self, row: ChallengeRow, domain: str | None, result: VerificationResult) -> None:
        now = int(self._clock())
        if domain is not None and domain != row.domain:
            result.fail(
                CHECK,
                InvalidDomain(f"the hub issued this challenge for {row.domain}, not {domain}"),
            )
        elif row.used_at is not None:
            result.fail(CHECK, ChallengeReplayed(_replayed(row.used_at)))
        elif row.expires_at <= now:
            result.fail(CHECK, ChallengeExpired(f"the challenge expired at {_iso(row.expires_at)}"))
        elif result.errors:
            return  # a presentation that fails does not use the challenge up
        elif self._consume(row.digest, now):
            result.passed(CHECK)
        else:  # answered by a concurrent request between the read and now
            result.fail(CHECK, ChallengeReplayed(_replayed(now)))

    def _consume(self, digest: bytes, now: int) -> bool:
        with self._sessions.begin() as session:
            changed = session.execute(
                update(ChallengeRow)
                .where(ChallengeRow.digest == digest, ChallengeRow.used_at.is_(None))
                .values(used_at=now)
            )
            return bool(getattr(changed, "rowcount", 0) == 1)


def _iso(moment: int) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _replayed(used_at: int) -> str:
    return f"the challenge was already answered at {_iso(used_at)}: this is a replay"
