"""Who deposits, and whose deposits a caller may read: the principal of an evidence request.

Issue 13 §8: the depositor is whoever the bearer token says is calling
(RFC 9068 access tokens, checked by the hub before this runs):

- a person's token (authorization code): the DID linked to the person's account, asked of
  the account directory, so a wallet that rotates keys stays the same depositor;
- a platform's token (client credentials): the DID registered with the OAuth client;
- the dev-mode bootstrap token only: the DID named in the ``Depositor`` request header.
  A development affordance for dev tooling (benchmarks, test worlds) on a hub with no
  OAuth client; ``notary-hub wallet deposit`` signs in instead. It is refused outside
  dev mode, and refused with any other token, which names its depositor itself.

Owner-only reads follow the token's subject, and never let a platform correlate a
person across platforms: a platform's token for a person reads that person's deposits
made through that platform only; the hub's own first-party client (the person's
wallet, :mod:`oauth_server.first_party`) reads all of the person's deposits, whichever
platform made them; a client-credentials token reads the platform's own deposits.

The DID is checked with the DID registry's parsers (W3C DID Core §3.1 syntax; did:ethr
on a served network, or did:key). This module never imports ``oauth_server``: the
caller and the directory are read through the Protocols below.
"""

# No ``from __future__ import annotations``: FastAPI reads the dependency's signature,
# whose ``Depends(identify)`` refers to the factory's argument.
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Protocol

from fastapi import Depends, Header
from starlette.concurrency import run_in_threadpool

from did_registry.did_key import parse_did_key
from did_registry.errors import DidError
from did_registry.ethr.did import parse_ethr_did
from evidence.deposit.models import DID_MAX_LENGTH, PLATFORM_MAX_LENGTH
from evidence.errors import EvidenceError, InvalidDeposit

DEPOSITOR_HEADER = "Depositor"


class InvalidDepositor(InvalidDeposit):
    code = "invalid_depositor"


class DepositorHeaderRefused(InvalidDeposit):
    """A ``Depositor`` header with a token that names its depositor itself, or outside dev."""

    code = "depositor_header_refused"


class NoDepositorDid(EvidenceError):
    """The token's account or client has no DID the hub could name as depositor."""

    code = "no_depositor_did"
    status_code = 403


class CallerIdentity(Protocol):
    """What the evidence routes read of ``oauth_server.caller.Caller``."""

    @property
    def client_id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def account_id(self) -> str | None: ...
    @property
    def platform_did(self) -> str | None: ...
    @property
    def first_party(self) -> bool: ...


class AccountDids(Protocol):
    """The part of ``oauth_server.accounts.AccountDirectory`` the evidence routes use."""

    def did_of(self, account_id: str) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Principal:
    """The depositor's DID and the platform (OAuth client) acting for it.

    ``all_platforms``: the person's own first-party wallet, which reads the DID's
    deposits made through any platform; otherwise reads stay within ``platform``.
    """

    did: str
    platform: str
    all_platforms: bool = False

    def owns(self, depositor: str, platform: str) -> bool:
        """Whether a deposit of ``depositor`` made through ``platform`` is this caller's."""
        return depositor == self.did and (self.all_platforms or platform == self.platform)


def check_depositor_did(did: str, *, networks: Mapping[str | int, int]) -> str:
    """``did`` if it is a did:ethr on one of ``networks`` or a did:key; else InvalidDepositor."""
    if len(did) > DID_MAX_LENGTH:
        raise InvalidDepositor(f"the depositor DID is longer than {DID_MAX_LENGTH} characters")
    method = did.split(":", 2)[1] if did.count(":") >= 2 else ""
    try:
        if method == "ethr":
            parse_ethr_did(did, networks=networks)
        elif method == "key":
            parse_did_key(did)
        else:
            raise InvalidDepositor(f"the depositor must be a did:ethr or did:key, not {did[:40]!r}")
    except DidError as exc:
        raise InvalidDepositor(f"the depositor is not a valid DID: {exc.message}") from None
    return did


@dataclass(frozen=True)
class PrincipalResolver:
    """Turns a validated caller (and the ``Depositor`` header) into a :class:`Principal`.

    ``accounts`` finds a person's DID (none: person tokens cannot deposit); ``networks``
    are the did:ethr networks a depositor may be on (chain id -> chain id, as
    :func:`did_registry.ethr.did.parse_ethr_did` takes them); ``dev`` admits the header
    with a bootstrap caller.
    """

    networks: Mapping[str | int, int]
    accounts: AccountDids | None = None
    dev: bool = False

    def principal(self, caller: CallerIdentity, depositor_header: str | None) -> Principal:
        if len(caller.client_id) > PLATFORM_MAX_LENGTH:
            raise InvalidDepositor(f"a client id longer than {PLATFORM_MAX_LENGTH} characters")
        if caller.kind == "bootstrap":
            return Principal(self._from_header(depositor_header), caller.client_id)
        if depositor_header is not None:
            raise DepositorHeaderRefused(
                f"the {DEPOSITOR_HEADER} header is refused: the access token names the "
                "depositor (the signed-in person's DID, or the platform's own)"
            )
        if caller.kind == "person":
            did = self._person_did(caller.account_id)
        elif caller.kind == "platform":
            did = self._platform_did(caller)
        else:
            raise NoDepositorDid(f"a {caller.kind[:16]!r} caller cannot deposit")
        did = check_depositor_did(did, networks=self.networks)
        everywhere = caller.kind == "person" and caller.first_party
        return Principal(did, caller.client_id, all_platforms=everywhere)

    def _from_header(self, depositor: str | None) -> str:
        if not self.dev:
            raise DepositorHeaderRefused("a bootstrap token is accepted in dev mode only")
        if not depositor:
            raise InvalidDepositor(
                f"with the dev bootstrap token, the {DEPOSITOR_HEADER} header must name "
                "the user's DID the platform acts for"
            )
        return check_depositor_did(depositor, networks=self.networks)

    @staticmethod
    def _platform_did(caller: CallerIdentity) -> str:
        if not caller.platform_did:
            raise NoDepositorDid(
                f"client {caller.client_id[:64]!r} has no DID registered to deposit under"
            )
        return caller.platform_did

    def _person_did(self, account_id: str | None) -> str:
        did = self.accounts.did_of(account_id) if self.accounts and account_id else None
        if not did:
            raise NoDepositorDid("no DID is linked to the signed-in person's account")
        return did


def principal_dependency(
    identify: Callable[..., Awaitable[CallerIdentity]], resolver: PrincipalResolver
) -> Callable[..., Awaitable[Principal]]:
    """A FastAPI dependency giving the :class:`Principal` of a request.

    ``identify`` is the hub's bearer-token dependency for the route's scope (e.g.
    ``authenticator.require_scope("evidence:deposit")``), giving the validated caller.
    """

    # async: DID parsing is CPU work, done on the event loop; only a person's DID is
    # looked up in the account directory (the database), in the thread pool.
    async def principal(
        caller: Annotated[CallerIdentity, Depends(identify)],
        depositor: Annotated[str | None, Header(alias=DEPOSITOR_HEADER)] = None,
    ) -> Principal:
        if caller.kind == "person":
            return await run_in_threadpool(resolver.principal, caller, depositor)
        return resolver.principal(caller, depositor)

    return principal
