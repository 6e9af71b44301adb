"""The draw service: the state machine ``created`` → ``uploading`` → ``committed`` → ``drawn``.

Issue 14. Every step checks the state it needs and moves it with a compare-and-set on
the row, under a per-draw lock, so an out-of-order or repeated step is refused
(:class:`DrawOutOfOrder`, 409) and leaves the draw as it was; a step that fails half-way
(a list with bad rows, a chain that refuses) changes nothing either.

- **create**: the organiser's configuration, completed by the hub (``algorithm``,
  ``drawId``, ``notaryCommitment``, the beacon network's own values) and checked
  (``docs/draw-algorithm.md`` §1). The notary's 32-byte commit-reveal secret is drawn now
  and kept in the key store until the draw reveals it (§3.2).
- **upload**: a resumable session (:mod:`evidence.draw.uploads`); finishing it parses
  the list (§2) into ``entries.bin`` and the organiser's mapping. Before the commit a
  new list replaces the last one; after it, none is taken.
- **commit** and **draw**: :mod:`evidence.draw.committing` and :mod:`evidence.draw.drawing`.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from evidence.blob_store import BlobStore
from evidence.draw.config import ALGORITHM, DrawConfig, parse_config
from evidence.draw.drand import BeaconConfig, round_time
from evidence.draw.errors import (
    DrawNotFound,
    DrawStateConflict,
    InvalidDrawConfig,
    InvalidEntrants,
)
from evidence.draw.lists import accept_list
from evidence.draw.models import DRAW_ID_LENGTH, Draw, DrawRecord, DrawState, UploadState
from evidence.draw.seed import notary_commitment
from evidence.draw.service_errors import (
    InvalidDrawRequest,
    NotDrawOrganiser,
    RoundTooSoon,
    UploadIncomplete,
)
from evidence.draw.uploads import ChunkWriter, UploadRecord, UploadSessions
from evidence.principal import Principal
from hub_kernel.keystore import KeyStore

log = logging.getLogger(__name__)

# Members an organiser may leave out: a draw without weights, categories or public values.
DEFAULTS: dict[str, Any] = {
    "waitingList": 0,
    "weighted": False,
    "categories": [],
    "cascade": {"rule": "none"},
    "publicValues": [],
}
SECRET_KIND = "draw-reveal"  # noqa: S105 (a key-store kind, not a secret)
HUB_MEMBERS = ("algorithm", "drawId", "notaryCommitment")
BEACON_VALUES = ("chainHash", "publicKey", "genesis", "period")
MIN_LEAD_SECONDS = 60  # §3.1
ENTRIES_FILE = "entries.bin"


def secret_name(draw_id: str) -> str:
    """The key-store name of a draw's commit-reveal secret."""
    return f"draw-{draw_id}"


def _now() -> datetime:
    return datetime.now(UTC)


class DrawService:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        blobs: BlobStore,
        keystore: KeyStore,
        directory: Path,
        *,
        networks: Mapping[str, Mapping[str, Any]],
        min_lead_seconds: int = MIN_LEAD_SECONDS,
        max_chunk_bytes: int | None = None,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        """``networks``: the beacon chains a draw may name (``drand-quicknet`` and any
        configured test beacon), each ``{"chainHash", "publicKey", "genesis", "period"}``;
        the first is the default."""
        if not networks:
            raise ValueError("a draw service needs at least one beacon network")
        self._sessions = sessions
        self.blobs = blobs
        self.keystore = keystore
        self.directory = directory
        self.networks = {name: dict(values) for name, values in networks.items()}
        self.min_lead_seconds = min_lead_seconds
        self.clock = clock
        chunk = {"max_chunk_bytes": max_chunk_bytes} if max_chunk_bytes else {}
        self.uploads = UploadSessions(sessions, blobs, clock=clock, **chunk)
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    # -- the state machine's primitives ---------------------------------------------------

    @contextmanager
    def step(self, draw_id: str) -> Iterator[None]:
        """One step at a time per draw (in this process; the row's compare-and-set
        guards against other processes)."""
        with self._locks_guard:
            lock = self._locks.setdefault(draw_id, threading.Lock())
        with lock:
            yield

    def move(self, draw_id: str, expected: tuple[DrawState, ...], **values: Any) -> None:
        """Set ``values`` on the draw if it is still in one of ``expected``; else 409."""
        with self._sessions() as session, session.begin():
            moved = session.execute(
                update(Draw).where(Draw.id == draw_id, Draw.state.in_(expected)).values(**values)
            )
            if moved.rowcount != 1:  # type: ignore[attr-defined]
                current = session.scalar(select(Draw.state).where(Draw.id == draw_id))
                raise out_of_order(draw_id, current, expected)

    def record(self, draw_id: str) -> DrawRecord:
        with self._sessions() as session:
            row = session.get(Draw, draw_id) if len(draw_id) <= DRAW_ID_LENGTH else None
            if row is None:
                raise DrawNotFound(f"no draw {draw_id[:40]!r}")
            return DrawRecord.of(row)

    def owned(self, principal: Principal, draw_id: str) -> DrawRecord:
        record = self.record(draw_id)
        if not principal.owns(record.organiser, record.platform):
            raise NotDrawOrganiser("only the draw's organiser, through its platform, may do this")
        return record

    def column(self, draw_id: str, name: str) -> Any:
        with self._sessions() as session:
            return session.scalar(select(getattr(Draw, name)).where(Draw.id == draw_id))

    @staticmethod
    def require(record: DrawRecord, *states: DrawState) -> None:
        if record.state not in states:
            raise out_of_order(record.id, record.state, states)

    # -- create -------------------------------------------------------------------------

    def create(self, principal: Principal, body: object) -> DrawRecord:
        """A new draw from the organiser's configuration (without the hub's members)."""
        if not isinstance(body, dict):
            raise InvalidDrawRequest("the draw's configuration must be a JSON object")
        given = sorted(set(HUB_MEMBERS) & body.keys())
        if given:
            raise InvalidDrawRequest(f"the hub sets {', '.join(given)}: leave them out")
        draw_id = secrets.token_hex(DRAW_ID_LENGTH // 2)
        secret = secrets.token_bytes(32)
        config = {
            **DEFAULTS,
            **body,
            "algorithm": ALGORITHM,
            "drawId": draw_id,
            "notaryCommitment": notary_commitment(secret).hex(),
            "beacon": self._beacon(body.get("beacon")),
        }
        parsed = parse_config(config)
        self.check_lead(parsed, self.clock())
        self.keystore.put(secret_name(draw_id), secret, kind=SECRET_KIND)
        row = Draw(
            id=draw_id,
            organiser=principal.did,
            platform=principal.platform,
            state=DrawState.CREATED,
            config=dict(parsed.document),
            config_hash=parsed.config_hash,
            beacon_round=parsed.beacon.round,
            created_at=self.clock(),
        )
        with self._sessions() as session, session.begin():
            session.add(row)
        log.info("draw created", extra={"draw": draw_id})
        return DrawRecord.of(row)

    def _beacon(self, beacon: object) -> dict[str, Any]:
        """The configuration's ``beacon``: the organiser names the round (and the network,
        the fallback); the network's own values are the hub's, never the organiser's."""
        if not isinstance(beacon, dict) or "round" not in beacon:
            raise InvalidDrawConfig("beacon must be an object naming the round")
        network = beacon.get("network", next(iter(self.networks)))
        known = self.networks.get(network) if isinstance(network, str) else None
        if known is None:
            names = ", ".join(self.networks)
            raise InvalidDrawConfig(f"beacon.network must be one of this hub's: {names}")
        for name in BEACON_VALUES:
            if name in beacon and beacon[name] != known[name]:
                raise InvalidDrawConfig(f"beacon.{name} is not network {network}'s")
        fallback = beacon.get("fallback", {"rule": "wait"})
        return {**known, "network": network, "round": beacon["round"], "fallback": fallback}

    def check_lead(self, config: DrawConfig, now: datetime) -> None:
        cfg = BeaconConfig.from_config(config.document["beacon"])
        due = round_time(cfg, cfg.round)
        if due < now.timestamp() + self.min_lead_seconds:
            raise RoundTooSoon(
                f"beacon round {cfg.round} is published at unix time {due}: it must be at "
                f"least {self.min_lead_seconds} s after the commit"
            )

    # -- the list -------------------------------------------------------------------------

    def start_upload(
        self, principal: Principal, draw_id: str, kind: object, size: object
    ) -> UploadRecord:
        with self.step(draw_id):
            record = self.owned(principal, draw_id)
            self.require(record, DrawState.CREATED, DrawState.UPLOADING)
            with self._sessions() as session, session.begin():
                moved = session.execute(
                    update(Draw)
                    .where(Draw.id == draw_id, Draw.state.in_(_LISTING))
                    .values(state=DrawState.UPLOADING)
                )
                if moved.rowcount != 1:  # type: ignore[attr-defined]
                    raise out_of_order(draw_id, None, _LISTING)
                return self.uploads.start(session, draw_id, str(kind), size)

    def chunk_writer(
        self, principal: Principal, draw_id: str, upload_id: str, offset: int
    ) -> ChunkWriter:
        """A writer for the next chunk of an upload, while the list may still change."""
        record = self.owned(principal, draw_id)
        self.require(record, DrawState.UPLOADING)
        return self.uploads.chunk_writer(draw_id, upload_id, offset)

    def upload(self, principal: Principal, draw_id: str, upload_id: str) -> UploadRecord:
        self.owned(principal, draw_id)
        return self.uploads.get(draw_id, upload_id)

    def finish(self, principal: Principal, draw_id: str, upload_id: str) -> DrawRecord:
        """Accept the uploaded list, or refuse it with its problems (kept on the upload)."""
        with self.step(draw_id):
            record = self.owned(principal, draw_id)
            self.require(record, DrawState.UPLOADING)
            upload = self.uploads.get(draw_id, upload_id)
            if upload.state is not UploadState.OPEN:
                raise InvalidDrawRequest(f"upload {upload.id} is {upload.state.value}")
            if upload.size is not None and upload.offset != upload.size:
                raise UploadIncomplete(
                    f"the upload holds {upload.offset} of its {upload.size} bytes: the file "
                    "is cut off; append the rest, then finish",
                    headers={"Upload-Offset": str(upload.offset)},
                )
            config = parse_config(record.config)
            try:
                accepted = accept_list(
                    self.uploads.read(upload.id), upload.format, config, self.blobs,
                    self.draw_dir(draw_id), ENTRIES_FILE,
                )  # fmt: skip
            except InvalidEntrants as exc:
                self.uploads.close(upload.id, UploadState.REFUSED, [dict(p) for p in exc.problems])
                raise
            self.move(
                draw_id,
                (DrawState.UPLOADING,),
                entries_sha256=accepted.entries_sha256,
                mapping_sha256=accepted.mapping_sha256,
                entry_count=accepted.count,
                candidate_root=accepted.root,
                category_counts=list(accepted.category_counts),
                listed_at=self.clock(),
            )
            self.uploads.close(upload.id, UploadState.FINISHED, [])
            log.info("draw list accepted", extra={"draw": draw_id, "count": accepted.count})
            return self.record(draw_id)

    # -- reading --------------------------------------------------------------------------

    def blob(self, sha256: bytes | None, what: str) -> Iterator[bytes]:
        if sha256 is None:
            raise DrawStateConflict(f"the draw has no {what} yet")
        return self.blobs.open(sha256)

    def secret(self, draw_id: str) -> bytes:
        return self.keystore.get(secret_name(draw_id))

    def forget_secret(self, draw_id: str) -> None:
        """Once revealed, the secret is the draw's public record, no longer a key."""
        if self.keystore.exists(secret_name(draw_id)):
            self.keystore.delete(secret_name(draw_id))

    def draw_dir(self, draw_id: str) -> Path:
        """The draw's public files (``entries.bin``, ``result.jsonl``): plain, mapped."""
        path = self.directory / draw_id
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        return path

    def entries_path(self, draw_id: str) -> Path:
        return self.draw_dir(draw_id) / ENTRIES_FILE


_LISTING = (DrawState.CREATED, DrawState.UPLOADING)


def out_of_order(
    draw_id: str, current: DrawState | None, expected: Iterable[DrawState]
) -> DrawStateConflict:
    allowed = " or ".join(s.value for s in expected)
    now = current.value if current is not None else "changed"
    return DrawStateConflict(f"draw {draw_id} is {now}: this step needs it {allowed}")
