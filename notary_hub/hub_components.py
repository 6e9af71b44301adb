"""The DID registry and the credentials, opened from :class:`Settings` (for ``open_hub``)."""

from __future__ import annotations

from datetime import timedelta

from eth_account.signers.local import LocalAccount
from sqlalchemy.orm import Session, sessionmaker

from chain_adapter.parts import ChainParts
from credentials.parts import ChallengeLimits, CredentialParts, open_credentials
from did_registry.parts import DidRegistryParts, open_did_registry
from hub_kernel.keystore import KeyStore
from notary_hub.hub_urls import public_origin, public_url
from notary_hub.settings import Settings

STATUS_PATH = "/credentials/status/"


def open_did_from(
    settings: Settings,
    sessions: sessionmaker[Session],
    chain_parts: ChainParts,
    keystore: KeyStore,
    created: list[str],
) -> DidRegistryParts:
    return open_did_registry(
        sessions=sessions,
        chain=chain_parts.chain,
        transactor=chain_parts.transactor,
        deployment=chain_parts.deployment,
        keystore=keystore,
        network_names=settings.did.network_names,
        confirmations=settings.chain.confirmations,
        index_poll_seconds=settings.did.index_poll_seconds,
        trusted_ca_file=settings.consortium.trusted_ca_file,
        crl_files=settings.consortium.crl_files,
        created=created,
        resolution_cache_entries=settings.did.resolution_cache_entries,
        resolution_head_max_age=settings.did.resolution_head_max_age_ms / 1000,
    )


def open_credentials_from(
    settings: Settings,
    sessions: sessionmaker[Session],
    chain_parts: ChainParts,
    did: DidRegistryParts,
    node: LocalAccount,
) -> CredentialParts:
    deployment = chain_parts.deployment
    assert deployment.status_lists is not None, "find_deployment adds the status registry"
    days = settings.credentials.default_validity_days
    return open_credentials(
        sessions=sessions,
        chain=chain_parts.chain,
        transactor=chain_parts.transactor,
        status_registry=deployment.status_lists,
        consortium_address=deployment.consortium.address,
        notary=did.notary,
        resolver=did.resolver,
        controller_key=bytes(node.key),
        status_base_url=public_url(settings) + STATUS_PATH,
        status_list_size=settings.credentials.status_list_size,
        default_validity=timedelta(days=days) if days else None,
        challenges=ChallengeLimits(
            domain=public_origin(settings),
            lifetime=settings.credentials.challenge_seconds,
            rate=settings.credentials.challenge_rate,
            burst=settings.credentials.challenge_burst,
        ),
        trusted_issuers=settings.credentials.trusted_issuers,
    )
