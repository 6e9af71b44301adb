"""Consortium membership data: the applications table, and the records read from chain.

The chain is the authority on members, nodes and proposals (``ConsortiumRegistry``
structs, mirrored by the frozen records below); the table keeps what the chain
does not: the organisation's certificate path (whose SHA-256 is the proposals'
``evidenceHash``, see :func:`did_registry.consortium.certificates.evidence_hash`), its DID,
the signed application as received (issue 9 item 10: the organisation's and its
node's signatures, :mod:`did_registry.consortium.application`) with its nonce, and
which proposals carry the application through its two votes.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import BigInteger, DateTime, Enum, Index, Integer, SmallInteger, String, Text, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from did_registry.errors import InvalidApplication
from hub_kernel.sql import component_metadata


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
    # 0x + 64 hex; None only for applications made before they were signed (migration 0006).
    nonce: Mapped[str | None] = mapped_column(String(66), default=None)
    # The signed application JSON as received: the applicant's own proof of its claims.
    signed_application: Mapped[str | None] = mapped_column(Text, default=None)
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
        # A signed application is accepted once per registry (replay protection).
        Index("ix_consortium_applications_nonce", "consortium_address", "nonce", unique=True),
    )


# -- records of the contract's state, and the JSON the API and CLI show ----------------


class NodeType(enum.IntEnum):
    """``ConsortiumRegistry.NodeType`` (0, None, is not a node)."""

    PRODUCER = 1  # produces evidence, cannot anchor
    SERVICE = 2  # runs the hub services, may anchor

    @classmethod
    def parse(cls, value: NodeType | int | str) -> NodeType:
        try:
            return cls[value.strip().upper()] if isinstance(value, str) else cls(value)
        except (KeyError, ValueError):
            raise InvalidApplication(
                f"the node type must be 'service' or 'producer', not {value!r}"
            ) from None

    @property
    def label(self) -> str:
        return self.name.lower()


class ProposalKind(enum.IntEnum):
    ADD_MEMBER = 0
    REMOVE_MEMBER = 1
    ADD_NODE = 2
    REMOVE_NODE = 3
    SET_THRESHOLD = 4


def role_label(raw: bytes) -> str:
    return raw.rstrip(b"\x00").decode("utf-8", "replace")


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def to_json(record: Any) -> dict[str, Any]:
    """A record below as JSON: camelCase keys, enums by name, times in ISO 8601."""
    result: dict[str, Any] = {}
    for field in fields(record):
        value = getattr(record, field.name)
        if isinstance(value, enum.IntEnum):
            value = value.name.lower()
        elif isinstance(value, enum.Enum):
            value = value.value
        elif isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, tuple):
            value = list(value)
        result[_camel(field.name)] = value
    for name in getattr(record, "json_properties", ()):
        result[_camel(name)] = getattr(record, name)
    return result


@dataclass(frozen=True, slots=True)
class Proposal:
    """``ConsortiumRegistry.Proposal``; fields a kind does not use are zero."""

    json_properties: ClassVar[tuple[str, ...]] = ("state",)

    id: int
    kind: ProposalKind
    target: str
    name: str
    role: str
    node_type: int
    node_owner: str
    threshold_bps: int
    evidence_hash: str
    proposer: str
    yes_votes: int
    no_votes: int
    created_block: int
    executed: bool
    rejected: bool

    @classmethod
    def from_chain(cls, values: Sequence[Any]) -> Proposal:
        kwargs = dict(zip((f.name for f in fields(cls)), values, strict=True))
        kwargs["kind"] = ProposalKind(kwargs["kind"])
        kwargs["role"] = role_label(kwargs["role"])
        kwargs["evidence_hash"] = "0x" + bytes(kwargs["evidence_hash"]).hex()
        return cls(**kwargs)

    @property
    def state(self) -> str:
        return "executed" if self.executed else "rejected" if self.rejected else "open"


@dataclass(frozen=True, slots=True)
class Member:
    address: str
    name: str
    role: str
    joined_at: int  # block timestamp of admission
    nodes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Node:
    address: str
    owner: str
    node_type: NodeType
    added_at: int  # block timestamp of admission


@dataclass(frozen=True, slots=True)
class VoteOutcome:
    proposal_id: int
    voter: str
    support: bool
    yes_votes: int
    no_votes: int
    executed: bool
    rejected: bool
    transaction_hash: str


@dataclass(frozen=True, slots=True)
class Application:
    """A row of ``consortium_applications``, detached from its session."""

    id: int
    organisation_name: str
    organisation_address: str
    common_name: str | None
    did: str
    node_address: str
    node_type: NodeType
    fingerprint: str
    evidence_hash: str
    nonce: str | None
    member_proposal_id: int | None
    node_proposal_id: int | None
    state: ApplicationState
    last_error: str | None
    created_at: datetime
    certificate_chain_pem: str

    @classmethod
    def from_row(cls, row: ConsortiumApplication) -> Application:
        values = {f.name: getattr(row, f.name) for f in fields(cls)}
        return cls(**{**values, "node_type": NodeType(row.node_type)})
