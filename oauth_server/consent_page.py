"""The consent page and the hub's own authorisation error page (HTML, no script).

OpenID Connect Core 1.0 §3.1.2.4: the person sees who asks (the client's registered
name) and, for each scope, the purpose the client registered for it (issue 13 item 7);
a scope revealing their DID (``did``) says so plainly. Approve and Deny post the held
request's id with its CSRF token (:mod:`oauth_server.consents`). Every value is
HTML-escaped. The router gives these pages a policy of their own
(:func:`page_policy`): nothing loads, no framing, and forms go only to the hub and, for
the redirect after the answer, to the client's redirect origin.
"""

from __future__ import annotations

from html import escape
from urllib.parse import urlsplit

from oauth_server.authorize import AuthorizationRequest

CONSENT_PATH = "/oauth/authorize/consent"
DID_NOTICE = (
    "This platform will learn your DID, the identifier your wallet signs with. "
    "With it, it can recognise you across every platform that also learns it."
)


def page_policy(redirect_uri: str | None = None) -> str:
    """CSP for the hub's pages; a form's 303 to the client must pass ``form-action``."""
    targets = "'self'"
    if redirect_uri is not None:
        parts = urlsplit(redirect_uri)
        targets += f" {parts.scheme}://{parts.netloc}"
    return (
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; "
        f"base-uri 'none'; form-action {targets}"
    )


def _document(title: str, body: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
</head>
<body>
{body}
</body>
</html>
"""


def consent_html(request: AuthorizationRequest, request_id: str, csrf: str) -> str:
    client = request.client
    name = escape(client.name)
    items = "\n".join(
        f'<li><strong class="scope">{escape(scope)}</strong>: '
        f'<span class="purpose">{escape(client.purpose_of(scope))}</span></li>'
        for scope in request.scopes
    )
    notice = (
        f'<p id="did-notice"><strong>{escape(DID_NOTICE)}</strong></p>'
        if (request.reveals_did)
        else ""
    )
    body = f"""<main id="consent">
<h1>{name} asks for your permission</h1>
<p><strong id="client-name">{name}</strong> would like to:</p>
<ul id="scopes">
{items}
</ul>
{notice}
<form method="post" action="{CONSENT_PATH}">
<input type="hidden" name="request_id" value="{escape(request_id, quote=True)}">
<input type="hidden" name="csrf_token" value="{escape(csrf, quote=True)}">
<button type="submit" name="decision" value="approve" id="approve">Approve</button>
<button type="submit" name="decision" value="deny" id="deny">Deny</button>
</form>
<p>You can withdraw this permission at any time from <a href="/account">your account</a>.</p>
</main>"""
    return _document(f"{client.name} asks for your permission", body)


def error_html(code: str, message: str) -> str:
    body = f"""<main id="authorize-error">
<h1>This sign-in request cannot continue</h1>
<p>The platform that sent you here made a request the hub refuses, so you are not
sent back to it.</p>
<p><code id="error">{escape(code)}</code>: <span id="message">{escape(message)}</span></p>
</main>"""
    return _document("Sign-in request refused", body)
