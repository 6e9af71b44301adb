"""Asking the hub that serves this data directory, instead of opening its chain.

Issue 11, item 1 (b): the embedded chain has one writer. A command that writes
(``keys rotate``, ``consortium vote``, ``consortium remove``) first looks for a running
hub (``notary_hub.serving``: ``DATA_DIR/serve.json``) and, if there is one, sends the
request to its authenticated API with the configured (or dev) API token; the hub's
refusals become the usual one-line CLI errors. With no hub answering, the command
opens the chain itself, which names the holder if another process still has it.
"""

from __future__ import annotations

from typing import Any

import httpx

from notary_hub.cli_support import cli_errors, fail
from notary_hub.hub import api_tokens
from notary_hub.serving import running_hub
from notary_hub.settings import Settings


def ask_serving_hub(
    settings: Settings, path: str, body: dict[str, Any], *, timeout: float = 120
) -> dict[str, Any] | None:
    """POST ``body`` to ``path`` of the hub serving ``settings.data_dir``; its JSON answer.

    ``None`` when no hub serves it or the one named does not answer (it is stopping).
    """
    url = running_hub(settings.data_dir)
    if url is None:
        return None
    with cli_errors():
        tokens = api_tokens(settings)
    if not tokens:
        fail(
            "no_api_token",
            f"a hub serves this data directory at {url}: only a dev-mode hub takes the "
            "bootstrap API token this command sends; stop the hub to run it here",
        )
    try:
        response = httpx.post(
            f"{url}{path}",
            json=body,
            headers={"authorization": f"Bearer {tokens[0]}"},
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
