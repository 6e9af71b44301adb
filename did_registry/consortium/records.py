"""The hub's record of consortium applications: the ``consortium_applications`` table.

Issue 3 §8, issue 9 item 10. The chain holds members, nodes and proposals; this
table holds what it does not (see :mod:`did_registry.consortium.models`): the
certificate path, the signed application, and which proposals carry it. It also
enforces two rules of :meth:`did_registry.consortium.service.ConsortiumService.apply`: one
open application per node, and each signed application's nonce used once per
registry (checked first, and again by a unique index should two hub processes race).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from did_registry.consortium.errors import ApplicationReplayed
from did_registry.consortium.models import OPEN_STATES, Application, ConsortiumApplication
from did_registry.errors import ConsortiumError, NotFound


class ApplicationRecords:
    """The applications of one ``ConsortiumRegistry`` (rows of other registries are unseen)."""

    def __init__(self, sessions: sessionmaker[Session], consortium_address: str) -> None:
        self._sessions = sessions
        self._registry = consortium_address

    def require_no_open_application(self, node: str) -> None:
        with self._sessions() as session:
            open_one = session.scalars(
                select(ConsortiumApplication).where(
                    ConsortiumApplication.node_address == node,
                    ConsortiumApplication.consortium_address == self._registry,
                    ConsortiumApplication.state.in_(OPEN_STATES),
                )
            ).first()
        if open_one is not None:
            raise ConsortiumError(
                f"application {open_one.id} for node {node} is still open ({open_one.state.value})"
            )

    def require_new_nonce(self, nonce: str) -> None:
        """A signed application is accepted once, whatever became of it."""
        with self._sessions() as session:
            used = session.scalars(
                select(ConsortiumApplication.id).where(
                    ConsortiumApplication.consortium_address == self._registry,
                    ConsortiumApplication.nonce == nonce,
                )
            ).first()
        if used is not None:
            raise ApplicationReplayed(
                f"application {used} already used the nonce {nonce}: sign a new application"
            )

    def add(self, row: ConsortiumApplication) -> None:
        try:
            with self._sessions() as session, session.begin():
                session.add(row)
        except IntegrityError:  # the unique nonce index: another process took it meanwhile
            raise ApplicationReplayed(f"the nonce {row.nonce} has been used already") from None

    def update(self, application_id: int, **changes: Any) -> Application:
        with self._sessions() as session, session.begin():
            row = session.get(ConsortiumApplication, application_id)
            assert row is not None
            for name, value in changes.items():
                setattr(row, name, value)
        return Application.from_row(row)

    def open_rows(self) -> list[ConsortiumApplication]:
        with self._sessions() as session:
            return list(
                session.scalars(
                    select(ConsortiumApplication)
                    .where(
                        ConsortiumApplication.consortium_address == self._registry,
                        ConsortiumApplication.state.in_(OPEN_STATES),
                    )
                    .order_by(ConsortiumApplication.id)
                ).all()
            )

    def all(self) -> list[Application]:
        with self._sessions() as session:
            rows = session.scalars(
                select(ConsortiumApplication)
                .where(ConsortiumApplication.consortium_address == self._registry)
                .order_by(ConsortiumApplication.id)
            ).all()
        return [Application.from_row(row) for row in rows]

    def get(self, application_id: int) -> Application:
        with self._sessions() as session:
            row = session.get(ConsortiumApplication, application_id)
        if row is None or row.consortium_address != self._registry:
            raise NotFound(f"there is no consortium application {application_id}")
        return Application.from_row(row)
