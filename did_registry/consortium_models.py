"""Tables of consortium membership: the applications the hub checked and put to a vote.

The chain is the authority on members, nodes and proposals; this table keeps what
the chain does not: the organisation's certificate path (whose SHA-256 is the
proposals' ``evidenceHash``, see :func:`did_registry.x509_checks.evidence_hash`),
its DID, and which proposals carry the application through its two votes.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Enum, Index, Integer, SmallInteger, String, Text, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from chain_adapter.sql import component_metadata


class ConsortiumBase(DeclarativeBase):
    metadata = component_metadata()


class ApplicationState(enum.StrEnum):
    """Where an application stands; the ``*_proposed`` states wait for votes on chain.

    The member proposal comes first: the contract admits a node only for an
    existing member, so the node proposal is made once the organisation is in.
    """

    SUBMITTED = "submitted"  # checked and recorded; the first proposal is being sent
    MEMBER_PROPOSED = "member_proposed"
    NODE_PROPOSED = "node_proposed"
    ADMITTED = "admitted"  # the node proposal executed
    REJECTED = "rejected"  # a proposal was voted down
    FAILED = "failed"  # a proposal could not be made (see last_error)


OPEN_STATES = (
    ApplicationState.SUBMITTED,
    ApplicationState.MEMBER_PROPOSED,
    ApplicationState.NODE_PROPOSED,
)


class ConsortiumApplication(ConsortiumBase):
    """One organisation's application to run a node in the consortium."""

    __tablename__ = "consortium_applications"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    chain_id: Mapped[int] = mapped_column(BigInteger)
    consortium_address: Mapped[str] = mapped_column(String(42))
    organisation_name: Mapped[str] = mapped_column(String(256))
    organisation_address: Mapped[str] = mapped_column(String(42))
    common_name: Mapped[str | None] = mapped_column(String(256), default=None)
    did: Mapped[str] = mapped_column(String(256))
    node_address: Mapped[str] = mapped_column(String(42))
    node_type: Mapped[int] = mapped_column(SmallInteger)  # ConsortiumRegistry.NodeType
    # The validated path, leaf first and trust anchor last: what the evidence hash covers.
    certificate_chain_pem: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(64))  # hex SHA-256 of the leaf's DER
    evidence_hash: Mapped[str] = mapped_column(String(66))  # 0x + hex SHA-256 of the DER path
    member_proposal_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    node_proposal_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    state: Mapped[ApplicationState] = mapped_column(
        Enum(
            ApplicationState,
            native_enum=False,
            length=16,
            values_callable=lambda e: [m.value for m in e],
        )
    )
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    __table_args__ = (
        # advance() scans the open applications; apply() looks for one open per node.
        Index("ix_consortium_applications_state", "state"),
        Index("ix_consortium_applications_node", "node_address"),
    )
