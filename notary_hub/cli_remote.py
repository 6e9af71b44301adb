"""Asking the hub that serves this data directory, instead of opening its chain.

Issue 11, item 1 (b): the embedded chain has one writer. A command that writes
(``keys rotate``, ``consortium vote``, ``consortium remove``) first looks for a running
hub (``notary_hub.serving``: ``DATA_DIR/serve.json``) and, if there is one, sends the
request to its authenticated API; the hub's refusals become the usual one-line CLI
errors. With no hub answering, the command opens the chain itself, which names the
holder if another process still has it.

The bearer token (:func:`remote_bearer`, issue 13 item 8) is the user's own, from
``notary-hub login`` (:mod:`notary_hub.staff_tokens`, refreshed when it has expired);
without one, in dev mode only, the hub's bootstrap API token; with neither, a one-line
error says to run ``notary-hub login``.
"""

from __future__ import annotations

from typing import Any

import httpx

from notary_hub.cli_login import token_file
from notary_hub.cli_support import cli_errors, fail
from notary_hub.hub import api_tokens
from notary_hub.serving import running_hub
from notary_hub.settings import Settings
from notary_hub.staff_tokens import bearer_for


def remote_bearer(settings: Settings, url: str) -> str:
    """The token to send the hub at ``url``: the user's login, else the dev bootstrap."""
    with cli_errors():
        token = bearer_for(token_file(settings), url)
        if token is None and settings.dev:
            token = next(iter(api_tokens(settings)), None)
    if token is None:
        fail(
            "not_logged_in",
            f"a hub serves this data directory at {url}: run `notary-hub login` to get a token",
        )
    return token


def ask_serving_hub(
    settings: Settings, path: str, body: dict[str, Any], *, timeout: float = 120
) -> dict[str, Any] | None:
    """POST ``body`` to ``path`` of the hub serving ``settings.data_dir``; its JSON answer.

    ``None`` when no hub serves it or the one named does not answer (it is stopping).
    """
    url = running_hub(settings.data_dir)
    if url is None:
        return None
    token = remote_bearer(settings, url)
    try:
        response = httpx.post(
            f"{url}{path}",
            json=body,
            headers={"authorization": f"Bearer {token}"},
            timeout=timeout,
        )
    except httpx.TransportError:
        return None
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not response.is_success or not isinstance(answer, dict):
        answer = answer if isinstance(answer, dict) else {}
        code = str(answer.get("error", f"http_{response.status_code}"))
        fail(code, f"the hub at {url} refused: {answer.get('message', response.text[:200])}")
    return answer
