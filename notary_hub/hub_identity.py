"""Opening issue 13's parts with the hub's settings: the authorisation server
(:func:`oauth_server.parts.open_oauth_server`) and wallet sign-in
(:func:`oauth_server.signin_parts.open_signin`), both named by the hub's public URL."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from chain_adapter.parts import ChainParts
from credentials.verifier import Verifier
from did_registry.parts import DidRegistryParts
from hub_kernel.keystore import KeyStore
from notary_hub.hub_urls import public_origin, public_url
from notary_hub.settings import Settings
from oauth_server.access_tokens import Lifetimes
from oauth_server.cli_client import CLI_CLIENT_ID, ensure_cli_client
from oauth_server.first_party import WALLET_CLIENT_ID, wallet_client_spec
from oauth_server.parts import DeviceLimits, OAuthParts, open_oauth_server
from oauth_server.signin_parts import SigninLimits, SigninParts, open_signin


def open_signin_from(
    settings: Settings,
    sessions: sessionmaker[Session],
    chain_parts: ChainParts,
    did: DidRegistryParts,
    keystore: KeyStore,
    created: list[str],
) -> SigninParts:
    """Sign-in checks the wallet's presentation against the holder's DID at the chain's
    head (``did.fresh_resolver``): a wallet that just added its key signs in at once."""
    cfg = settings.signin
    return open_signin(
        sessions=sessions,
        verifier=Verifier(
            did.fresh_resolver,
            chain=chain_parts.chain,
            status_registry=lists.address
            if (lists := chain_parts.deployment.status_lists)
            else None,
        ),
        keystore=keystore,
        origin=public_origin(settings),
        limits=SigninLimits(cfg.request_seconds, cfg.session_seconds, cfg.rate, cfg.burst),
        created=created,
    )


def open_oauth_from(
    settings: Settings,
    *,
    sessions: sessionmaker[Session],
    keystore: KeyStore,
    did_of: Callable[[str], str | None] | None = None,
    created: list[str] | None = None,
) -> OAuthParts:
    """``open_oauth_server`` with the ``oauth`` settings; issuer and audience default to
    the hub's public URL; ``did_of`` names a person's DID (the sign-in side's accounts).
    The hub's own clients are ensured: the holder's wallet (:mod:`oauth_server.first_party`)."""
    cfg = settings.oauth
    issuer = (cfg.issuer or public_url(settings)).rstrip("/")
    oauth = open_oauth_server(
        sessions=sessions,
        keystore=keystore,
        issuer=issuer,
        audience=cfg.audience or issuer,
        lifetimes=Lifetimes(
            access_token=cfg.access_token_seconds,
            refresh_token=cfg.refresh_token_seconds,
            code=cfg.code_seconds,
            pushed_request=cfg.par_seconds,
        ),
        token_rate=cfg.token_rate,
        token_burst=cfg.token_burst,
        revocation_cache_seconds=cfg.revocation_cache_seconds,
        did_of=did_of,
        device=DeviceLimits(
            cfg.device_code_seconds,
            cfg.device_interval,
            cfg.device_attempt_rate,
            cfg.device_attempt_burst,
        ),
    )
    oauth.first_party.ensure(WALLET_CLIENT_ID, wallet_client_spec())
    if ensure_cli_client(oauth.clients) and created is not None:
        created.append(f"OAuth client {CLI_CLIENT_ID} (staff: notary-hub login)")
    return oauth
