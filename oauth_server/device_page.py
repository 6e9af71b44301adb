"""The device verification page (RFC 8628 §3.3): enter the code, see who asks, answer.

The signed-in person types the code their device shows (or arrives with it, from
``verification_uri_complete``), checks it against the device (§5.4: the code shown
on both is the person's defence against a remote phishing request), sees the client's
registered name and, for each scope, the purpose it registered (as on the consent
page, :mod:`oauth_server.consent_page`). Staff scopes the person's account does not
hold are listed apart, as not granted (:mod:`oauth_server.staff`); with nothing left to
grant only Deny is offered. Approve and Deny post the code with the session's CSRF
token. No script; every value HTML-escaped; the router sends the consent page's policy
(no framing, forms to the hub only).
https://www.rfc-editor.org/rfc/rfc8628#section-3.3
"""

from __future__ import annotations

from html import escape

from oauth_server.clients import Client
from oauth_server.device import VERIFICATION_PATH
from oauth_server.device_codes import display_user_code
from oauth_server.scopes import SCOPES
from oauth_server.staff import ScopeSplit

DONE_PATH = VERIFICATION_PATH + "/done"
NOT_HELD = "your account does not hold this staff scope, so it will not be granted"


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


def entry_html(problem: str | None = None, typed: str = "") -> str:
    """The form asking for the code (again, with ``problem``, after a wrong one)."""
    notice = f'<p id="problem"><strong>{escape(problem)}</strong></p>' if problem else ""
    body = f"""<main id="device-entry">
<h1>Connect a device</h1>
<p>Enter the code your device shows, such as <code>BCDF-GHJK</code>.</p>
{notice}
<form method="get" action="{VERIFICATION_PATH}">
<label for="user_code">Code</label>
<input id="user_code" name="user_code" value="{escape(typed, quote=True)}" maxlength="16"
 autocomplete="off" autocapitalize="characters" spellcheck="false" required>
<button type="submit" id="continue">Continue</button>
</form>
</main>"""
    return _document("Connect a device", body)


def _items(client: Client, scopes: tuple[str, ...], element: str) -> str:
    return "\n".join(
        f'<li><strong class="scope">{escape(scope)}</strong>: '
        f'<span class="purpose">{escape(client.scope_purposes.get(scope, SCOPES[scope]))}</span>'
        f"{element}</li>"
        for scope in scopes
    )


def approval_html(client: Client, user_code: str, split: ScopeSplit, csrf: str) -> str:
    """The request under ``user_code``: what would be granted, what would not."""
    name = escape(client.name)
    code = escape(display_user_code(user_code))
    granted = (
        f'<p><strong id="client-name">{name}</strong> would like to:</p>\n'
        f'<ul id="scopes">\n{_items(client, split.granted, "")}\n</ul>'
        if split.granted
        else f'<p id="nothing"><strong id="client-name">{name}</strong> asks only for what '
        "your account cannot grant.</p>"
    )
    refused = (
        '<div id="refused"><p>Not granted:</p>\n<ul>\n'
        + _items(client, split.refused, f' <em class="not-held">({NOT_HELD})</em>')
        + "\n</ul></div>"
        if split.refused
        else ""
    )
    approve = (
        '<button type="submit" name="decision" value="approve" id="approve">Approve</button>\n'
        if split.granted
        else ""
    )
    body = f"""<main id="device-approval">
<h1>{name} asks to act for you</h1>
<p>Check that your device shows the code <strong id="user-code">{code}</strong>.
If it does not, or you did not start this, deny.</p>
{granted}
{refused}
<form method="post" action="{VERIFICATION_PATH}">
<input type="hidden" name="user_code" value="{escape(user_code, quote=True)}">
<input type="hidden" name="csrf_token" value="{escape(csrf, quote=True)}">
{approve}<button type="submit" name="decision" value="deny" id="deny">Deny</button>
</form>
</main>"""
    return _document(f"{client.name} asks to act for you", body)


def done_html(approved: bool) -> str:
    title = "Device approved" if approved else "Device denied"
    said = (
        "You can return to your device: it is signed in."
        if approved
        else "The device was refused. You can close this page."
    )
    body = f'<main id="device-done">\n<h1 id="outcome">{title}</h1>\n<p>{said}</p>\n</main>'
    return _document(title, body)
