"""The hub's public addresses and names: its origin, its URL, where its context is served,
and the did:ethr network names of its chain (derived from settings, nothing opened)."""

from __future__ import annotations

from urllib.parse import urlsplit

from credentials.contexts_router import NOTARY_HUB_CONTEXT_PATH
from notary_hub.settings import Settings


def public_origin(settings: Settings) -> str:
    """The hub's origin (RFC 6454: scheme, host, port), the default challenge domain."""
    parts = urlsplit(public_url(settings))
    return f"{parts.scheme}://{parts.netloc}"


def public_url(settings: Settings) -> str:
    if settings.credentials.public_url:
        return settings.credentials.public_url.rstrip("/")
    return f"http://{settings.server.host}:{settings.server.port}"


def context_url(settings: Settings) -> str:
    """Where the hub's context document can be fetched: the operator's
    ``CREDENTIALS_CONTEXT_URL``, else the hub's own ``/contexts/notary-hub/v1``."""
    if settings.credentials.context_url:
        return settings.credentials.context_url
    return public_url(settings) + NOTARY_HUB_CONTEXT_PATH


def ethr_networks(settings: Settings, chain_id: int) -> dict[str | int, int]:
    """did:ethr network names of this hub's chain: its hex id always, configured names too."""
    networks: dict[str | int, int] = {chain_id: chain_id}
    networks.update(settings.did.network_names)
    return networks
