"""A Chrome DevTools Protocol connection over ``--remote-debugging-pipe`` (issue 15).

Protocol: https://chromedevtools.github.io/devtools-protocol/ — JSON messages, each
ended by a NUL byte; the browser reads commands on its fd 3 and writes answers and events
on its fd 4 (the transport Playwright and Puppeteer use with ``pipe: true``). Flat
sessions (``Target.attachToTarget`` with ``flatten``) carry a ``sessionId`` per page.

Why a pipe and not ``--remote-debugging-port``: a DevTools port on loopback is open, with
no authentication, to every local process, which could then drive the evidence browser
or read its pages; the pipe's two descriptors belong to this process alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import itertools
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evidence.capture.browser_errors import BrowserFailed

__all__ = ["CdpConnection", "JsonObject", "start_browser_process"]

JsonObject = dict[str, Any]
# Screenshots and MHTML snapshots arrive as one message of several megabytes.
_MESSAGE_LIMIT = 512 * 1024 * 1024
# The browser expects the pipe on fds 3 and 4; ``subprocess`` keeps passed fds at their own
# numbers, so bash moves them there and then becomes the browser (``exec``). The
# originals are numbered 10 and up (``_above_four``) so the moves cannot overwrite them.
_TRAMPOLINE = 'exec 3<&"$1" 4>&"$2"; eval "exec $1<&- $2>&-"; shift 2; exec "$@"'


def _above_four(fd: int) -> int:
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return moved


async def start_browser_process(
    executable: Path, flags: Sequence[str], env: dict[str, str]
) -> tuple[asyncio.subprocess.Process, CdpConnection]:
    """Start ``executable`` with ``flags`` and ``--remote-debugging-pipe``; the connection."""
    to_browser_r, to_browser_w = map(_above_four, os.pipe())
    from_browser_r, from_browser_w = map(_above_four, os.pipe())
    try:
        process = await asyncio.create_subprocess_exec(
            "/bin/bash",  # dash takes single-digit fds only
            "-c",
            _TRAMPOLINE,
            "bash",
            str(to_browser_r),
            str(from_browser_w),
            str(executable),
            *flags,
            "--remote-debugging-pipe",
            pass_fds=(to_browser_r, from_browser_w),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            env=env,
            start_new_session=True,  # its own process group: killed as one at the end
        )
    except OSError as error:
        for fd in (to_browser_r, to_browser_w, from_browser_r, from_browser_w):
            os.close(fd)
        raise BrowserFailed(f"the browser did not start: {error}") from error
    os.close(to_browser_r)
    os.close(from_browser_w)
    connection = await CdpConnection.over(from_browser_r, to_browser_w)
    return process, connection


class CdpConnection:
    """Commands with futures by id; events to subscribed queues by (method, session)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.WriteTransport) -> None:
        self._reader = reader
        self._writer = writer
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[JsonObject]] = {}
        self._queues: dict[tuple[str, str | None], list[asyncio.Queue[JsonObject]]] = {}
        self._closed: str | None = None
        self._task = asyncio.get_running_loop().create_task(self._read_loop())

    @classmethod
    async def over(cls, read_fd: int, write_fd: int) -> CdpConnection:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=_MESSAGE_LIMIT)
        await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(read_fd, "rb", buffering=0)
        )
        transport, _ = await loop.connect_write_pipe(
            asyncio.Protocol, os.fdopen(write_fd, "wb", buffering=0)
        )
        return cls(reader, transport)

    async def send(
        self, method: str, params: JsonObject | None = None, *, session: str | None = None
    ) -> JsonObject:
        """The command's ``result``; :class:`BrowserFailed` for a protocol error."""
        if self._closed is not None:
            raise BrowserFailed(f"{method}: the DevTools connection is closed ({self._closed})")
        message: JsonObject = {"id": next(self._ids), "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        future: asyncio.Future[JsonObject] = asyncio.get_running_loop().create_future()
        self._pending[message["id"]] = future
        self._writer.write(json.dumps(message).encode() + b"\0")
        answer = await future
        if "error" in answer:
            raise BrowserFailed(f"{method}: {answer['error'].get('message', answer['error'])}")
        result: JsonObject = answer.get("result", {})
        return result

    def subscribe(self, method: str, session: str | None = None) -> asyncio.Queue[JsonObject]:
        """A queue of the ``params`` of every later ``method`` event of ``session``."""
        queue: asyncio.Queue[JsonObject] = asyncio.Queue()
        self._queues.setdefault((method, session), []).append(queue)
        return queue

    def unsubscribe(
        self, method: str, session: str | None, queue: asyncio.Queue[JsonObject]
    ) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self._queues[(method, session)].remove(queue)

    @property
    def closed(self) -> str | None:
        """Why the connection is closed, or None while it is open."""
        return self._closed

    async def _read_loop(self) -> None:
        try:
            while True:
                raw = await self._reader.readuntil(b"\0")
                self._dispatch(json.loads(raw[:-1]))
        except (asyncio.IncompleteReadError, ConnectionError) as error:
            self._close(f"the browser closed the pipe: {type(error).__name__}")
        except (ValueError, asyncio.LimitOverrunError) as error:  # not CDP: stop listening
            self._close(f"the browser sent an unreadable message: {type(error).__name__}")
        except asyncio.CancelledError:
            self._close("closed")
            raise

    def _dispatch(self, message: JsonObject) -> None:
        if "id" in message:
            future = self._pending.pop(message["id"], None)
            if future is not None and not future.done():
                future.set_result(message)
            return
        key = (message.get("method", ""), message.get("sessionId"))
        for queue in self._queues.get(key, ()):
            queue.put_nowait(message.get("params", {}))

    def _close(self, reason: str) -> None:
        self._closed = reason
        for future in self._pending.values():
            if not future.done():
                future.set_result({"error": {"message": reason}})
        self._pending.clear()

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._writer.close()
