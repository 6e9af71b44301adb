"""People's accounts: an internal random id, with the DIDs linked to it.

Issue 13 item 6: "A person's account is keyed to an internal id, and their DID is linked
to it, so a wallet can rotate keys and stay the same person." A did:ethr keeps its
identifier when its keys rotate (ERC-1056 owner changes, https://eips.ethereum.org/EIPS/eip-1056),
so the same DID finds the same account; a second DID joins an account only by
:meth:`AccountStore.link`, never by signing in with it (that makes a new account).
Account ids are 128 random bits (RFC 4086 §7), so they reveal nothing about the DID.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from oauth_server.account_models import AccountDidRow, AccountRow
from oauth_server.signin_errors import AccountNotFound, DidAlreadyLinked, SigninError

MAX_DID_CHARS = 512


class AccountDirectory(Protocol):
    """What the authorisation server asks about people (issue 13 shared contract)."""

    def did_of(self, account_id: str) -> str | None:
        """The DID currently linked to the account (its first), None for an unknown id."""
        ...

    def account_for_did(self, did: str) -> str:
        """The account linked to ``did``, created on its first sign-in."""
        ...


def check_did(did: str) -> str:
    if not did.startswith("did:") or len(did) > MAX_DID_CHARS or not did.isprintable():
        raise SigninError(f"not a DID of at most {MAX_DID_CHARS} characters: {did[:80]!r}")
    return did


class AccountStore:
    """:class:`AccountDirectory` over the ``oauth_accounts`` tables."""

    def __init__(
        self, sessions: sessionmaker[Session], *, clock: Callable[[], float] = time.time
    ) -> None:
        self._sessions = sessions
        self._clock = clock

    def did_of(self, account_id: str) -> str | None:
        dids = self.dids_of(account_id)
        return dids[0] if dids else None

    def dids_of(self, account_id: str) -> list[str]:
        """Every DID linked to the account, the first linked first."""
        with self._sessions() as session:
            rows = session.scalars(
                select(AccountDidRow)
                .where(AccountDidRow.account_id == account_id)
                .order_by(AccountDidRow.linked_at, AccountDidRow.did)
            )
            return [row.did for row in rows]

    def account_for_did(self, did: str) -> str:
        check_did(did)
        found = self._linked(did)
        if found is not None:
            return found
        account_id = secrets.token_hex(16)
        now = int(self._clock())
        try:
            with self._sessions.begin() as session:
                session.add(AccountRow(id=account_id, created_at=now))
                session.flush()  # the account before the link that references it
                session.add(AccountDidRow(did=did, account_id=account_id, linked_at=now))
        except IntegrityError:
            # A concurrent first sign-in with the same DID linked it first: use that one.
            found = self._linked(did)
            if found is None:
                raise
            return found
        return account_id

    def link(self, account_id: str, did: str) -> None:
        """Link a further DID to an existing account (the person proved control of both)."""
        check_did(did)
        with self._sessions.begin() as session:
            if session.get(AccountRow, account_id) is None:
                raise AccountNotFound("no such account")
            row = session.get(AccountDidRow, did)
            if row is not None:
                if row.account_id != account_id:
                    raise DidAlreadyLinked(f"{did} is linked to another account")
                return
            session.add(AccountDidRow(did=did, account_id=account_id, linked_at=int(self._clock())))

    def _linked(self, did: str) -> str | None:
        with self._sessions() as session:
            row = session.get(AccountDidRow, did)
            return row.account_id if row is not None else None
