"""The scopes the hub's authorisation server grants, with what each lets a client do.

RFC 6749 §3.3 (access token scope) and OpenID Connect Core 1.0 §5.4 (``openid``,
``profile``). Issue 13 item 8 names the API scopes; a client registers a purpose for
each scope it may ask for, shown to the person on the consent page.
https://www.rfc-editor.org/rfc/rfc6749#section-3.3
"""

from __future__ import annotations

from collections.abc import Iterable

from oauth_server.errors import OAuthError

SCOPES: dict[str, str] = {
    "openid": "sign you in with your DID wallet",
    "profile": "read your basic profile",
    "did": "reveal your DID",
    "evidence:deposit": "deposit evidence in your name",
    "evidence:read": "read your deposits and their custody letters",
    "evidence:capture": "capture web evidence in your name in the notary's remote browser",
    "credentials:issue": "have the notary issue credentials",
    "credentials:status": "change the status of issued credentials",
    "registrar:relay": "relay your DID operations to the chain",
    "consortium:vote": "vote in the consortium",
    "draws:manage": "organise public draws: configure, upload entrants, commit and draw",
    "admin": "operate the hub",
}

# Scopes a person consents to; the others are granted only to a client for itself.
# ``registrar:relay`` too: a relayed DID operation is authorised by the DID owner's own
# signature (ERC-1056 meta-transaction); the token only lets the hub pay its gas.
PERSON_SCOPES = frozenset(
    {
        "openid",
        "profile",
        "did",
        "evidence:deposit",
        "evidence:read",
        "evidence:capture",
        "registrar:relay",
    }
)

# Scopes only staff grant (``notary-hub clients create``): never to a self-registered client.
# ``draws:manage`` too (issue 14): an organiser's draws are signed by the notary, so the
# notary admits its organisers (a platform's client, or a person by ``staff grant``).
STAFF_SCOPES = frozenset(
    {"admin", "consortium:vote", "credentials:issue", "credentials:status", "draws:manage"}
)


def parse_scope(value: str | None) -> tuple[str, ...]:
    """RFC 6749 §3.3: space-delimited, each known; order kept, duplicates dropped."""
    if value is None:
        return ()
    names = tuple(dict.fromkeys(value.split()))
    check_scopes(names)
    return names


def check_scopes(names: Iterable[str]) -> None:
    unknown = sorted(set(names) - SCOPES.keys())
    if unknown:
        raise OAuthError("invalid_scope", f"unknown scope {', '.join(unknown)}")


def scope_string(names: Iterable[str]) -> str:
    return " ".join(names)
