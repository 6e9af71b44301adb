"""An original resource saved by URL during a capture session (issue 15: "save an original
resource"), fetched through the session's recording proxy so that the fetch is in the
record too, and streamed to disk with its SHA-256 (never held whole in memory).
"""

from __future__ import annotations

import hashlib
import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from evidence.capture.browser_errors import BrowserFailed, InvalidCaptureInput
from evidence.capture.launch import BrowserSettings

__all__ = ["MAX_RESOURCE_BYTES", "SavedResource", "fetch_resource"]

MAX_RESOURCE_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class SavedResource:
    url: str
    status: int
    content_type: str | None
    sha256: str
    size: int
    path: Path


def _client(settings: BrowserSettings, user_agent: str) -> httpx.AsyncClient:
    verify: ssl.SSLContext | bool = True
    if settings.proxy is not None:
        # The proxy presents leaves of the session CA and validates upstream itself.
        verify = ssl.create_default_context(cafile=settings.session_ca_file)
    return httpx.AsyncClient(
        proxy=settings.proxy,
        verify=verify,
        trust_env=False,  # no proxy or CA from the host's environment
        follow_redirects=False,  # a redirect is itself what the server answered
        timeout=settings.load_timeout,
        headers={"User-Agent": user_agent} if user_agent else None,
    )


async def fetch_resource(
    url: str, destination: Path, settings: BrowserSettings, user_agent: str = ""
) -> SavedResource:
    """GET ``url`` into ``destination``; :class:`BrowserFailed` if it cannot be fetched."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise InvalidCaptureInput("only http and https resources are saved")
    digest = hashlib.sha256()
    size = 0
    try:
        async with _client(settings, user_agent) as client, client.stream("GET", url) as answer:
            if not 200 <= answer.status_code < 300:
                # An error page (or the proxy's refusal) is no original: it is in the WARC.
                raise BrowserFailed(f"{url} answered {answer.status_code}: nothing saved")
            with destination.open("wb") as file:
                async for chunk in answer.aiter_raw():
                    size += len(chunk)
                    if size > MAX_RESOURCE_BYTES:
                        raise BrowserFailed(f"{url} is larger than {MAX_RESOURCE_BYTES} bytes")
                    digest.update(chunk)
                    file.write(chunk)
    except httpx.HTTPError as error:
        destination.unlink(missing_ok=True)
        raise BrowserFailed(f"{url} could not be fetched: {error}") from error
    except BrowserFailed:
        destination.unlink(missing_ok=True)
        raise
    return SavedResource(
        url,
        answer.status_code,
        answer.headers.get("content-type"),
        digest.hexdigest(),
        size,
        destination,
    )
