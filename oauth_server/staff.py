"""Staff grants: which people (by DID) hold which staff scopes, and what a person may grant.

Issue 13 item 8: notary staff and consortium members operate the hub under their own
identities. A person consents for themselves only to the person scopes
(:data:`~oauth_server.scopes.PERSON_SCOPES`); a staff scope (``admin``, ``draws:manage``,
``consortium:vote``, ``credentials:issue``, ``credentials:status``) reaches a person's
token only when their account holds it here, granted by ``notary-hub staff grant``.
Grants name a DID (an account is found through its linked DIDs, so a grant may precede
the person's first sign-in). Revoking a grant revokes every token of the account that
carried the scope and that no other grant of the account still backs (RFC 7009 §2.1's
effect, through :class:`oauth_server.ledger.TokenLedger`), and any approved device
request not yet exchanged.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from oauth_server.account_models import AccountDidRow
from oauth_server.accounts import check_did
from oauth_server.errors import OAuthError
from oauth_server.ledger import TokenLedger
from oauth_server.models import DeviceAuthorizationRow, StaffGrantRow, TokenRow
from oauth_server.scopes import PERSON_SCOPES, STAFF_SCOPES
from oauth_server.signin_errors import SigninError


@dataclass(frozen=True)
class StaffGrant:
    did: str
    scope: str
    granted_at: int


@dataclass(frozen=True)
class ScopeSplit:
    """A person's answer to asked scopes: what they may grant, what they may not."""

    granted: tuple[str, ...]
    refused: tuple[str, ...]


def split_scopes(asked: Sequence[str], held: frozenset[str]) -> ScopeSplit:
    """Person scopes and staff scopes the person holds are granted; the rest refused."""
    grantable = PERSON_SCOPES | (held & STAFF_SCOPES)
    granted = tuple(scope for scope in asked if scope in grantable)
    refused = tuple(scope for scope in asked if scope not in grantable)
    return ScopeSplit(granted, refused)


def check_staff_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(scopes))
    wrong = sorted(set(names) - STAFF_SCOPES)
    if not names or wrong:
        raise OAuthError(
            "invalid_scope",
            f"staff scopes are {', '.join(sorted(STAFF_SCOPES))}"
            + (f"; not {', '.join(wrong)}" if wrong else ""),
        )
    return names


class StaffGrants:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        ledger: TokenLedger,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._sessions = sessions
        self._ledger = ledger
        self._clock = clock

    def grant(self, did: str, scopes: Iterable[str]) -> tuple[str, ...]:
        """Grant ``scopes`` to the person of ``did``; the scopes granted."""
        try:
            check_did(did)
        except SigninError as wrong:
            raise OAuthError("invalid_request", wrong.message) from None
        names = check_staff_scopes(scopes)
        now = int(self._clock())
        with self._sessions.begin() as session:
            for scope in names:
                row = session.get(StaffGrantRow, (did, scope))
                if row is None:
                    session.add(StaffGrantRow(did=did, scope=scope, granted_at=now))
                elif row.revoked_at is not None:
                    row.revoked_at, row.granted_at = None, now
        return names

    def revoke(self, did: str, scopes: Iterable[str]) -> int:
        """End the grants; revoke the tokens they backed. How many token families died."""
        names = check_staff_scopes(scopes)
        now = int(self._clock())
        with self._sessions.begin() as session:
            ended = session.execute(
                update(StaffGrantRow)
                .where(
                    StaffGrantRow.did == did,
                    StaffGrantRow.scope.in_(names),
                    StaffGrantRow.revoked_at.is_(None),
                )
                .values(revoked_at=now)
            )
        if not getattr(ended, "rowcount", 0):
            raise OAuthError("not_found", f"{did} holds none of {' '.join(names)}", status_code=404)
        families = 0
        for account_id in self._accounts_of(did):
            gone = set(names) - self.held_by_account(account_id)
            families += self._revoke_backed(account_id, gone, now)
        return families

    def held_by_account(self, account_id: str) -> frozenset[str]:
        """The staff scopes the account holds through any of its DIDs."""
        with self._sessions() as session:
            dids = select(AccountDidRow.did).where(AccountDidRow.account_id == account_id)
            scopes = session.scalars(
                select(StaffGrantRow.scope).where(
                    StaffGrantRow.did.in_(dids), StaffGrantRow.revoked_at.is_(None)
                )
            )
            return frozenset(scopes)

    def listed(self) -> list[StaffGrant]:
        with self._sessions() as session:
            rows = session.scalars(
                select(StaffGrantRow)
                .where(StaffGrantRow.revoked_at.is_(None))
                .order_by(StaffGrantRow.did, StaffGrantRow.scope)
            )
            return [StaffGrant(row.did, row.scope, row.granted_at) for row in rows]

    def _accounts_of(self, did: str) -> list[str]:
        with self._sessions() as session:
            return list(
                session.scalars(select(AccountDidRow.account_id).where(AccountDidRow.did == did))
            )

    def _revoke_backed(self, account_id: str, scopes: set[str], now: int) -> int:
        """Revoke the account's token families carrying any of ``scopes``; deny its
        approved device requests asking for them that no token has used yet."""
        if not scopes:
            return 0
        with self._sessions.begin() as session:
            tokens = session.execute(
                select(TokenRow.family_id, TokenRow.scope).where(
                    TokenRow.account_id == account_id, TokenRow.revoked_at.is_(None)
                )
            ).all()
            waiting = session.scalars(
                select(DeviceAuthorizationRow).where(
                    DeviceAuthorizationRow.account_id == account_id,
                    DeviceAuthorizationRow.used_at.is_(None),
                    DeviceAuthorizationRow.decision == "approved",
                )
            )
            for row in waiting:
                if scopes & set((row.granted_scope or "").split()):
                    row.decision, row.decided_at = "denied", now
        families = {family for family, scope in tokens if scopes & set(scope.split())}
        for family in families:
            self._ledger.revoke_family(family)
        return len(families)
