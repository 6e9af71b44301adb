"""The issuer side of Bitstring Status Lists: hand out entries, change statuses, publish lists.

https://www.w3.org/TR/vc-bitstring-status-list/ — §2.1 entries, §3.1 Generate Algorithm,
§5.1-5.2 privacy (random indexes, herd privacy: a list is filled before the next
one starts). Every published version is anchored first in the StatusListRegistry
(:mod:`credentials.status.anchor`) and only then served, so what a verifier fetches
is always the version the chain names as latest. The chain also carries each
version's list (the credential's GZIP bytes), within the contract's 64 KiB cap:
lists are at most :data:`MAX_ENTRIES` entries, whose bitstring fits under the cap
even incompressible, so no density of set bits can ever make a version unpublishable.

Concurrency: allocation locks the list's row (``SELECT … FOR UPDATE`` on PostgreSQL;
SQLite serialises writers with ``BEGIN IMMEDIATE``) and the entries' primary key
(list, index) makes a duplicate index impossible; a conflicting insert retries.
Publishing never holds a database lock while it waits for the chain.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from credentials.errors import CredentialNotFound, StatusError, StatusListNotFound
from credentials.status.allocation import (
    check_credential_id,
    check_purposes,
    random_free_indexes,
)
from credentials.status.anchor import (
    RegistryPublisher,
    StatusListAnchor,
    bits_digest,
    publisher_address,
)
from credentials.status.bitstring import (
    MIN_ENTRIES,
    REVOCATION,
    Bitstring,
    build_entry,
    build_list_credential,
    encoded_list_bytes,
    is_url,
    parse_list_credential,
)
from credentials.status.models import StatusEntryRow, StatusListRow

Signer = Callable[[dict[str, Any]], dict[str, Any]]

# 2**18 entries: 32 KiB of bits, at most 32 KiB and a few dozen bytes gzipped (deflate
# falls back to stored blocks), about half of anchor.MAX_ENCODED_LIST; and
# twice the §3.2 minimum.
MAX_ENTRIES = 262_144
_ATTEMPTS = 8  # transactions retried after a unique-constraint conflict
_IN_CHUNK = 500  # credential ids per IN (...) lookup


@dataclass(frozen=True, slots=True)
class PublishedList:
    list_id: str
    url: str
    version: int
    digest: str  # 0x + hex sha256 of the bitstring
    tx_hash: str | None  # None: the bits were back to the published version, nothing sent


class StatusService:
    """Status lists of one issuer (the hub's did:ethr), one list per purpose at a time."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        base_url: str,
        sign: Signer,
        issuer_did: str,
        publisher: RegistryPublisher,
        list_size: int = MIN_ENTRIES,
    ) -> None:
        if not is_url(base_url):
            raise StatusError(f"the status list base URL must be an http(s) URL: {base_url!r}")
        if not MIN_ENTRIES <= list_size <= MAX_ENTRIES or list_size % 8:
            raise StatusError(
                f"a status list has {MIN_ENTRIES} to {MAX_ENTRIES} entries (the most that "
                "always fits in its on-chain copy), a whole number of bytes"
            )
        address = publisher_address(issuer_did, publisher.chain_id)
        if address != publisher.address:
            raise StatusError(
                f"the status lists of {issuer_did} must be published by {address}, "
                f"not by the transactor's account {publisher.address}"
            )
        self._sessions = sessions
        self._base_url = base_url.rstrip("/") + "/"
        self._sign = sign
        self._issuer = issuer_did
        self._publisher = publisher
        self._size = list_size
        self._publish_lock = threading.Lock()

    # -- entries ---------------------------------------------------------------------

    def allocate(
        self, credential_id: str, purposes: Sequence[str] = (REVOCATION,)
    ) -> list[dict[str, str]]:
        """One ``credentialStatus`` entry per purpose, each at a random free index.

        Idempotent: a credential that already has an entry for a purpose gets it back.
        A list that is full is left for a new one. Call :meth:`publish` before handing
        out the credential: a new list is served once its first version is anchored.
        """
        return self.allocate_many([credential_id], purposes)[0]

    def allocate_many(
        self, credential_ids: Sequence[str], purposes: Sequence[str] = (REVOCATION,)
    ) -> list[list[dict[str, str]]]:
        """:meth:`allocate` for many credentials at once, in one transaction.

        Each list touched is locked once, its allocation rewritten once and its new
        entries inserted in one statement, so a batch costs about what one entry does.
        The result is in the order of ``credential_ids``; an id given twice gets the
        same entries twice.
        """
        ids = list(credential_ids)
        for credential_id in ids:
            check_credential_id(credential_id)
        wanted = check_purposes(purposes)
        if not ids:
            return []
        unique = list(dict.fromkeys(ids))
        for _ in range(_ATTEMPTS):
            try:
                with self._sessions() as session, session.begin():
                    # Lists are locked in one order, so two allocations cannot deadlock.
                    by_purpose = {p: self._entries(session, unique, p) for p in sorted(wanted)}
                return [[by_purpose[p][credential_id] for p in wanted] for credential_id in ids]
            except IntegrityError:
                continue  # a concurrent allocation took an index (or one of these ids)
        what = repr(ids[0]) if len(unique) == 1 else f"{len(unique)} credentials"
        raise StatusError(f"could not allocate status entries for {what}; try again")

    def set_status(self, credential_id: str, purpose: str, value: bool) -> bool:
        """Set (True) or clear (False) a credential's bit; True when it changed.

        Revocation is permanent (§2.1): clearing a revocation bit is refused. The
        change is served from the next :meth:`publish`.
        """
        check_purposes([purpose])
        with self._sessions() as session, session.begin():
            found = session.execute(
                select(StatusEntryRow.list_pk, StatusEntryRow.status_index).where(
                    StatusEntryRow.credential_id == credential_id,
                    StatusEntryRow.purpose == purpose,
                )
            ).first()
            if found is None:
                raise CredentialNotFound(f"credential {credential_id!r} has no {purpose} entry")
            list_pk, index = found
            row = session.execute(
                select(StatusListRow.bits).where(StatusListRow.id == list_pk).with_for_update()
            ).one()
            bits = Bitstring.from_bytes(row.bits)
            if bits.get(index) == value:
                return False
            if purpose == REVOCATION and not value:
                raise StatusError(
                    f"credential {credential_id!r} is revoked, and revocation is permanent; "
                    "use a suspension entry for a status that can be lifted"
                )
            bits.set(index, value)
            session.execute(
                update(StatusListRow)
                .where(StatusListRow.id == list_pk)
                .values(bits=bytes(bits), revision=StatusListRow.revision + 1)
            )
            return True

    def status(self, credential_id: str) -> dict[str, bool]:
        """The working status of each of a credential's entries (purpose -> bit set)."""
        with self._sessions() as session:
            rows = session.execute(
                select(StatusEntryRow.purpose, StatusEntryRow.status_index, StatusListRow.bits)
                .join(StatusListRow, StatusListRow.id == StatusEntryRow.list_pk)
                .where(StatusEntryRow.credential_id == credential_id)
            ).all()
        if not rows:
            raise CredentialNotFound(f"credential {credential_id!r} has no status entries")
        return {r.purpose: Bitstring.from_bytes(r.bits).get(r.status_index) for r in rows}

    # -- publishing ------------------------------------------------------------------

    def publish(self) -> list[PublishedList]:
        """Publish a new version of every changed list: sign, anchor (one transaction per
        list), store, serve. Changes made since the last call make one version."""
        with self._publish_lock:
            with self._sessions() as session:
                changed = session.scalars(
                    select(StatusListRow.id)
                    .where(StatusListRow.revision != StatusListRow.published_revision)
                    .order_by(StatusListRow.id)
                ).all()
            return [self._publish_one(pk) for pk in changed]

    def list_credential(self, list_id: str) -> dict[str, Any]:
        """The latest published version of list ``list_id`` (the last segment of its URL)."""
        with self._sessions() as session:
            credential = session.scalar(
                select(StatusListRow.credential).where(StatusListRow.list_id == list_id)
            )
        if credential is None:
            raise StatusListNotFound(f"no published status list {list_id[:64]!r}")
        document: dict[str, Any] = json.loads(credential)
        return document

    # -- internals -------------------------------------------------------------------

    def _entries(
        self, session: Session, credential_ids: list[str], purpose: str
    ) -> dict[str, dict[str, str]]:
        """The ``purpose`` entry of each credential: the existing one, or a new one."""
        entries: dict[str, dict[str, str]] = {}
        for start in range(0, len(credential_ids), _IN_CHUNK):
            chunk = credential_ids[start : start + _IN_CHUNK]
            existing = session.execute(
                select(StatusEntryRow.credential_id, StatusListRow.url, StatusEntryRow.status_index)
                .join(StatusListRow, StatusListRow.id == StatusEntryRow.list_pk)
                .where(StatusEntryRow.credential_id.in_(chunk), StatusEntryRow.purpose == purpose)
            ).all()
            for row in existing:
                entries[row.credential_id] = build_entry(row.url, purpose, row.status_index)
        missing = [c for c in credential_ids if c not in entries]
        while missing:
            list_pk, url, indexes = self._reserve(session, purpose, len(missing))
            taken, missing = missing[: len(indexes)], missing[len(indexes) :]
            session.execute(
                insert(StatusEntryRow),
                [
                    {
                        "list_pk": list_pk,
                        "status_index": index,
                        "purpose": purpose,
                        "credential_id": credential_id,
                    }
                    for credential_id, index in zip(taken, indexes, strict=True)
                ],
            )
            for credential_id, index in zip(taken, indexes, strict=True):
                entries[credential_id] = build_entry(url, purpose, index)
        return entries

    def _reserve(self, session: Session, purpose: str, count: int) -> tuple[int, str, list[int]]:
        """Take up to ``count`` random free indexes of the oldest open list of ``purpose``
        (locked); fewer when it fills up, and the caller goes on with the next list."""
        row = session.execute(
            select(
                StatusListRow.id,
                StatusListRow.url,
                StatusListRow.allocation,
                StatusListRow.size,
                StatusListRow.allocated,
            )
            .where(StatusListRow.purpose == purpose, StatusListRow.allocated < StatusListRow.size)
            .order_by(StatusListRow.id)
            .limit(1)
            .with_for_update()
        ).first()
        if row is None:
            list_pk, url, allocation = self._new_list(session, purpose)
            room = len(allocation)
        else:
            list_pk, url, allocation = row.id, row.url, Bitstring.from_bytes(row.allocation)
            room = row.size - row.allocated
        indexes = random_free_indexes(allocation, min(count, room))
        for index in indexes:
            allocation.set(index, True)
        session.execute(
            update(StatusListRow)
            .where(StatusListRow.id == list_pk)
            .values(allocation=bytes(allocation), allocated=StatusListRow.allocated + len(indexes))
        )
        return list_pk, url, indexes

    def _new_list(self, session: Session, purpose: str) -> tuple[int, str, Bitstring]:
        list_id = secrets.token_hex(8)  # not a counter: says nothing about issuance volume
        empty = bytes(Bitstring(self._size))
        row = StatusListRow(
            list_id=list_id,
            url=self._base_url + list_id,
            purpose=purpose,
            size=self._size,
            bits=empty,
            allocation=empty,
            allocated=0,
            revision=1,
            published_revision=0,
            version=0,
        )
        session.add(row)
        session.flush()
        return row.id, row.url, Bitstring(self._size)

    def _publish_one(self, list_pk: int) -> PublishedList:
        with self._sessions() as session:
            row = session.execute(
                select(
                    StatusListRow.list_id,
                    StatusListRow.url,
                    StatusListRow.purpose,
                    StatusListRow.bits,
                    StatusListRow.revision,
                    StatusListRow.digest,
                    StatusListRow.version,
                ).where(StatusListRow.id == list_pk)
            ).one()
        bits = Bitstring.from_bytes(row.bits)
        digest = bits_digest(bits)
        if row.version and row.digest is not None and bytes(row.digest) == digest:
            # Changed and changed back: the served version is still the latest one.
            self._store(list_pk, row.revision, row.version, None)
            return PublishedList(row.list_id, row.url, row.version, "0x" + digest.hex(), None)

        anchor = self._publisher.anchor_for(row.url)
        unsigned = build_list_credential(
            list_url=row.url,
            issuer=self._issuer,
            purpose=row.purpose,
            bits=bits,
            valid_from=_now().isoformat().replace("+00:00", "Z"),
            anchor=anchor.to_json(),
        )
        signed = self._sign(unsigned)
        _check_signed(signed, row.url, bits, anchor)
        # The chain's copy is the signed credential's own encodedList bytes (checked
        # above to hold ``bits``), so the publisher's digest of them is ``digest``.
        encoded = encoded_list_bytes(signed["credentialSubject"]["encodedList"])
        published = self._publisher.publish(anchor.list_id, encoded)
        stored = {
            "credential": json.dumps(signed, ensure_ascii=False, separators=(",", ":")),
            "digest": digest,
            "tx_hash": published.tx_hash,
            "published_at": _now(),
        }
        self._store(list_pk, row.revision, published.version, stored)
        return PublishedList(
            row.list_id, row.url, published.version, "0x" + digest.hex(), published.tx_hash
        )

    def _store(
        self, list_pk: int, revision: int, version: int, values: dict[str, Any] | None
    ) -> None:
        """Record a published version, unless a newer one was recorded meanwhile.

        Two publishers racing store in chain order: the served credential is always
        the version with the highest number, i.e. the one the registry names.
        """
        with self._sessions() as session, session.begin():
            if values is None:  # nothing new on chain: only the revision moves
                condition = StatusListRow.version == version
            else:
                condition = StatusListRow.version < version
                values = {**values, "version": version}
            session.execute(
                update(StatusListRow)
                .where(StatusListRow.id == list_pk, condition)
                .values(published_revision=revision, **(values or {}))
            )


def _check_signed(signed: object, url: str, bits: Bitstring, anchor: StatusListAnchor) -> None:
    """The signer returns the list it was given, with a proof: refuse anything else."""
    if not isinstance(signed, dict) or "proof" not in signed:
        raise StatusError("the signer returned no proof for the status list credential")
    parsed = parse_list_credential(signed)
    if (
        parsed.url != url
        or parsed.bits != bits
        or StatusListAnchor.from_credential(signed) != anchor
    ):
        raise StatusError("the signer changed the status list credential it was asked to sign")


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
