"""The authorisation endpoint's request, checked in the order RFC 9700 requires.

OpenID Connect Core 1.0 §3.1.2.1-2, RFC 6749 §4.1.1 and §4.1.2.1, RFC 9126 §4 (a
``request_uri`` from PAR replaces the query), RFC 9207 (``iss`` on every answer).

The client and its redirect URI are checked first, the URI by exact match: while
either is in doubt the answer is an error page, never a redirect (RFC 6749 §4.1.2.1,
RFC 9700 §4.1.1: an open redirector). Only then is anything else wrong answered by a
redirect to the client with ``error``, ``state`` and ``iss``: a response type other
than ``code``, scopes the client did not register, a missing or non-S256 PKCE
challenge (RFC 9700 §2.1.1). ``prompt`` (none, login, consent) and ``max_age``
(OpenID Connect Core §3.1.2.1, §3.1.2.3) decide whether a session is fresh enough.
Pure: the stores are passed in as callables.
https://openid.net/specs/openid-connect-core-1_0.html#AuthRequestValidation
https://www.rfc-editor.org/rfc/rfc9700#section-4.1.1
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlencode, urlsplit

from oauth_server.clients import Client
from oauth_server.errors import OAuthError
from oauth_server.pkce import check_challenge

MAX_PARAMS = 32
MAX_VALUE_CHARS = 2000
PROMPTS = frozenset({"none", "login", "consent"})  # no select_account: one session, one person
MAX_AGE_DIGITS = 9
# Hub-internal: the request again after a fresh sign-in (prompt=login, max_age) carries the
# time the hub sent the person to sign in; a session begun before it does not count.
AUTH_AFTER = "auth_after"

Decision = Literal["signin", "issue", "consent"]
FindClient = Callable[[str], Client | None]
TakePushed = Callable[[str, str], list[tuple[str, str]]]


class AuthorizePageError(OAuthError):
    """A refusal shown on the hub's own error page: the client or redirect URI is unknown."""


class AuthorizeRedirectError(OAuthError):
    """A refusal sent back to the client's (verified) redirect URI."""

    def __init__(self, code: str, message: str, redirect_uri: str, state: str | None) -> None:
        super().__init__(code, message)
        self.redirect_uri = redirect_uri
        self.state = state


@dataclass(frozen=True)
class AuthorizationRequest:
    client: Client
    redirect_uri: str
    scopes: tuple[str, ...]
    code_challenge: str
    state: str | None = None
    nonce: str | None = None
    prompt: frozenset[str] = frozenset()
    max_age: int | None = None  # OpenID Connect Core §3.1.2.1
    auth_after: int | None = None  # AUTH_AFTER

    @property
    def wants_fresh_sign_in(self) -> bool:
        """prompt=login or max_age: the sign-in must be fresh (§3.1.2.3)."""
        return "login" in self.prompt or self.max_age is not None

    @property
    def reveals_did(self) -> bool:
        return "did" in self.scopes


def redirect_with(redirect_uri: str, params: dict[str, str], issuer: str) -> str:
    """``redirect_uri`` with ``params`` and ``iss`` (RFC 9207 §2) added to its query."""
    separator = "&" if urlsplit(redirect_uri).query else "?"
    return redirect_uri + separator + urlencode({**params, "iss": issuer})


def error_redirect(refused: AuthorizeRedirectError, issuer: str) -> str:
    params = {"error": refused.code, "error_description": refused.message}
    if refused.state is not None:
        params["state"] = refused.state
    return redirect_with(refused.redirect_uri, params, issuer)


def _single(pairs: Sequence[tuple[str, str]]) -> dict[str, str]:
    # RFC 6749 §3.1: a parameter is sent at most once; the page refuses before any redirect.
    if len(pairs) > MAX_PARAMS or any(len(value) > MAX_VALUE_CHARS for _, value in pairs):
        raise AuthorizePageError("invalid_request", "the authorisation request is too large")
    names = [name for name, _ in pairs]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise AuthorizePageError("invalid_request", f"repeated parameter: {', '.join(repeated)}")
    return dict(pairs)


def _client_and_redirect(
    params: dict[str, str], find_client: FindClient, take_pushed: TakePushed
) -> tuple[Client, dict[str, str]]:
    client_id = params.get("client_id")
    client = find_client(client_id) if client_id else None
    if client is None:
        raise AuthorizePageError("invalid_client", "the client_id is not a registered client")
    if "request_uri" in params:
        # RFC 9126 §4: the pushed parameters are the request; the query only names it.
        try:
            pushed = _single(take_pushed(params["request_uri"], client.client_id))
        except AuthorizePageError:
            raise
        except OAuthError as spent:
            raise AuthorizePageError(spent.code, spent.message) from None
        if pushed.get("client_id") != client.client_id:
            raise AuthorizePageError("invalid_request_uri", "the request_uri is another client's")
        params = pushed
    redirect_uri = params.get("redirect_uri", "")
    if not client.check_redirect_uri(redirect_uri):
        raise AuthorizePageError(
            "invalid_redirect_uri", "the redirect_uri is not registered for this client exactly"
        )
    return client, params


def parse_request(
    pairs: Sequence[tuple[str, str]], find_client: FindClient, take_pushed: TakePushed
) -> AuthorizationRequest:
    """The checked request; :class:`AuthorizePageError` until the redirect URI is known
    good, :class:`AuthorizeRedirectError` after."""
    client, params = _client_and_redirect(_single(pairs), find_client, take_pushed)
    redirect_uri, state = params["redirect_uri"], params.get("state")

    def refuse(code: str, message: str) -> AuthorizeRedirectError:
        return AuthorizeRedirectError(code, message, redirect_uri, state)

    if params.get("response_type") != "code":
        raise refuse("unsupported_response_type", "the hub issues codes only (response_type=code)")
    if "request" in params:
        raise refuse("request_not_supported", "request objects by value are not supported")
    if "authorization_code" not in client.grant_types:
        raise refuse("unauthorized_client", "the client may not use the code grant")
    asked = params.get("scope", "").split()
    unknown = sorted(set(asked) - set(client.scopes))
    if not asked or unknown:
        raise refuse("invalid_scope", f"scopes not registered: {' '.join(unknown) or '(none)'}")
    try:
        challenge = check_challenge(
            params.get("code_challenge"), params.get("code_challenge_method")
        )
    except OAuthError as weak:
        raise refuse("invalid_request", weak.message) from None
    prompt = frozenset(params.get("prompt", "").split())
    if not prompt <= PROMPTS or ("none" in prompt and len(prompt) > 1):
        raise refuse("invalid_request", "prompt is none alone, or login and/or consent")
    seconds = {name: params.get(name) for name in ("max_age", AUTH_AFTER)}
    for name, value in seconds.items():
        if value is not None and not (value.isdigit() and len(value) <= MAX_AGE_DIGITS + 1):
            raise refuse("invalid_request", f"{name} is a whole number of seconds")
    max_age, auth_after = (int(v) if v is not None else None for v in seconds.values())
    return AuthorizationRequest(
        client=client,
        redirect_uri=redirect_uri,
        scopes=tuple(dict.fromkeys(asked)),
        code_challenge=challenge,
        state=state,
        nonce=params.get("nonce"),
        prompt=prompt,
        max_age=max_age,
        auth_after=auth_after,
    )


def sign_in_stale(request: AuthorizationRequest, auth_time: int | None, now: int) -> bool:
    """Whether the person must sign in again before this request (OpenID Connect Core
    §3.1.2.3): ``prompt=login`` or a ``max_age`` the session outlived, unless the
    session began after the hub last sent them to sign in for this request
    (``auth_after``, which also keeps a fresh sign-in from looping)."""
    if auth_time is None:
        return True
    if request.auth_after is not None:
        return auth_time < request.auth_after
    if "login" in request.prompt:
        return True
    return request.max_age is not None and now - auth_time > request.max_age


def decide(
    request: AuthorizationRequest,
    account_id: str | None,
    consented: frozenset[str],
    *,
    first_party: bool = False,
    stale: bool = False,
) -> Decision:
    """Sign in first; then a code at once if a stored consent covers every scope (single
    sign-on into a platform already trusted) or the client is one of the hub's own
    (:mod:`oauth_server.first_party`: the person's own command is the consent), else the
    consent page. ``prompt=none`` cannot show a page (OpenID Connect Core §3.1.2.6).
    ``stale``: the session is too old for this request (:func:`sign_in_stale`)."""
    passive = "none" in request.prompt
    if account_id is None or stale:
        if passive:
            why = "the sign-in is older than max_age" if account_id else "no one is signed in"
            raise AuthorizeRedirectError("login_required", why, request.redirect_uri, request.state)
        return "signin"
    if first_party or (set(request.scopes) <= consented and "consent" not in request.prompt):
        return "issue"
    if passive:
        raise AuthorizeRedirectError(
            "consent_required", "the person has not consented", request.redirect_uri, request.state
        )
    return "consent"
