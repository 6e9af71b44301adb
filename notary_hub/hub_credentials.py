"""Start-up wiring of the credentials component: signer, status lists, issuer, verifier.

Only composition: every class here comes from :mod:`credentials`. The hub's own
verifier reads status lists it serves straight from its database and falls back
to the chain's copy for any other list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from chain_adapter.deploy import Deployment
from chain_adapter.protocol import Chain
from chain_adapter.transactor import Transactor
from credentials.consortium_trust import ConsortiumTrust
from credentials.data_integrity.proofs import SUITES
from credentials.issuer import CredentialIssuer, NotarySigner
from credentials.issuer_trust import AnyOf, IssuerTrust, PinnedIssuers
from credentials.status.anchor import RegistryPublisher
from credentials.status.service import StatusService
from credentials.verifier import Verifier
from did_registry.caching_resolver import CachingResolver
from did_registry.notary_identity import NotaryIdentity
from did_registry.resolution import DidResolver, Head
from hub_kernel.worker import Worker
from notary_hub.settings import Settings

STATUS_PATH = "/credentials/status/"


@dataclass
class CredentialParts:
    signer: NotarySigner
    status: StatusService
    issuer: CredentialIssuer
    verifier: Verifier
    status_base_url: str
    trust: IssuerTrust  # whose letters this hub's verifier accepts

    def workers(self, interval: float) -> list[Worker]:
        # Status changes made by set_status are published at once; this catches the
        # ones a crash left unpublished.
        return [Worker("status-lists", self.status.publish, interval)]


def public_url(settings: Settings) -> str:
    if settings.credentials.public_url:
        return settings.credentials.public_url.rstrip("/")
    return f"http://{settings.server.host}:{settings.server.port}"


def open_credentials(
    settings: Settings,
    *,
    sessions: sessionmaker[Session],
    chain: Chain,
    transactor: Transactor,
    deployment: Deployment,
    notary: NotaryIdentity,
    resolver: DidResolver,
    resolution_head: Callable[[], Head],
    controller_key: bytes,
) -> CredentialParts:
    assert deployment.status_lists is not None, "find_deployment adds the status registry"
    signer = NotarySigner(
        notary,
        suite=SUITES["eddsa-rdfc-2022"],
        chain_time=lambda: chain.get_block("latest").timestamp,
        controller_key=controller_key,
    )
    base_url = public_url(settings) + STATUS_PATH
    status = StatusService(
        sessions,
        base_url=base_url,
        sign=signer.sign,
        issuer_did=notary.did,
        publisher=RegistryPublisher(transactor, deployment.status_lists),
        list_size=settings.credentials.status_list_size,
    )
    days = settings.credentials.default_validity_days
    issuer = CredentialIssuer(
        signer, status=status, default_validity=timedelta(days=days) if days else None
    )
    # Status comes from the chain's copy of each list (authenticated by the publisher's
    # account), so the hub's verifier needs neither the served list nor its proof.
    verifier = Verifier(
        CachingResolver(resolver, resolution_head),
        chain=chain,
        status_registry=deployment.status_lists.address,
    )
    trust = AnyOf(
        [
            PinnedIssuers(settings.credentials.trusted_issuers),
            ConsortiumTrust(chain, deployment.consortium.address),
        ]
    )
    return CredentialParts(signer, status, issuer, verifier, base_url, trust)
