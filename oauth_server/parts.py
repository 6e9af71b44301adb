"""``open_oauth_server``: the authorisation server, opened once with what it needs.

Callers pass plain values (mapping settings to them is ``notary_hub.hub``'s job). The
parts are the stores (clients, keys, the token ledger, pushed requests, initial
access tokens), Authlib's server with the hub's grants and endpoints, the code issuer
the sign-in side calls, the validator the hub's routes use, and the token endpoint's
rate limiter (per client IP); the device grant (RFC 8628: its endpoint, grant, stored
requests and the verification page's attempt limiter) and staff grants. A worker drops
retired keys once their tokens expired.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from sqlalchemy.orm import Session, sessionmaker

from chain_adapter.rpc_limits import RateLimiter
from hub_kernel.keystore import KeyStore
from hub_kernel.worker import Worker
from oauth_server.access_tokens import AccessTokenIssuer, Lifetimes
from oauth_server.client_auth import JtiCache, PrivateKeyJwt
from oauth_server.clients import ClientStore
from oauth_server.consents import ConsentStore
from oauth_server.device import (
    VERIFICATION_PATH,
    DeviceCodeGrant,
    DeviceCodesExtension,
    HubDeviceAuthorizationEndpoint,
)
from oauth_server.device_codes import DeviceCodes
from oauth_server.discovery import (
    INTROSPECTION_PATH,
    PAR_PATH,
    REVOCATION_PATH,
    TOKEN_PATH,
    authorization_server_metadata,
)
from oauth_server.first_party import FirstPartyClients
from oauth_server.grants import CodeIssuer
from oauth_server.id_tokens import DidOf, IdTokens
from oauth_server.introspection import HubIntrospectionEndpoint, TokenFinder
from oauth_server.keys import SigningKeys
from oauth_server.ledger import TokenLedger
from oauth_server.par import PushedRequests
from oauth_server.registration import HubRegistrationEndpoint, InitialTokens
from oauth_server.resource import AccessTokenValidator
from oauth_server.revocation import HubRevocationEndpoint
from oauth_server.server import HubAuthorizationServer
from oauth_server.staff import StaffGrants
from oauth_server.subjects import PairwiseSubjects
from oauth_server.userinfo import UserInfo

KEY_SWEEP_SECONDS = 60.0


@dataclass(frozen=True)
class DeviceLimits:
    """RFC 8628: a request lives ``lifetime`` s, polled every ``interval`` s; the
    verification page takes ``attempt_rate`` user codes a second per session and per
    client IP after a burst of ``attempt_burst`` (§5.1, brute force of user codes)."""

    lifetime: int = 600
    interval: int = 5
    attempt_rate: float = 0.2
    attempt_burst: int = 10


@dataclass
class OAuthParts:
    issuer: str
    audience: str
    lifetimes: Lifetimes
    clients: ClientStore
    keys: SigningKeys
    ledger: TokenLedger
    server: HubAuthorizationServer
    codes: CodeIssuer
    validator: AccessTokenValidator
    pushed: PushedRequests
    initial_tokens: InitialTokens
    token_limiter: RateLimiter  # per client IP, for the token, PAR and registration routes
    userinfo: UserInfo
    consents: ConsentStore
    first_party: FirstPartyClients  # the clients the hub registers itself at start-up
    device_codes: DeviceCodes
    device_limiter: RateLimiter  # user codes tried on /device, per session and per client IP
    staff: StaffGrants
    _workers: list[Worker] = field(default_factory=list, repr=False)

    def start(self) -> None:
        self._workers = [Worker("oauth-keys", self.keys.drop_expired, KEY_SWEEP_SECONDS)]
        for worker in self._workers:
            worker.start()

    def stop(self) -> None:
        for worker in self._workers:
            worker.stop()

    def close(self) -> None:
        self.stop()


def retired_key_retention(lifetimes: Lifetimes) -> int:
    """Seconds a retired key stays published: while anything it signed may be presented
    (an access or ID token, both ``access_token`` long), with five minutes' clock skew."""
    return max(lifetimes.access_token, lifetimes.code) + 300


def open_oauth_server(
    *,
    sessions: sessionmaker[Session],
    keystore: KeyStore,
    issuer: str,
    audience: str,
    lifetimes: Lifetimes,
    token_rate: float,
    token_burst: int,
    revocation_cache_seconds: float = 2.0,
    did_of: DidOf | None = None,
    device: DeviceLimits | None = None,
    clock: Callable[[], float] = time.time,
) -> OAuthParts:
    """The parts; ``did_of`` (an account's linked DID, from the sign-in side's account
    directory) lets ID tokens and userinfo carry the DID of a person who consented to
    ``did``."""
    issuer = issuer.rstrip("/")
    clients = ClientStore(sessions, cache_seconds=revocation_cache_seconds, clock=clock)
    keys = SigningKeys(
        sessions, keystore, keep_retired=retired_key_retention(lifetimes), clock=clock
    )
    keys.ensure()
    ledger = TokenLedger(sessions, cache_seconds=revocation_cache_seconds, clock=clock)
    server = _authorization_server(
        sessions, keys, clients, ledger, issuer, audience, lifetimes, did_of, clock
    )
    initial_tokens = InitialTokens(sessions, clock=clock)
    _register_endpoints(server, keys, initial_tokens, issuer=issuer, audience=audience)
    first_party = FirstPartyClients(clients)

    device = device or DeviceLimits()
    device_codes = _device_grant(server, sessions, ledger, device, issuer, clock)
    staff = StaffGrants(sessions, ledger, clock=clock)
    validator = AccessTokenValidator(
        keys, ledger, issuer=issuer, audience=audience, platform_did_of=clients.platform_did,
        first_party=first_party, clock=clock,
    )  # fmt: skip
    return OAuthParts(
        issuer=issuer,
        audience=audience,
        lifetimes=lifetimes,
        clients=clients,
        keys=keys,
        ledger=ledger,
        server=server,
        codes=CodeIssuer(
            sessions,
            PairwiseSubjects(keystore),
            issuer=issuer,
            lifetimes=lifetimes,
            staff_scopes_of=staff.held_by_account,
            clock=clock,
        ),
        validator=validator,
        pushed=PushedRequests(sessions, lifetime=lifetimes.pushed_request, clock=clock),
        initial_tokens=initial_tokens,
        token_limiter=RateLimiter(token_rate, token_burst),
        userinfo=UserInfo(validator, server.id_tokens),
        consents=ConsentStore(sessions, clock=clock),
        first_party=first_party,
        device_codes=device_codes,
        device_limiter=RateLimiter(device.attempt_rate, device.attempt_burst),
        staff=staff,
    )


def _authorization_server(
    sessions: sessionmaker[Session],
    keys: SigningKeys,
    clients: ClientStore,
    ledger: TokenLedger,
    issuer: str,
    audience: str,
    lifetimes: Lifetimes,
    did_of: DidOf | None,
    clock: Callable[[], float],
) -> HubAuthorizationServer:
    return HubAuthorizationServer(
        clients=clients,
        ledger=ledger,
        sessions=sessions,
        tokens=AccessTokenIssuer(keys, issuer=issuer, audience=audience, lifetimes=lifetimes),
        refresh_lifetime=lifetimes.refresh_token,
        id_tokens=IdTokens(
            keys, sessions, issuer=issuer, lifetime=lifetimes.access_token, did_of=did_of
        ),
        clock=clock,
    )


def _device_grant(
    server: HubAuthorizationServer,
    sessions: sessionmaker[Session],
    ledger: TokenLedger,
    device: DeviceLimits,
    issuer: str,
    clock: Callable[[], float],
) -> DeviceCodes:
    """RFC 8628: the device codes, the grant that redeems them and the endpoint that
    issues them (a replayed code revokes what it was redeemed for)."""
    codes = DeviceCodes(
        sessions,
        lifetime=device.lifetime,
        interval=device.interval,
        on_replay=ledger.revoke_from_code,
        clock=clock,
    )
    server.register_grant(DeviceCodeGrant, [DeviceCodesExtension(codes)])
    server.register_endpoint(HubDeviceAuthorizationEndpoint(codes, issuer + VERIFICATION_PATH))
    return codes


def _register_endpoints(
    server: HubAuthorizationServer,
    keys: SigningKeys,
    initial_tokens: InitialTokens,
    *,
    issuer: str,
    audience: str,
) -> None:
    """private_key_jwt (its assertions addressed to the issuer or an endpoint),
    introspection, revocation and registration, on Authlib's server."""
    paths = (TOKEN_PATH, PAR_PATH, INTROSPECTION_PATH, REVOCATION_PATH)
    audiences = [issuer, *(issuer + path for path in paths)]
    server.use_private_key_jwt(
        PrivateKeyJwt(audiences, JtiCache(server.sessions, clock=server.clock))
    )
    finder = TokenFinder(keys, server.ledger, server.clock)
    server.register_endpoint(HubIntrospectionEndpoint(finder, issuer=issuer, audience=audience))
    server.register_endpoint(HubRevocationEndpoint(finder, server.ledger))
    metadata = partial(authorization_server_metadata, issuer)
    server.register_endpoint(HubRegistrationEndpoint(server.clients, initial_tokens, metadata))
