"""Start-up: wire the components together from :class:`Settings`, explicitly, once.

On first start in the embedded default this creates the data directory, the
master key, the encrypted node key, the database schema, the chain and the
contracts, with the node as founding consortium member and service node. Later
starts find them all again. Against an external chain it attaches to configured
(or previously deployed) contracts and checks their code.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from chain_adapter.anchoring.batcher import Batcher
from chain_adapter.anchoring.queue import AnchorQueue
from chain_adapter.deploy import (
    DID_REGISTRY,
    Deployment,
)
from chain_adapter.embedded import EmbeddedChain
from chain_adapter.jsonrpc_chain import JsonRpcChain
from chain_adapter.protocol import Chain
from chain_adapter.transactor import Transactor
from did_registry.consortium.service import ConsortiumService, service_from_files
from did_registry.did_key import DidKeyResolver
from did_registry.dispatch import DispatchingResolver
from did_registry.ethr.chain_walker import ChainWalkerSource
from did_registry.ethr.index_source import IndexSource
from did_registry.ethr.indexer import RegistryIndexer
from did_registry.ethr.resolver import EthrResolver
from did_registry.notary_identity import NotaryIdentity, open_notary_identity
from did_registry.registrar.service import Registrar
from hub_kernel.keystore import FileKeyStore, KeyStore, load_master_key
from hub_kernel.worker import Worker
from notary_hub import migrate
from notary_hub.db import SQLITE_COMPANIONS, create_db_engine, session_factory, tighten_mode
from notary_hub.hub_credentials import CredentialParts, open_credentials
from notary_hub.hub_deployment import (
    StartupError,
    find_deployment,
)
from notary_hub.hub_evidence import EvidenceParts, open_evidence
from notary_hub.settings import Settings

NODE_KEY = "node"
CONSORTIUM_POLL_SECONDS = 5.0


@dataclass
class Hub:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    keystore: KeyStore
    node_account: LocalAccount
    chain: Chain
    transactor: Transactor
    deployment: Deployment
    queue: AnchorQueue
    batcher: Batcher
    indexer: RegistryIndexer
    index_source: IndexSource
    resolver: DispatchingResolver
    registrar: Registrar
    consortium: ConsortiumService
    notary: NotaryIdentity | None = None
    credentials: CredentialParts | None = None
    evidence: EvidenceParts | None = None
    api_tokens: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    _workers: list[Worker] = field(default_factory=list, repr=False)

    @property
    def embedded_chain(self) -> EmbeddedChain | None:
        return self.chain if isinstance(self.chain, EmbeddedChain) else None

    def start_background(self) -> None:
        # Votes cast on other members' hubs move this hub's applications on.
        advance = Worker("consortium-advance", self.consortium.advance, CONSORTIUM_POLL_SECONDS)
        self._workers = [advance]
        if self.credentials is not None:
            interval = self.settings.credentials.status_publish_seconds
            self._workers.extend(self.credentials.workers(interval))
        self.batcher.start()
        self.indexer.start()
        for worker in self._workers:
            worker.start()
        if self.evidence is not None:
            self.evidence.pipeline.start()

    def stop_background(self) -> None:
        if self.evidence is not None:
            self.evidence.pipeline.stop()
        self.batcher.stop()
        self.indexer.stop()
        for worker in self._workers:
            worker.stop()

    def close(self) -> None:
        self.stop_background()
        self.index_source.close()
        self.chain.close()
        self.engine.dispose()


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


def open_chain(settings: Settings, node: LocalAccount) -> Chain:
    cfg = settings.chain
    if cfg.rpc_url is None:
        return EmbeddedChain.open(
            settings.data_dir / "chain", chain_id=cfg.chain_id, prefund={node.address: 10**30}
        )
    return JsonRpcChain.connect(
        cfg.rpc_url.get_secret_value(),
        expected_chain_id=cfg.chain_id,
        timeout=cfg.request_timeout,
        retries=cfg.retries,
    )


def make_transactor(settings: Settings, chain: Chain, node: LocalAccount) -> Transactor:
    return Transactor(
        chain,
        node,
        confirmations=settings.chain.confirmations,
        receipt_timeout=settings.chain.receipt_timeout,
        poll_interval=0.05 if settings.chain.embedded else settings.chain.poll_interval,
    )


def open_hub(settings: Settings) -> Hub:
    """Open every component, creating what the embedded default needs on first start."""
    created: list[str] = []
    keystore = open_keystore(settings, created)
    node = node_account(keystore, created)
    tokens = api_tokens(settings, created)
    engine = open_database(settings, created)
    sessions = session_factory(engine)
    try:
        chain = open_chain(settings, node)
    except Exception:
        engine.dispose()
        raise
    try:
        transactor = make_transactor(settings, chain, node)
        deployment = find_deployment(settings, sessions, transactor, created)
        queue = AnchorQueue(sessions)
        batcher = Batcher(
            sessions,
            queue,
            transactor,
            deployment.anchor_registry,
            max_items=settings.anchoring.batch_max_items,
            interval=settings.anchoring.batch_interval_seconds,
        )
        indexer, index_source, resolver = open_resolution(settings, chain, deployment, sessions)
        registrar = Registrar(
            transactor, deployment.did_registry, from_block=deployment.blocks.get(DID_REGISTRY, 0)
        )
        consortium = service_from_files(
            deployment.consortium,
            transactor,
            sessions,
            settings.consortium.trusted_ca_file,
            settings.consortium.crl_files,
            resolver=resolver,
            networks=ethr_networks(settings, chain.chain_id),
        )
    except Exception:
        chain.close()
        engine.dispose()
        raise
    hub = Hub(
        settings=settings,
        engine=engine,
        sessions=sessions,
        keystore=keystore,
        node_account=node,
        chain=chain,
        transactor=transactor,
        deployment=deployment,
        queue=queue,
        batcher=batcher,
        indexer=indexer,
        index_source=index_source,
        resolver=resolver,
        registrar=registrar,
        consortium=consortium,
        api_tokens=tokens,
        created=created,
    )
    try:
        # The notary signs with keys it looks up by walking the chain: the index may lag.
        walker = ChainWalkerSource(chain, deployment.did_registry.address)
        own = EthrResolver({chain.chain_id: walker}, names=settings.did.network_names)
        hub.notary = open_notary_identity(keystore, registrar, resolver=own, created=created)
        hub.credentials = open_credentials(
            settings,
            sessions=sessions,
            chain=chain,
            transactor=transactor,
            deployment=hub.deployment,
            notary=hub.notary,
            resolver=resolver,
            resolution_head=index_source.head,
            controller_key=bytes(node.key),
        )
        hub.evidence = open_evidence(
            settings,
            sessions=sessions,
            keystore=keystore,
            chain=chain,
            queue=queue,
            batcher=batcher,
            credentials=hub.credentials,
        )
    except Exception:
        hub.close()
        raise
    private_data_dir(settings.data_dir, warn=False)  # what the components made just now
    return hub


def ethr_networks(settings: Settings, chain_id: int) -> dict[str | int, int]:
    """did:ethr network names of this hub's chain: its hex id always, configured names too."""
    networks: dict[str | int, int] = {chain_id: chain_id}
    networks.update(settings.did.network_names)
    return networks


def open_resolution(
    settings: Settings, chain: Chain, deployment: Deployment, sessions: sessionmaker[Session]
) -> tuple[RegistryIndexer, IndexSource, DispatchingResolver]:
    """The registry index, the resolver reading it, and the DID methods the hub resolves."""
    registry = deployment.did_registry.address
    indexer = RegistryIndexer(
        chain,
        registry,
        sessions,
        confirmations=settings.chain.confirmations,
        start_block=deployment.blocks.get(DID_REGISTRY),
        poll_interval=settings.did.index_poll_seconds,
    )
    source = IndexSource(sessions, chain.chain_id, registry, indexer.head, chain=chain)
    ethr = EthrResolver({chain.chain_id: source}, names=settings.did.network_names)
    resolver = DispatchingResolver({"ethr": ethr, "key": DidKeyResolver()})
    return indexer, source, resolver
