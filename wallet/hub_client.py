"""The wallet's HTTP client of the hub: one method per call the holder makes.

The calls are the hub's: the ERC-1056 registrar (``POST /1.0/registrar/operations/digest``,
``POST /1.0/registrar/operations``), the Universal Resolver binding
(``GET /1.0/identifiers/{did}``, W3C DID Resolution), deposits (``/evidence/deposits``,
a streamed multipart/form-data upload, RFC 7578, with an ``Idempotency-Key``,
draft-ietf-httpapi-idempotency-key-header, so a retried upload never makes a second
deposit), the person's deposits listed, the custody letter as JSON and PDF, and
presentation challenges. The hub's error bodies ``{"error", "message"}`` become
:class:`HubRefused`; a hub that cannot be reached is :class:`HubUnavailable`. Deposits
and reads carry the wallet's own access token (``auth``, :class:`wallet.hub_session.
SessionAuth`): the hub names the depositor from it, never from a header. The dev API
token (the registrar relay's) is sent as a bearer token; neither is ever logged.
"""

from __future__ import annotations

import json
import mimetypes
import os
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO
from urllib.parse import quote

import httpx

from wallet.errors import WalletError

TIMEOUT = httpx.Timeout(30.0, connect=5.0)
# What the wallet reads from a hub at most: a JSON answer (a letter, a DID document) and
# a signed PDF letter. A hub (or anything at its URL) cannot make the wallet hold more.
MAX_JSON_BYTES = 4 * 1024 * 1024
MAX_PDF_BYTES = 64 * 1024 * 1024
DEPOSITS = "/evidence/deposits"
Progress = Callable[[int, int], None]  # (bytes sent, total)


class NoHub(WalletError):
    code = "no_hub"
    status_code = 400


class HubUnavailable(WalletError):
    code = "hub_unavailable"
    status_code = 503


class HubRefused(WalletError):
    """The hub answered with an error: its own ``code``, ``message`` and status kept."""

    code = "hub_refused"
    status_code = 502

    def __init__(self, hub_code: str, message: str, hub_status: int) -> None:
        super().__init__(f"the hub refused ({hub_status} {hub_code}): {message}")
        self.hub_code = hub_code
        self.hub_status = hub_status


class ProgressReader:
    """A file httpx streams from, reporting each chunk read; restarts count from zero."""

    def __init__(self, handle: BinaryIO, total: int, progress: Progress | None) -> None:
        self._handle = handle
        self._total = total
        self._progress = progress
        self._sent = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self._handle.read(size)
        self._sent += len(chunk)
        if self._progress is not None and chunk:
            self._progress(self._sent, self._total)
        return chunk

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        position = self._handle.seek(offset, whence)
        self._sent = position
        return position

    def tell(self) -> int:
        return self._handle.tell()

    def fileno(self) -> int:
        return self._handle.fileno()


class HubClient:
    """Calls to the hub at ``base_url``; use as a context manager (one connection pool)."""

    def __init__(
        self,
        base_url: str | None,
        api_token: str | None,
        *,
        auth: httpx.Auth | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout = TIMEOUT,
    ) -> None:
        if not base_url:
            raise NoHub("the wallet has no hub URL: `notary-hub wallet config --hub URL`")
        headers = {"authorization": f"Bearer {api_token}"} if api_token else {}
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers=headers,
            auth=auth,
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HubClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- registrar and resolver ------------------------------------------------------

    def operation_digest(self, did: str, operation: dict[str, Any]) -> dict[str, Any]:
        """``{did, digest, nonce, owner, registry, chainId}``: what the owner is to sign."""
        body = {"did": did, "operation": operation}
        return self._json("POST", "/1.0/registrar/operations/digest", json=body)

    def submit_operation(
        self, did: str, operation: dict[str, Any], signature: str, nonce: int
    ) -> dict[str, Any]:
        """Relay the signed operation; ``{transactionHash, state, ...}``."""
        body = {"did": did, "operation": operation, "signature": signature, "nonce": nonce}
        return self._json("POST", "/1.0/registrar/operations", json=body)

    def resolve(self, did: str) -> dict[str, Any]:
        """The hub's DID resolution result (informative only: the wallet trusts the chain)."""
        return self._json("GET", f"/1.0/identifiers/{quote(did, safe=':')}")

    # -- deposits ----------------------------------------------------------------------

    def upload_deposit(
        self,
        path: Path,
        *,
        idempotency_key: str,
        title: str | None = None,
        progress: Progress | None = None,
    ) -> dict[str, Any]:
        """Stream ``path`` as a new deposit of the token's person; the deposit as shown."""
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        headers = {"Idempotency-Key": idempotency_key}
        data = {"title": title} if title else {}
        with path.open("rb") as handle:
            reader = ProgressReader(handle, os.fstat(handle.fileno()).st_size, progress)
            files = {"file": (path.name, reader, media_type)}
            return self._json("POST", DEPOSITS, headers=headers, data=data, files=files)

    def deposit(self, deposit_id: str) -> dict[str, Any]:
        return self._json("GET", self._deposit_path(deposit_id))

    def deposits(self, *, state: str | None = None, cursor: str | None = None) -> dict[str, Any]:
        """A page of the caller's deposits, newest first: ``{items, links}``."""
        params = {k: v for k, v in (("state", state), ("cursor", cursor)) if v is not None}
        return self._json("GET", DEPOSITS, params={**params, "limit": "100"})

    def deposit_credential(self, deposit_id: str) -> dict[str, Any]:
        """The custody letter; HubRefused ``not_certified`` until the deposit is certified."""
        return self._json("GET", self._deposit_path(deposit_id) + "/credential")

    def letter_pdf(self, deposit_id: str) -> bytes:
        """The custody letter as a signed PDF (``GET .../letter.pdf``)."""
        return self._send("GET", self._deposit_path(deposit_id) + "/letter.pdf", MAX_PDF_BYTES)

    def presentation_challenge(self, domain: str | None = None) -> dict[str, Any]:
        """A fresh challenge from the hub's verifier (``POST /presentations/challenges``)."""
        body = {"domain": domain} if domain else {}
        return self._json("POST", "/presentations/challenges", json=body)

    # -- wallet sign-in (OpenID4VP, wallet.openid4vp_login) ------------------------------

    def signin_keys(self) -> dict[str, Any]:
        """The JWK Set the hub signs its sign-in request objects with."""
        return self._json("GET", "/signin/keys")

    def request_object(self, path: str) -> str:
        """The signed request object at ``path`` (RFC 9101 §5.2, fetched once)."""
        headers = {"accept": "application/oauth-authz-req+jwt"}
        content = self._send("GET", path, MAX_JSON_BYTES, headers=headers)
        try:
            return content.decode("ascii").strip()
        except UnicodeDecodeError:
            raise HubRefused("invalid_response", f"{path} answered no JWT", 502) from None

    def post_signin_response(self, path: str, form: dict[str, str]) -> dict[str, Any]:
        """The direct_post of a vp_token (OpenID4VP §8.2), form-encoded."""
        return self._json("POST", path, data=form)

    # -- plumbing ----------------------------------------------------------------------

    @staticmethod
    def _deposit_path(deposit_id: str) -> str:
        return f"{DEPOSITS}/{quote(deposit_id, safe='')}"

    def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        content = self._send(method, path, MAX_JSON_BYTES, **kwargs)
        try:
            body = json.loads(content)
        except ValueError:
            raise HubRefused("invalid_response", f"{path} answered no JSON", 502) from None
        if not isinstance(body, dict):
            raise HubRefused("invalid_response", f"{path} answered no JSON object", 502)
        return body

    def _send(self, method: str, path: str, limit: int, **kwargs: Any) -> bytes:
        """The body of a successful answer, at most ``limit`` bytes; else the refusal."""
        try:
            with self._http.stream(method, path, **kwargs) as response:
                content = _read(response, limit, path)
        except httpx.TransportError as exc:
            # Connection refused, reset mid-upload, timeouts: the request may be retried.
            where = self._http.base_url
            raise HubUnavailable(f"the hub at {where} is unreachable: {exc}") from None
        if response.is_success:
            return content
        raise _refusal(response.status_code, response.reason_phrase, content)


def _read(response: httpx.Response, limit: int, path: str) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HubRefused("response_too_large", f"{path} answered more than {limit} bytes", 502)
    content = bytearray()
    for chunk in response.iter_bytes():
        content += chunk
        if len(content) > limit:
            raise HubRefused("response_too_large", f"{path} answered more than {limit} bytes", 502)
    return bytes(content)


def _refusal(status: int, reason: str, content: bytes) -> HubRefused:
    """The hub's ``{"error", "message"}`` as a HubRefused; a body without one, its status."""
    try:
        body = json.loads(content)
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        message = body.get("message")
        text = message if isinstance(message, str) else reason
        return HubRefused(body["error"][:64], text[:500], status)
    return HubRefused(f"http_{status}", reason, status)
