"""Who is calling the evidence API: the one dependency the OAuth issue will replace.

Until OAuth access tokens exist, an API token (``notary_hub.auth``) stands for a
partner platform, and the platform names the user it acts for, by DID, in the
``Depositor`` request header (a header, not a form field: it must be known
before a multipart body is read). The DID is checked with the DID registry's
parsers (W3C DID Core §3.1 syntax; did:ethr on a served network, or did:key).
"""

# No ``from __future__ import annotations``: FastAPI reads the dependency's signature,
# whose ``Depends(authenticate)`` refers to the factory's argument.
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header

from did_registry.did_key import parse_did_key
from did_registry.errors import DidError
from did_registry.ethr.did import parse_ethr_did
from evidence.deposit.models import DID_MAX_LENGTH
from evidence.errors import InvalidDeposit

DEPOSITOR_HEADER = "Depositor"


class InvalidDepositor(InvalidDeposit):
    code = "invalid_depositor"


@dataclass(frozen=True, slots=True)
class Principal:
    """The depositor's DID and the platform (API client) acting for it."""

    did: str
    platform: str


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


def principal_dependency(
    authenticate: Callable[..., Awaitable[str]], *, networks: Mapping[str | int, int]
) -> Callable[..., Awaitable[Principal]]:
    """A FastAPI dependency giving the :class:`Principal` of a request.

    ``authenticate`` is the platform's authentication dependency (e.g.
    ``notary_hub.auth.api_token_dependency(tokens)``); what it returns names the
    platform. ``networks`` are the did:ethr networks a depositor may be on
    (chain id -> chain id, as :func:`did_registry.ethr.did.parse_ethr_did` takes them).
    """

    # async: DID parsing is pure CPU work, so it runs on the event loop, not in the
    # thread pool (one hop less per request).
    async def principal(
        platform: Annotated[str, Depends(authenticate)],
        depositor: Annotated[str | None, Header(alias=DEPOSITOR_HEADER)] = None,
    ) -> Principal:
        if not depositor:
            raise InvalidDepositor(
                f"the {DEPOSITOR_HEADER} header must name the user's DID the platform acts for"
            )
        return Principal(did=check_depositor_did(depositor, networks=networks), platform=platform)

    return principal
