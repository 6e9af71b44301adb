"""The authorisation endpoint's request, checked in the order RFC 9700 requires.

OpenID Connect Core 1.0 §3.1.2.1-2, RFC 6749 §4.1.1 and §4.1.2.1, RFC 9126 §4 (a
``request_uri`` from PAR replaces the query), RFC 9207 (``iss`` on every answer).

The client and its redirect URI are checked first, the URI by exact match: while
either is in doubt the answer is an error page, never a redirect (RFC 6749 §4.1.2.1,
RFC 9700 §4.1.1: an open redirector). Only then is anything else wrong answered by a
redirect to the client with ``error``, ``state`` and ``iss``: a response type other
than ``code``, scopes the client did not register, a missing or non-S256 PKCE
challenge (RFC 9700 §2.1.1). Pure: the stores are passed in as callables.
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
PROMPTS = frozenset({"none", "consent"})  # login and select_account: one session, one person

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
        raise refuse("invalid_request", "prompt is none, or consent")
    return AuthorizationRequest(
        client=client,
        redirect_uri=redirect_uri,
        scopes=tuple(dict.fromkeys(asked)),
        code_challenge=challenge,
        state=state,
        nonce=params.get("nonce"),
        prompt=prompt,
    )


def decide(
    request: AuthorizationRequest, account_id: str | None, consented: frozenset[str]
) -> Decision:
    """Sign in first; then a code at once if a stored consent covers every scope (single
    sign-on into a platform already trusted), else the consent page. ``prompt=none``
    cannot show a page (OpenID Connect Core §3.1.2.6)."""
    passive = "none" in request.prompt
    if account_id is None:
        if passive:
            raise AuthorizeRedirectError(
                "login_required", "no one is signed in", request.redirect_uri, request.state
            )
        return "signin"
    if set(request.scopes) <= consented and "consent" not in request.prompt:
        return "issue"
    if passive:
        raise AuthorizeRedirectError(
            "consent_required", "the person has not consented", request.redirect_uri, request.state
        )
    return "consent"
