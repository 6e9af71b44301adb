"""The resolution seam: where registry events come from, and what resolution returns.

Both resolution paths of the hub (the database index and a chain walk that a
verifier without the hub would do) implement :class:`EventSource`; one pure
document builder turns the events into the same DID document either way.

W3C DID Resolution: https://w3c.github.io/did-resolution/ (§4 "DID Resolution",
resolution options ``versionId`` / ``versionTime``, §7.1 "DID Resolution Result").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from did_registry.ethr.events import RegistryEvent


@dataclass(frozen=True, slots=True)
class Head:
    """The chain position resolution happens at: the newest block the source has."""

    block_number: int
    timestamp: int


class EventSource(Protocol):
    """ERC-1056 events of one registry on one chain."""

    @property
    def chain_id(self) -> int: ...

    @property
    def registry(self) -> str: ...

    def head(self) -> Head: ...

    def history(self, identity: str) -> list[RegistryEvent]:
        """Every event of ``identity`` up to :meth:`head`, oldest first (block, log index)."""
        ...

    def block(self, number: int) -> Head | None:
        """Block ``number`` if it is at or below :meth:`head`, else ``None``.

        ``versionId`` names a block that need not hold a change of the DID; the
        expiries of that version are judged at its timestamp.
        """
        ...

    def block_at_time(self, timestamp: int) -> Head | None:
        """The newest block whose timestamp is <= ``timestamp`` (for ``versionTime``)."""
        ...


@dataclass(frozen=True, slots=True)
class ResolutionOptions:
    version_id: int | None = None  # a block number, as did:ethr uses versionId
    version_time: int | None = None  # unix seconds
    accept: str = "application/did-resolution"


@dataclass(slots=True)
class ResolutionResult:
    did_document: dict[str, Any] | None
    did_resolution_metadata: dict[str, Any] = field(default_factory=dict)
    did_document_metadata: dict[str, Any] = field(default_factory=dict)
    # Not part of the result: the last unix second the result holds by the clock (a key
    # or service it shows expires after it); ``None`` when time alone changes nothing.
    valid_until: int | None = field(default=None, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "didDocument": self.did_document,
            "didResolutionMetadata": self.did_resolution_metadata,
            "didDocumentMetadata": self.did_document_metadata,
        }


class DidResolver(Protocol):
    def resolve(self, did: str, options: ResolutionOptions | None = None) -> ResolutionResult: ...
