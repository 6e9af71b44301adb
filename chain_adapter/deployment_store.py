"""Where the hub's contracts live on one chain: the one reader and writer of ``chain_contracts``.

A contract is recorded by name (``EthereumDIDRegistry``, ``AnchorRegistry``, ...)
with its address and, when the hub deployed it, the block of its deployment (so
the DID index starts where the registry begins). The hub records what it deploys
or is configured with; every other component asks this store instead of querying
the table.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from chain_adapter.models import ContractRecord


@dataclass(frozen=True, slots=True)
class DeployedContract:
    name: str
    address: str
    block_number: int | None = None  # of its deployment; None when not known


class DeploymentStore:
    """The contracts recorded for chain ``chain_id``."""

    def __init__(self, sessions: sessionmaker[Session], chain_id: int) -> None:
        self._sessions = sessions
        self._chain_id = chain_id

    @property
    def chain_id(self) -> int:
        return self._chain_id

    def record(self, name: str, address: str, block_number: int | None = None) -> None:
        """Record (or replace) where contract ``name`` lives."""
        self.record_all([DeployedContract(name, address, block_number)])

    def record_all(self, contracts: Iterable[DeployedContract]) -> None:
        """Record (or replace) several contracts in one transaction."""
        with self._sessions() as session, session.begin():
            for contract in contracts:
                session.merge(
                    ContractRecord(
                        chain_id=self._chain_id,
                        name=contract.name,
                        address=contract.address,
                        block_number=contract.block_number,
                    )
                )

    def find(self, name: str) -> DeployedContract | None:
        with self._sessions() as session:
            row = session.get(ContractRecord, (self._chain_id, name))
            return None if row is None else _contract(row)

    def all(self) -> list[DeployedContract]:
        """Every contract recorded for the chain, by name."""
        with self._sessions() as session:
            rows = session.scalars(
                select(ContractRecord)
                .where(ContractRecord.chain_id == self._chain_id)
                .order_by(ContractRecord.name)
            ).all()
            return [_contract(row) for row in rows]


def _contract(row: ContractRecord) -> DeployedContract:
    return DeployedContract(row.name, row.address, row.block_number)
