"""Start-up wiring of the credentials component: signer, status lists, issuer, verifier.

Only composition: every class here comes from :mod:`credentials`. The hub's own
verifier reads status lists it serves straight from its database and falls back
to the chain's copy for any other list.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from chain_adapter.deploy import Deployment
from chain_adapter.protocol import Chain
from chain_adapter.transactor import Transactor
from chain_adapter.worker import Worker
from credentials.data_integrity import SUITES
from credentials.errors import StatusListNotFound
from credentials.issuer import CredentialIssuer, NotarySigner
from credentials.status_anchor import RegistryPublisher
from credentials.status_service import StatusService
from credentials.verifier import Verifier
from did_registry.notary_identity import NotaryIdentity
from did_registry.resolution import DidResolver
from notary_hub.settings import Settings

STATUS_PATH = "/credentials/status/"


class ServedStatusLists:
    """The hub's own published list credentials, by URL, without an HTTP round trip."""

    def __init__(self, status: StatusService, base_url: str) -> None:
        self._status = status
        self._base = base_url

    def fetch(self, url: str) -> Mapping[str, Any] | None:
        if not url.startswith(self._base):
            return None
        try:
            return self._status.list_credential(url[len(self._base) :])
        except StatusListNotFound:
            return None


@dataclass
class CredentialParts:
    signer: NotarySigner
    status: StatusService
    issuer: CredentialIssuer
    verifier: Verifier
    status_base_url: str

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
    verifier = Verifier(
        resolver,
        chain=chain,
        status_lists=ServedStatusLists(status, base_url),
        status_registry=deployment.status_lists.address,
    )
    return CredentialParts(signer, status, issuer, verifier, base_url)
