"""The person's account page and its JSON: their linked DIDs and their consents per
platform, each with a Revoke button (issue 13 item 7).

Revoking posts to ``/account/consents/{client_id}/revoke`` with the session's CSRF
token for that client (:func:`oauth_server.consents.csrf_token`); the router answers
303 back here. Every value is HTML-escaped; the page runs no script.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from typing import Any
from urllib.parse import quote

from oauth_server.consents import Consent

ACCOUNT_PATH = "/account"
CONSENTS_PATH = ACCOUNT_PATH + "/consents"


def revoke_path(client_id: str) -> str:
    return f"{CONSENTS_PATH}/{quote(client_id, safe='')}/revoke"


def revoke_purpose(client_id: str) -> str:
    return f"revoke:{client_id}"


@dataclass(frozen=True)
class PlatformConsent:
    consent: Consent
    client_name: str  # the client may be gone: then its id
    purposes: dict[str, str]


def _iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def account_json(dids: Sequence[str], consents: Sequence[PlatformConsent]) -> dict[str, Any]:
    return {
        "dids": list(dids),
        "consents": [
            {
                "clientId": item.consent.client_id,
                "clientName": item.client_name,
                "scopes": [
                    {"scope": scope, "purpose": item.purposes.get(scope)}
                    for scope in item.consent.scopes
                ],
                "grantedAt": _iso(item.consent.granted_at),
            }
            for item in consents
        ],
    }


def _consent_item(item: PlatformConsent, csrf: str) -> str:
    scopes = "".join(
        f"<li><strong>{escape(scope)}</strong>: {escape(item.purposes.get(scope, ''))}</li>"
        for scope in item.consent.scopes
    )
    return f"""<li class="consent" data-client="{escape(item.consent.client_id, quote=True)}">
<h3>{escape(item.client_name)}</h3>
<p>Since {escape(_iso(item.consent.granted_at))}</p>
<ul>{scopes}</ul>
<form method="post" action="{escape(revoke_path(item.consent.client_id), quote=True)}">
<input type="hidden" name="csrf_token" value="{escape(csrf, quote=True)}">
<button type="submit">Revoke</button>
</form>
</li>"""


def account_html(dids: Sequence[str], consents: Sequence[tuple[PlatformConsent, str]]) -> str:
    """The page; each consent comes with its revoke form's CSRF token."""
    did_items = "".join(f"<li><code>{escape(did)}</code></li>" for did in dids)
    items = "\n".join(_consent_item(item, csrf) for item, csrf in consents)
    listing = (
        f'<ul id="consents">\n{items}\n</ul>'
        if consents
        else ('<p id="consents">You have not allowed any platform yet.</p>')
    )
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Your account</title>
</head>
<body>
<main id="account">
<h1>Your account</h1>
<h2>Your DIDs</h2>
<ul id="dids">{did_items}</ul>
<h2>Platforms you allowed</h2>
{listing}
<form method="post" action="/signin/logout"><button type="submit">Sign out</button></form>
</main>
</body>
</html>
"""
