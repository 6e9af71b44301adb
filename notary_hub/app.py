"""The FastAPI application factory: mounts each component's router on one opened :class:`Hub`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse

from chain_adapter.anchoring.router import anchoring_router
from chain_adapter.embedded import EmbeddedChain
from chain_adapter.rpc_execution import CallLimits
from chain_adapter.rpc_limits import RateLimiter
from chain_adapter.rpc_router import rpc_router
from chain_adapter.rpc_server import RpcServer
from credentials.contexts_router import contexts_router
from credentials.router import credentials_router
from did_registry.consortium.router import consortium_router
from did_registry.registrar.router import registrar_router
from did_registry.router import resolver_router
from evidence.capture.router import capture_router
from evidence.deposit.router import evidence_router
from evidence.deposit.verify_router import verify_router
from evidence.draw.router import draw_router
from evidence.letter_pdf.router import letter_pdf_router
from evidence.principal import AccountDids, PrincipalResolver, principal_dependency
from evidence.timestamping.router import tsa_router
from notary_hub import __version__, serving
from notary_hub.admin_router import admin_router
from notary_hub.docs_pages import install_docs_pages
from notary_hub.errors import install_error_handlers
from notary_hub.hub import PIPELINE_STAGES, Hub
from notary_hub.identity import (
    ADMIN,
    API_SCOPES,
    CONSORTIUM_VOTE,
    CREDENTIALS_ISSUE,
    CREDENTIALS_STATUS,
    DRAWS_MANAGE,
    EVIDENCE_CAPTURE,
    EVIDENCE_DEPOSIT,
    EVIDENCE_READ,
    REGISTRAR_RELAY,
    Authenticator,
    TokenValidator,
)
from notary_hub.metrics import metrics_router
from notary_hub.metrics_http import HttpMetricsMiddleware
from notary_hub.metrics_hub import HubCollector, read_figures
from notary_hub.middleware import JsonGuardMiddleware
from notary_hub.readiness import readiness
from notary_hub.request_ids import RequestIdMiddleware
from notary_hub.security_headers import SecurityHeadersMiddleware
from notary_hub.settings import ChainSettings
from notary_hub.static_tokens import StaticTokens
from oauth_server.authorize_router import authorize_router
from oauth_server.device_router import device_router
from oauth_server.router import oauth_router
from oauth_server.signin_router import signin_router

log = logging.getLogger(__name__)
OPENAPI_PATH = "/openapi.json"


def health_router(hub: Hub) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz")
    def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok", "version": __version__}

    @router.get("/readyz", response_model=None)
    def readyz() -> dict[str, Any] | JSONResponse:
        """Readiness, dependency by dependency (:mod:`notary_hub.readiness`); 503 unless
        every required one is ok."""
        ready, body = readiness(hub)
        return body if ready else JSONResponse(body, status_code=503)

    return router


def create_app(
    hub: Hub,
    *,
    run_background: bool = True,
    pipeline: Collection[str] = PIPELINE_STAGES,
    close_hub: bool = False,
    announce_url: str | None = None,
    token_validator: TokenValidator | None = None,
    accounts: AccountDids | None = None,
) -> FastAPI:
    """The hub's HTTP application; the caller owns ``hub`` and closes it.

    Bearer routes take OAuth access tokens checked by ``token_validator`` (the
    authorisation server's, once one is opened; none: no OAuth token is accepted) and,
    in dev mode only, the hub's static bootstrap tokens. ``accounts`` names the DID of a
    person whose token deposits (:mod:`evidence.principal`).

    With ``announce_url``, ``DATA_DIR/serve.json`` names it while the app runs
    (:mod:`notary_hub.serving`); the lifespan removes it, as uvicorn ends the process
    by re-raising SIGTERM once the lifespan is over, before the caller's ``finally``.
    """

    # The hub's own authorisation server and accounts unless a caller brings others.
    validator = token_validator if token_validator is not None else hub.oauth.validator
    accounts = accounts if accounts is not None else hub.signin.accounts

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if run_background:
            hub.start_background(pipeline)
        announced = serving.announce(hub.settings.data_dir, announce_url) if announce_url else None
        try:
            yield
        finally:
            if announced is not None:
                serving.withdraw(announced)
            hub.stop_background()
            if close_hub:  # the app opened it (notary_hub.asgi): nobody else will close it
                hub.close()

    docs = hub.settings.server.docs_enabled(hub.settings.dev)
    app = FastAPI(
        title="Notary Hub",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,  # served offline by install_docs_pages
        redoc_url=None,
        openapi_url=OPENAPI_PATH if docs else None,
    )
    if docs:
        install_docs_pages(app, OPENAPI_PATH)
    app.add_middleware(JsonGuardMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)  # errors get the headers too
    app.add_middleware(HttpMetricsMiddleware)  # counts what the others refuse as well
    app.add_middleware(RequestIdMiddleware)  # outermost: every log line of a request has it
    install_error_handlers(app)
    auth = hub_authenticator(hub, validator)
    _include_routers(app, hub, auth, accounts)
    return app


def hub_authenticator(hub: Hub, validator: TokenValidator | None) -> Authenticator:
    """OAuth tokens through ``validator``; the static tokens only as the dev bootstrap."""
    dev = hub.settings.dev
    bootstrap = StaticTokens(hub.api_tokens, API_SCOPES) if dev and hub.api_tokens else None
    return Authenticator(validator, bootstrap)


def _include_routers(
    app: FastAPI, hub: Hub, auth: Authenticator, accounts: AccountDids | None
) -> None:
    app.include_router(health_router(hub))
    metrics = hub.settings.metrics
    if metrics.enabled:
        collector = HubCollector(lambda: read_figures(hub), metrics.cache_seconds)
        app.include_router(metrics_router(metrics, collector, dev=hub.settings.dev))
    app.include_router(anchoring_router(hub.queue, hub.chain, auth.require_scope(ADMIN)))
    app.include_router(resolver_router(hub.resolver))
    app.include_router(
        registrar_router(
            hub.registrar,
            lambda: hub.resolver,
            auth.require_scope(REGISTRAR_RELAY),
            network_names=hub.settings.did.network_names,
        )
    )
    app.include_router(consortium_router(hub.consortium, auth.require_scope(CONSORTIUM_VOTE)))
    app.include_router(contexts_router())
    app.include_router(admin_router(lambda: hub.notary, auth.require_scope(ADMIN)))
    if hub.credentials is not None:
        parts = hub.credentials
        app.include_router(
            credentials_router(
                parts.issuer,
                parts.verifier,
                parts.status,
                auth.require_scope(CREDENTIALS_ISSUE),
                auth.require_scope(CREDENTIALS_STATUS),
                trust=parts.trust,
                challenges=(parts.challenges, parts.challenge_limiter),
            )
        )
    if hub.evidence is not None:
        _include_evidence_routers(app, hub, auth, accounts)
    embedded = hub.embedded_chain
    if embedded is not None:
        _include_rpc_router(app, hub, embedded)
    signin = hub.signin  # issue 13: sign-in with the DID wallet
    app.include_router(signin_router(signin.service, signin.start_limit, signin.response_limit))
    app.include_router(oauth_router(hub.oauth))  # issue 13: the authorisation server
    app.include_router(authorize_router(hub.oauth, signin.service))  # consent, account, logout
    app.include_router(device_router(hub.oauth, signin.service))  # RFC 8628 verification page


def _include_evidence_routers(
    app: FastAPI, hub: Hub, auth: Authenticator, accounts: AccountDids | None
) -> None:
    """Letter verification, deposits, their PDF letters and, with a TSA, time-stamping."""
    parts_e = hub.evidence
    networks: dict[str | int, int] = {hub.chain.chain_id: hub.chain.chain_id}
    networks.update(hub.settings.did.network_names)
    resolver = PrincipalResolver(networks, accounts, dev=hub.settings.dev)
    cfg = hub.settings.evidence
    public = RateLimiter(cfg.public_rate, cfg.public_burst)  # one bucket per IP for all
    max_bytes = parts_e.deposits.max_upload_bytes
    app.include_router(verify_router(parts_e.letters, max_file_bytes=max_bytes, limiter=public))
    depositing = principal_dependency(auth.require_scope(EVIDENCE_DEPOSIT), resolver)
    reading = principal_dependency(auth.require_scope(EVIDENCE_READ), resolver)
    app.include_router(evidence_router(parts_e.deposits, depositing, reading))
    if parts_e.letter_pdfs is not None:
        # Signing a PDF of a letter handed in is a staff tool (`notary-hub letter pdf`).
        app.include_router(
            letter_pdf_router(
                parts_e.letter_pdfs,
                parts_e.deposits,
                reading,
                auth.require_scope(ADMIN),
                limiter=public,
            )
        )
    if parts_e.tsa is not None:
        app.include_router(tsa_router(parts_e.tsa, parts_e.tsa.certificates))
    if parts_e.draws is not None:  # issue 14: public draws, run by organisers
        organiser = principal_dependency(auth.require_scope(DRAWS_MANAGE), resolver)
        app.include_router(draw_router(parts_e.draws, organiser, limiter=public))
    if parts_e.captures is not None:  # issue 15: remote captures, each its owner's
        capturer = principal_dependency(auth.require_scope(EVIDENCE_CAPTURE), resolver)
        captures = parts_e.captures
        app.include_router(capture_router(captures, parts_e.blobs, capturer, limiter=public))


def _include_rpc_router(app: FastAPI, hub: Hub, embedded: EmbeddedChain) -> None:
    """The embedded chain's JSON-RPC endpoint."""
    cfg = hub.settings.chain
    app.include_router(embedded_rpc_router(embedded, cfg, allow_send_raw=cfg.rpc_allow_send_raw))


def embedded_rpc_router(
    embedded: EmbeddedChain, cfg: ChainSettings, *, allow_send_raw: bool
) -> APIRouter:
    """``POST /rpc`` over ``embedded`` with the configured limits: the hub's and ``node``'s."""
    limits = CallLimits(gas_cap=cfg.rpc_call_gas_cap, timeout=cfg.rpc_call_timeout)
    server = RpcServer(embedded, allow_send_raw=allow_send_raw, limits=limits)
    rate = RateLimiter(cfg.rpc_rate_limit, cfg.rpc_rate_burst)
    return rpc_router(lambda: server, rate_limiter=rate, max_concurrent=cfg.rpc_max_concurrent)
