"""``open_credentials``: the credentials component, opened once with what it needs.

The notary's signer, its status lists (published on chain), the issuer, the verifier
the hub's routes use, and whom that verifier trusts. Callers pass plain values;
mapping settings to them is the wiring's job (``notary_hub.hub``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from chain_adapter.contract import BoundContract
from chain_adapter.protocol import Chain
from chain_adapter.rpc_limits import RateLimiter
from chain_adapter.transactor import Transactor
from credentials.challenges import ChallengeService
from credentials.consortium_trust import ConsortiumTrust
from credentials.data_integrity.proofs import SUITES
from credentials.issuer import CredentialIssuer, NotarySigner
from credentials.issuer_trust import AnyOf, IssuerTrust, PinnedIssuers
from credentials.status.anchor import RegistryPublisher
from credentials.status.service import StatusService
from credentials.verifier import Verifier
from did_registry.notary_identity import NotaryIdentity
from did_registry.resolution import DidResolver
from hub_kernel.advisory_locks import PassGuard
from hub_kernel.worker import Worker


@dataclass(frozen=True)
class ChallengeLimits:
    """Presentation challenges: bound to ``domain`` by default, valid ``lifetime`` seconds,
    ``rate`` a second per client IP after a ``burst``."""

    domain: str
    lifetime: int = 600
    rate: float = 1.0
    burst: int = 20


@dataclass
class CredentialParts:
    signer: NotarySigner
    status: StatusService
    issuer: CredentialIssuer
    verifier: Verifier
    status_base_url: str
    trust: IssuerTrust  # whose letters this hub's verifier accepts
    challenges: ChallengeService
    challenge_limiter: RateLimiter  # per client IP, for the unauthenticated challenge route
    _workers: list[Worker] = field(default_factory=list, repr=False)

    def start(self, publish_interval: float, guard: PassGuard | None = None) -> None:
        # Status changes made by set_status are published at once; this catches the
        # ones a crash left unpublished (``guard``: one process at a time does).
        self._workers = [Worker("status-lists", self.status.publish, publish_interval, guard=guard)]
        for worker in self._workers:
            worker.start()

    def stop(self) -> None:
        for worker in self._workers:
            worker.stop()

    def close(self) -> None:
        self.stop()


def open_credentials(
    *,
    sessions: sessionmaker[Session],
    chain: Chain,
    transactor: Transactor,
    status_registry: BoundContract,
    consortium_address: str,
    notary: NotaryIdentity,
    resolver: DidResolver,
    controller_key: bytes,
    status_base_url: str,
    status_list_size: int,
    default_validity: timedelta | None,
    challenges: ChallengeLimits,
    trusted_issuers: Sequence[str] = (),
) -> CredentialParts:
    signer = NotarySigner(
        notary,
        suite=SUITES["eddsa-rdfc-2022"],
        chain_time=lambda: chain.get_block("latest").timestamp,
        controller_key=controller_key,
    )
    status = StatusService(
        sessions,
        base_url=status_base_url,
        sign=signer.sign,
        issuer_did=notary.did,
        publisher=RegistryPublisher(transactor, status_registry),
        list_size=status_list_size,
    )
    issuer = CredentialIssuer(signer, status=status, default_validity=default_validity)
    # Status comes from the chain's copy of each list (authenticated by the publisher's
    # account), so the hub's verifier needs neither the served list nor its proof.
    # `resolver` is the hub's, which keeps did:ethr results (CachingResolver).
    verifier = Verifier(
        resolver,
        chain=chain,
        status_registry=status_registry.address,
    )
    trust = AnyOf([PinnedIssuers(trusted_issuers), ConsortiumTrust(chain, consortium_address)])
    return CredentialParts(
        signer,
        status,
        issuer,
        verifier,
        status_base_url,
        trust,
        ChallengeService(sessions, default_domain=challenges.domain, lifetime=challenges.lifetime),
        RateLimiter(challenges.rate, challenges.burst),
    )
