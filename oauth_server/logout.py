"""RP-initiated logout: a platform sends the person here to end their hub session.

OpenID Connect RP-Initiated Logout 1.0 §2-§3: ``id_token_hint`` (an ID token this hub
signed, expired or not, naming the client in ``aud``), ``client_id``,
``post_logout_redirect_uri`` and ``state``. The browser session ends whatever comes;
the person is sent back only to a URI the client registered exactly (§3.1, and only
when the client is identified by the hint or ``client_id``), with ``state``; otherwise
the hub shows its own signed-out page. A hint the hub did not sign, or of another
issuer, is refused (no redirect) rather than trusted.
https://openid.net/specs/openid-connect-rpinitiated-1_0.html#RPLogout
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from html import escape
from urllib.parse import urlencode, urlsplit

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from oauth_server.clients import Client
from oauth_server.errors import OAuthError
from oauth_server.keys import ALGORITHMS

MAX_HINT_CHARS = 8192


@dataclass(frozen=True)
class LogoutOutcome:
    redirect_to: str | None  # None: show the signed-out page


def _hinted_client(hint: str, keys: KeySet, issuer: str) -> str:
    """The client an ID token of this hub was issued to (its ``aud``)."""
    if len(hint) > MAX_HINT_CHARS:
        raise OAuthError("invalid_request", "id_token_hint is too long")
    try:
        decoded = jwt.decode(hint, keys, algorithms=list(ALGORITHMS))
    except (JoseError, ValueError):
        raise OAuthError(
            "invalid_request", "id_token_hint is not an ID token of this hub"
        ) from None
    claims = decoded.claims
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if claims.get("iss") != issuer or len(audiences) != 1 or not isinstance(audiences[0], str):
        raise OAuthError(
            "invalid_request", "id_token_hint was not issued by this hub to one client"
        )
    return audiences[0]


def plan_logout(
    params: Mapping[str, str],
    *,
    keys: KeySet,
    issuer: str,
    find_client: Callable[[str], Client | None],
) -> LogoutOutcome:
    """Where the browser goes after its session ends."""
    client_id = params.get("client_id")
    hint = params.get("id_token_hint")
    if hint:
        hinted = _hinted_client(hint, keys, issuer)
        if client_id is not None and client_id != hinted:
            raise OAuthError("invalid_request", "client_id is not the id_token_hint's audience")
        client_id = hinted
    target = params.get("post_logout_redirect_uri")
    client = find_client(client_id) if client_id else None
    if target is None or client is None or not client.check_post_logout_redirect_uri(target):
        return LogoutOutcome(None)
    state = params.get("state")
    query = urlencode({"state": state}) if state is not None else ""
    separator = "&" if urlsplit(target).query else "?"
    return LogoutOutcome(target + (separator + query if query else ""))


def signed_out_html(unregistered: bool) -> str:
    note = (
        '<p id="not-returned">The platform asked to send you to an address it has not '
        "registered, so you stay here.</p>"
        if unregistered
        else ""
    )
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{escape("Signed out")}</title>
</head>
<body>
<main id="signed-out">
<h1>You are signed out</h1>
<p>Your session at the hub has ended. Platforms you use may keep their own sessions.</p>
{note}
<p><a href="/signin">Sign in again</a></p>
</main>
</body>
</html>
"""
