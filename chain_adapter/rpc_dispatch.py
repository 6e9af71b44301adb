"""A transport-free JSON-RPC 2.0 dispatcher.

JSON-RPC 2.0 specification: https://www.jsonrpc.org/specification — §4 "Request
object" (and §4.1 "Notification"), §5 "Response object", §5.1 "Error object" and
§6 "Batch". The dispatcher takes an already-parsed JSON value and returns the
JSON value to answer with, or ``None`` when nothing must be sent back (a
notification, or a batch made only of notifications). Parsing the body, and so
the ``-32700`` parse error, is the transport's job.

It knows nothing of Ethereum: methods come from an explicit registry, and a
``translate`` hook turns domain exceptions into :class:`RpcError`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

logger = logging.getLogger(__name__)

# §5.1 reserved codes.
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603

MAX_BATCH = 100

Handler = Callable[[list[Any]], Any]
"""A method: receives the positional params, returns the JSON ``result``."""


class RpcError(Exception):
    """An error to be answered as a JSON-RPC error object (§5.1)."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def to_json(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


class InvalidParams(RpcError):
    """``-32602``: the params are not what the method accepts."""

    def __init__(self, message: str) -> None:
        super().__init__(INVALID_PARAMS, message)


def error_response(error: RpcError, request_id: Any = None) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "error": error.to_json()}


class _Unanswered:
    """Marks a request that gets no response object (§4.1)."""


_NO_RESPONSE = _Unanswered()


class Dispatcher:
    """Routes parsed JSON-RPC 2.0 payloads to the handlers of ``methods``."""

    def __init__(
        self,
        methods: Mapping[str, Handler],
        *,
        translate: Callable[[Exception], RpcError | None] = lambda _exc: None,
        max_batch: int = MAX_BATCH,
    ) -> None:
        self._methods = dict(methods)
        self._translate = translate
        self._max_batch = max_batch

    def handle(self, payload: Any) -> Any | None:
        """Answer one request or a batch (§6); ``None`` when no response is due."""
        if not isinstance(payload, list):
            answer = self._handle_one(payload)
            return None if isinstance(answer, _Unanswered) else answer
        if not payload:
            return error_response(RpcError(INVALID_REQUEST, "invalid request: empty batch"))
        if len(payload) > self._max_batch:
            return error_response(
                RpcError(
                    INVALID_REQUEST,
                    f"invalid request: batch of {len(payload)} requests, at most "
                    f"{self._max_batch} are allowed",
                )
            )
        answers = [self._handle_one(item) for item in payload]
        # §6: no empty array when every member was a notification.
        responses = [a for a in answers if not isinstance(a, _Unanswered)]
        return responses or None

    def _handle_one(self, request: Any) -> dict[str, Any] | _Unanswered:
        problem = _request_problem(request)
        if problem is not None:
            # §5: the id is Null when it could not be read from an invalid request.
            request_id = request.get("id") if isinstance(request, dict) else None
            if not _valid_id(request_id):
                request_id = None
            return error_response(
                RpcError(INVALID_REQUEST, f"invalid request: {problem}"), request_id
            )
        is_notification = "id" not in request
        request_id = request.get("id")
        try:
            # Geth and others read a null "params" as none at all; so do we.
            result = self._call(request["method"], request.get("params") or [])
        except RpcError as exc:
            answer = error_response(exc, request_id)
        else:
            answer = {"jsonrpc": "2.0", "id": request_id, "result": result}
        return _NO_RESPONSE if is_notification else answer

    def _call(self, method: str, params: Any) -> Any:
        handler = self._methods.get(method)
        if handler is None:
            # Geth's wording; the name is echoed, but never at any length.
            shown = method if len(method) <= 64 else method[:61] + "..."
            raise RpcError(METHOD_NOT_FOUND, f"the method {shown} does not exist/is not available")
        if isinstance(params, dict):
            raise InvalidParams("params must be an array: named params are not supported")
        try:
            return handler(params)
        except RpcError:
            raise
        except Exception as exc:
            translated = self._translate(exc)
            if translated is not None:
                raise translated from exc
            # Unexpected: log it here, never leak internals to the caller.
            logger.exception("JSON-RPC method %s failed", method)
            raise RpcError(INTERNAL_ERROR, "internal error") from exc


def _valid_id(value: Any) -> bool:
    # §4: String, Number or Null; bool is an int subclass in Python, so rule it out.
    return value is None or (isinstance(value, str | int | float) and not isinstance(value, bool))


def _request_problem(request: Any) -> str | None:
    if not isinstance(request, dict):
        return "a request must be an object"
    if request.get("jsonrpc") != "2.0":
        return 'the "jsonrpc" member must be exactly "2.0"'
    if not isinstance(request.get("method"), str):
        return 'the "method" member must be a string'
    if request.get("params") is not None and not isinstance(request["params"], list | dict):
        return 'the "params" member must be an array or an object'
    if "id" in request and not _valid_id(request["id"]):
        return 'the "id" member must be a string, a number or null'
    return None
