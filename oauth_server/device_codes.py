"""Device authorisation requests at rest (RFC 8628): stored, answered once, used once.

- A device code is 256 random bits (Authlib's 42-character token is more): only its
  SHA-256 is stored, like the hub's other codes. The user code (RFC 8628 §6.1: eight
  characters of the 20 consonants ``BCDFGHJKLMNPQRSTVWXZ``, about 34.5 bits, shown
  ``XXXX-XXXX``) is stored as the SHA-256 of its normalised form: upper case, dashes
  and spaces dropped, so a person may type it either way (§6.1 "case-insensitive ...
  punctuation ignored"). Brute force is bounded by its expiry and the verification
  page's rate limit (§5.1, :mod:`oauth_server.device_router`).
- The person's answer is recorded once (a conditional ``UPDATE``) before the request
  expires, with the account, its pairwise subject for the client and the scopes granted.
- A poll records its time; one sooner than the request's interval since the last
  adds 5 seconds to the interval for this and every later poll (§3.5 ``slow_down``).
- The token request that finds the request approved claims the device code in one
  conditional ``UPDATE`` (of two racing polls one wins); a device code used again is
  ``invalid_grant``, and revokes the tokens it bought (as a replayed code does, RFC
  9700 §4.5).
https://www.rfc-editor.org/rfc/rfc8628#section-3.5
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from authlib.oauth2.rfc6749 import InvalidGrantError
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from oauth_server.errors import OAuthError
from oauth_server.models import DeviceAuthorizationRow

USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
USER_CODE_LENGTH = 8
SLOW_DOWN_SECONDS = 5  # RFC 8628 §3.5
RETENTION = 86_400  # seconds a finished request is kept, so a late replay is named as one


def code_digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


def normalise_user_code(typed: str) -> str | None:
    """The user code as stored (upper case, no dash or space); None if it cannot be one."""
    code = "".join(typed.split()).replace("-", "").upper()
    if len(code) != USER_CODE_LENGTH or any(ch not in USER_CODE_ALPHABET for ch in code):
        return None
    return code


def display_user_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


@dataclass(frozen=True)
class DeviceRequest:
    """A request as the verification page shows it."""

    client_id: str
    scopes: tuple[str, ...]
    expires_at: int


@dataclass(frozen=True)
class DeviceCredential:
    """A polled request, as Authlib's :class:`DeviceCodeGrant` reads it."""

    code_hash: bytes
    client_id: str
    scope: str  # granted once approved, else asked
    user_code_hash: bytes
    expired: bool
    decision: str | None
    account_id: str | None
    subject: str | None
    slow_down: bool

    def get_client_id(self) -> str:
        return self.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_user_code(self) -> bytes:
        return self.user_code_hash

    def is_expired(self) -> bool:
        return self.expired


def _unknown_user_code() -> OAuthError:
    return OAuthError(
        "device_code_unknown",
        "no device is waiting for this code: check it, or start again on the device",
        status_code=404,
    )


class DeviceCodes:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        lifetime: int,
        interval: int,
        on_replay: Callable[[bytes], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._sessions = sessions
        self._on_replay = on_replay
        self.lifetime = lifetime
        self.interval = interval
        self._clock = clock

    def user_code_free(self, user_code: str) -> bool:
        with self._sessions() as session:
            hashed = code_digest(normalise_user_code(user_code) or user_code)
            found = session.scalar(
                select(DeviceAuthorizationRow.device_code_hash).where(
                    DeviceAuthorizationRow.user_code_hash == hashed
                )
            )
            return found is None

    def store(self, client_id: str, scope: str, device_code: str, user_code: str) -> None:
        now = int(self._clock())
        normal = normalise_user_code(user_code)
        assert normal is not None, "the endpoint generates codes of the alphabet"
        with self._sessions.begin() as session:
            session.execute(
                delete(DeviceAuthorizationRow).where(
                    DeviceAuthorizationRow.expires_at < now - RETENTION
                )
            )
            session.add(
                DeviceAuthorizationRow(
                    device_code_hash=code_digest(device_code),
                    user_code_hash=code_digest(normal),
                    client_id=client_id,
                    scope=scope,
                    created_at=now,
                    expires_at=now + self.lifetime,
                    interval=self.interval,
                )
            )

    # -- the verification page -----------------------------------------------------------

    def waiting(self, user_code: str) -> DeviceRequest:
        """The request awaiting the person's answer under ``user_code``."""
        row = self._by_user_code(user_code)
        if row.decision is not None:
            raise OAuthError(
                "device_code_answered", "this code was already answered", status_code=409
            )
        return DeviceRequest(row.client_id, tuple(row.scope.split()), row.expires_at)

    def answer(
        self,
        user_code: str,
        *,
        account_id: str,
        subject: str,
        granted: tuple[str, ...] | None,
    ) -> None:
        """Approve with ``granted`` scopes, or deny (``granted`` None): once, in time."""
        row = self._by_user_code(user_code)
        now = int(self._clock())
        values = {"decision": "denied" if granted is None else "approved", "decided_at": now}
        if granted is not None:
            values |= {
                "account_id": account_id,
                "subject": subject,
                "granted_scope": " ".join(granted),
            }
        with self._sessions.begin() as session:
            won = session.execute(
                update(DeviceAuthorizationRow)
                .where(
                    DeviceAuthorizationRow.device_code_hash == row.device_code_hash,
                    DeviceAuthorizationRow.decision.is_(None),
                    DeviceAuthorizationRow.expires_at > now,
                )
                .values(**values)
            )
        if getattr(won, "rowcount", 0) != 1:
            raise OAuthError(
                "device_code_answered", "this code was already answered", status_code=409
            )

    def _by_user_code(self, user_code: str) -> DeviceAuthorizationRow:
        normal = normalise_user_code(user_code)
        if normal is None:
            raise _unknown_user_code()
        with self._sessions() as session:
            row = session.scalar(
                select(DeviceAuthorizationRow).where(
                    DeviceAuthorizationRow.user_code_hash == code_digest(normal)
                )
            )
            if row is None or row.used_at is not None:
                raise _unknown_user_code()
            if row.expires_at <= int(self._clock()):
                raise OAuthError(
                    "device_code_expired",
                    "this code has expired: start again on the device",
                    status_code=410,
                )
            session.expunge(row)
            return row

    # -- the token endpoint --------------------------------------------------------------

    def poll(self, device_code: str, client_id: str) -> DeviceCredential:
        """The request, this poll recorded; ``invalid_grant`` for an unknown, another
        client's or an already used device code."""
        hashed = code_digest(device_code)
        now_ms = int(self._clock() * 1000)
        with self._sessions.begin() as session:
            row = session.get(DeviceAuthorizationRow, hashed)
            if row is None or row.client_id != client_id:
                raise InvalidGrantError("the device code is unknown or another client's")
            replayed, too_fast = row.used_at is not None, False
            if replayed:
                row.replayed_at = now_ms // 1000
            else:
                last, row.last_polled_ms = row.last_polled_ms, now_ms
                too_fast = last is not None and now_ms - last < row.interval * 1000
                if too_fast:
                    row.interval += SLOW_DOWN_SECONDS
            credential = DeviceCredential(
                code_hash=hashed,
                client_id=row.client_id,
                scope=(row.granted_scope or "") if row.decision == "approved" else row.scope,
                user_code_hash=row.user_code_hash,
                expired=row.expires_at <= now_ms // 1000,
                decision=row.decision,
                account_id=row.account_id,
                subject=row.subject,
                slow_down=too_fast,
            )
        if replayed:
            self._on_replay(hashed)
            raise InvalidGrantError("the device code was already used: its tokens are revoked")
        return credential

    def claim(self, code_hash: bytes) -> bool:
        """Mark the device code used; whether this caller did (of racing polls one wins)."""
        with self._sessions.begin() as session:
            won = session.execute(
                update(DeviceAuthorizationRow)
                .where(
                    DeviceAuthorizationRow.device_code_hash == code_hash,
                    DeviceAuthorizationRow.used_at.is_(None),
                )
                .values(used_at=int(self._clock()))
            )
            return getattr(won, "rowcount", 0) == 1

    def replayed(self, code_hash: bytes) -> bool:
        with self._sessions() as session:
            row = session.get(DeviceAuthorizationRow, code_hash)
            return row is not None and row.replayed_at is not None
