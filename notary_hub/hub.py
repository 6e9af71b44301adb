"""Start-up: wire the components together from :class:`Settings`, explicitly, once.

On first start in the embedded default this creates the data directory, the
master key, the encrypted node key, the database schema, the chain and the
contracts, with the node as founding consortium member and service node. Later
starts find them all again. Against an external chain it attaches to configured
(or previously deployed) contracts and checks their code.

Each component is opened by its own ``open_<component>`` and returns its parts with
``close()``; :func:`open_hub` maps settings to their arguments and enters each into
one :class:`~contextlib.ExitStack`, so a failure half-way closes what was opened, in
reverse, and a :class:`Hub` exists only whole.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Collection
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from chain_adapter.anchoring.batcher import Batcher
from chain_adapter.anchoring.queue import AnchorQueue
from chain_adapter.deploy import Deployment
from chain_adapter.embedded import EmbeddedChain
from chain_adapter.jsonrpc_chain import JsonRpcChain
from chain_adapter.parts import ChainParts
from chain_adapter.protocol import Chain
from chain_adapter.transactor import Transactor
from chain_adapter.writer_lock import WriterLock
from credentials.parts import CredentialParts
from did_registry.consortium.service import ConsortiumService
from did_registry.dispatch import DispatchingResolver
from did_registry.ethr.index_source import IndexSource
from did_registry.ethr.indexer import RegistryIndexer
from did_registry.notary_identity import NotaryIdentity
from did_registry.parts import DidRegistryParts
from did_registry.registrar.service import Registrar
from evidence.parts import EvidenceParts
from hub_kernel.advisory_locks import AdvisoryLocks
from hub_kernel.keystore import FileKeyStore, KeyStore, load_master_key
from notary_hub import migrate
from notary_hub.db import SQLITE_COMPANIONS, create_db_engine, session_factory, tighten_mode
from notary_hub.hub_anchoring import open_anchoring
from notary_hub.hub_components import open_credentials_from, open_did_from
from notary_hub.hub_deployment import StartupError, find_deployment
from notary_hub.hub_evidence import open_evidence_from
from notary_hub.hub_identity import open_oauth_from, open_signin_from
from notary_hub.hub_urls import context_url, public_url
from notary_hub.settings import Settings
from oauth_server.parts import OAuthParts
from oauth_server.signin_parts import SigninParts

NODE_KEY = "node"
# Issue 16: the background work `notary-hub worker --stage` runs, and `serve` alone runs
# all of (its HTTP side's loops, the captures' and OAuth's, run wherever HTTP does).
PIPELINE_STAGES = ("timestamp", "anchor", "certify", "index")
_DEPOSIT_STAGES = ("timestamp", "anchor", "certify")


@dataclass(frozen=True)
class Hub:
    """Every component's parts, opened and whole; ``close`` closes them in reverse."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    locks: AdvisoryLocks  # issue 16: what the hub's processes take turns on
    keystore: KeyStore
    node_account: LocalAccount
    api_tokens: list[str]
    created: list[str]
    chain_parts: ChainParts
    did: DidRegistryParts
    credentials: CredentialParts
    evidence: EvidenceParts
    oauth: OAuthParts
    _resources: ExitStack
    signin: SigninParts  # issue 13: accounts and wallet sign-in

    # The parts most callers want, by their own names.
    @property
    def chain(self) -> Chain:
        return self.chain_parts.chain

    @property
    def transactor(self) -> Transactor:
        return self.chain_parts.transactor

    @property
    def deployment(self) -> Deployment:
        return self.chain_parts.deployment

    @property
    def queue(self) -> AnchorQueue:
        return self.chain_parts.queue

    @property
    def batcher(self) -> Batcher:
        return self.chain_parts.batcher

    @property
    def indexer(self) -> RegistryIndexer:
        return self.did.indexer

    @property
    def index_source(self) -> IndexSource:
        return self.did.index_source

    @property
    def resolver(self) -> DispatchingResolver:
        return self.did.resolver

    @property
    def registrar(self) -> Registrar:
        return self.did.registrar

    @property
    def consortium(self) -> ConsortiumService:
        return self.did.consortium

    @property
    def notary(self) -> NotaryIdentity:
        return self.did.notary

    @property
    def embedded_chain(self) -> EmbeddedChain | None:
        return self.chain if isinstance(self.chain, EmbeddedChain) else None

    def start_background(
        self, stages: Collection[str] = PIPELINE_STAGES, *, http: bool = True
    ) -> None:
        """The background loops of ``stages`` (:data:`PIPELINE_STAGES`), and with ``http``
        those that belong beside the HTTP routes. Loops whose passes must not overlap
        across processes take turns on an advisory lock (``hub_kernel.advisory_locks``)."""
        guard = self.locks.guard
        if "anchor" in stages:
            self.chain_parts.start(guard("anchor-batcher"), guard)
        if "index" in stages:
            self.did.start(guard)
        if "certify" in stages:
            interval = self.settings.credentials.status_publish_seconds
            self.credentials.start(interval, guard("status-lists"))
        self.evidence.start([s for s in stages if s in _DEPOSIT_STAGES], captures=http)
        if http:
            self.oauth.start()

    def stop_background(self) -> None:
        self.oauth.stop()
        self.evidence.stop()
        self.chain_parts.stop()
        self.did.stop()
        self.credentials.stop()

    def close(self) -> None:
        self.stop_background()
        self._resources.close()


def is_embedded_default(settings: Settings) -> bool:
    return settings.chain.embedded and settings.database.url is None


def private_data_dir(data_dir: Path, *, warn: bool = True) -> None:
    """The data directory and the directories in it mode 0o700, its SQLite files 0o600.

    Issue 9 item 11: created so, and tightened if they exist with looser modes (logged,
    as a warning unless ``warn`` is false: the end of a first start tightens what the
    components just made under the umask). Two levels deep (``chain``, ``keys``, ``tsa``,
    ``blobs/keyed``, ...): below are only the blob store's fan-out directories, which it
    keeps 0o700 itself, and walking them would list every blob.
    """
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    tighten_mode(data_dir, 0o700, warn=warn)
    for child in sorted(data_dir.iterdir()):
        for path in (child, *(sorted(child.iterdir()) if child.is_dir() else ())):
            if path.is_symlink():
                continue
            if path.is_dir():
                tighten_mode(path, 0o700, warn=warn)
            elif path.name.endswith((".sqlite3", *SQLITE_COMPANIONS)):
                tighten_mode(path, 0o600, warn=warn)


def open_keystore(settings: Settings, created: list[str] | None = None) -> KeyStore:
    data_dir = settings.data_dir
    private_data_dir(data_dir)
    key_path = settings.master_key_path
    existed = key_path.exists()
    secret = settings.keys.master_key.get_secret_value() if settings.keys.master_key else None
    master = load_master_key(secret, key_path, create=settings.dev)
    if created is not None and not existed and key_path.exists():
        created.append(f"master key {key_path} (dev mode; production needs one configured)")
    return FileKeyStore(data_dir / "keys", master)


def api_tokens(settings: Settings, created: list[str] | None = None) -> list[str]:
    """The configured API tokens; in dev mode with none configured, one kept in the data dir."""
    tokens = [token.get_secret_value() for token in settings.server.api_tokens]
    if tokens or not settings.dev:
        return tokens
    path = settings.data_dir / "api-token"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(32))
        if created is not None:
            created.append(f"API token in {path} (dev mode; send it as a Bearer token)")
    return [path.read_text().strip()]


def node_account(keystore: KeyStore, created: list[str] | None = None) -> LocalAccount:
    if not keystore.exists(NODE_KEY):
        keystore.put(NODE_KEY, os.urandom(32), kind="secp256k1")
        account: LocalAccount = Account.from_key(keystore.get(NODE_KEY))
        if created is not None:
            created.append(f"node key for {account.address} (encrypted at rest)")
        return account
    existing: LocalAccount = Account.from_key(keystore.get(NODE_KEY))
    return existing


def open_database(settings: Settings, created: list[str] | None = None) -> Engine:
    engine = create_db_engine(
        settings.database_url, echo=settings.database.echo, pool_size=settings.database.pool_size
    )
    if migrate.is_current(engine):
        return engine
    if is_embedded_default(settings):
        fresh = migrate.current_revision(engine) is None
        migrate.upgrade(engine)
        if created is not None and fresh:
            created.append(f"database {engine.url.render_as_string(hide_password=True)}")
        return engine
    current = migrate.current_revision(engine)
    engine.dispose()
    raise StartupError(
        f"the database schema is at {current or 'nothing'}, this hub needs "
        f"{migrate.head_revision()}: run `notary-hub db upgrade` first"
    )


def claim_embedded_chain(settings: Settings) -> WriterLock | None:
    """The embedded chain's writer lock, taken before anything is opened or created.

    Issue 11: a second process on the same data directory is refused with the holder's
    pid and command before it creates a key, migrates the database or prints anything.
    ``None`` on an external chain, whose node serialises its writers itself.
    """
    if not settings.chain.embedded:
        return None
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    return WriterLock.acquire(settings.data_dir / "chain")


def open_chain(settings: Settings, node: LocalAccount, lock: WriterLock | None = None) -> Chain:
    """The configured chain; the embedded one takes (or is handed) its writer lock."""
    cfg = settings.chain
    if cfg.rpc_url is None:
        return EmbeddedChain.open(
            settings.data_dir / "chain",
            chain_id=cfg.chain_id,
            prefund={node.address: 10**30},
            lock=lock,
        )
    return JsonRpcChain.connect(
        cfg.rpc_url.get_secret_value(),
        expected_chain_id=cfg.chain_id,
        timeout=cfg.request_timeout,
        retries=cfg.retries,
    )


def make_transactor(
    settings: Settings, chain: Chain, node: LocalAccount, locks: AdvisoryLocks | None = None
) -> Transactor:
    """The node's transactor; with ``locks`` on PostgreSQL, one sender across processes."""
    shared = locks is not None and locks.shared
    name = f"sender:{chain.chain_id}:{node.address}"
    return Transactor(
        chain,
        node,
        confirmations=settings.chain.confirmations,
        receipt_timeout=settings.chain.receipt_timeout,
        poll_interval=0.05 if settings.chain.embedded else settings.chain.poll_interval,
        sender_lock=(lambda: locks.hold(name)) if shared and locks is not None else None,
    )


def open_hub(settings: Settings) -> Hub:
    """Open every component, creating what the embedded default needs on first start."""
    lock = claim_embedded_chain(settings)
    try:
        return _open_hub(settings, lock)
    except BaseException:
        if lock is not None:
            lock.release()  # idempotent: the chain releases it too when it fails to open
        raise


def _open_hub(settings: Settings, lock: WriterLock | None) -> Hub:
    created: list[str] = []
    keystore = open_keystore(settings, created)
    node = node_account(keystore, created)
    tokens = api_tokens(settings, created)
    with ExitStack() as stack:
        engine = open_database(settings, created)
        stack.callback(engine.dispose)
        sessions = session_factory(engine)
        locks = AdvisoryLocks(engine)
        chain = open_chain(settings, node, lock)
        stack.callback(chain.close)
        transactor = make_transactor(settings, chain, node, locks)
        deployment = find_deployment(settings, sessions, transactor, created)
        chain_parts = open_anchoring(settings, sessions, transactor, deployment, node)
        stack.callback(chain_parts.stop)
        did = open_did_from(settings, sessions, chain_parts, keystore, created)
        stack.callback(did.close)
        credentials = open_credentials_from(settings, sessions, chain_parts, did, node)
        stack.callback(credentials.close)
        evidence = open_evidence_from(
            settings,
            sessions=sessions,
            keystore=keystore,
            chain_parts=chain_parts,
            credentials=credentials,
            notary=did.notary,
            context_url=context_url(settings),
            public_url=public_url(settings),
            created=created,
        )
        stack.callback(evidence.close)
        signin = open_signin_from(settings, sessions, chain_parts, did, keystore, created)
        oauth = open_oauth_from(settings, sessions=sessions, keystore=keystore, created=created,
                                did_of=signin.accounts.did_of)  # fmt: skip
        stack.callback(oauth.close)
        private_data_dir(settings.data_dir, warn=False)  # what the components made just now
        return Hub(
            settings=settings,
            engine=engine,
            sessions=sessions,
            locks=locks,
            keystore=keystore,
            node_account=node,
            api_tokens=tokens,
            created=created,
            chain_parts=chain_parts,
            did=did,
            credentials=credentials,
            evidence=evidence,
            oauth=oauth,
            _resources=stack.pop_all(),
            signin=signin,
        )
    raise AssertionError("unreachable: the ExitStack returns or raises")  # pragma: no cover
