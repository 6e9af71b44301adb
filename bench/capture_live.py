"""Live capture sessions at once, each counted at its live page's WebSocket (issue 15
item 10: "the number of concurrent live sessions this 2-core machine sustains at ≥ 5
frames per second").

Each session is a live capture of a page that redraws on every animation frame (the test
site's ``/animated``), watched as a person's browser would: the live URL's ticket
exchanged for the page's cookie, then the screen frames counted on
``/captures/{id}/live/ws`` for ``seconds``. Sessions are added one at a time until the
slowest one gets fewer than 5 frames a second; each run's sessions are then ended and
sealed before the next run starts.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import websockets

from testkit.capture_site import CaptureSite
from tests.fixtures.hub_process import HubProcess

HEADERS = {"Depositor": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"}
TARGET_FPS = 5.0


def _start(client: httpx.Client, site: CaptureSite) -> tuple[str, str]:
    """A live capture of the animated page; its id and the page's cookie header."""
    answer = client.post(
        "/captures", json={"target": site.url("/animated"), "mode": "live"}, headers=HEADERS
    )
    answer.raise_for_status()
    body: dict[str, Any] = answer.json()
    # Spending the ticket answers a page that sets the live page's cookie.
    page = httpx.get(f"{client.base_url}{body['liveUrl']}", timeout=30)
    page.raise_for_status()
    cookies = "; ".join(f"{k}={v}" for k, v in page.cookies.items())
    return str(body["id"]), cookies


async def _count(url: str, origin: str, cookie: str, seconds: float) -> float:
    """Frames a second on one live page's socket, after the first frame."""
    headers = {"Cookie": cookie, "Origin": origin}  # the hub's own page, as a browser sends
    async with websockets.connect(url, additional_headers=headers) as socket:
        while not isinstance(await socket.recv(), bytes):
            pass  # status messages before the first frame
        frames, start = 0, time.monotonic()
        deadline = start + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                message = await asyncio.wait_for(socket.recv(), left)
            except TimeoutError:
                break
            frames += isinstance(message, bytes)
        return frames / (time.monotonic() - start)


def _wait_sealed(client: httpx.Client, capture_id: str, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while client.get(f"/captures/{capture_id}", headers=HEADERS).json()["state"] != "sealed":
        if time.monotonic() > deadline:
            raise TimeoutError(f"capture {capture_id} not sealed in {timeout} s")
        time.sleep(0.2)


def run_live(hub: HubProcess, site: CaptureSite, count: int, seconds: float) -> list[float]:
    """``count`` live sessions at once: each one's frames a second."""
    with hub.client() as client:
        client.timeout = httpx.Timeout(120)
        started = [_start(client, site) for _ in range(count)]
        ws = hub.url.replace("http://", "ws://")
        counts = [
            _count(f"{ws}/captures/{c}/live/ws", hub.url, cookie, seconds) for c, cookie in started
        ]

        async def together() -> list[float]:
            return list(await asyncio.gather(*counts))

        rates = asyncio.run(together())
        for capture_id, _ in started:
            client.post(f"/captures/{capture_id}/end", headers=HEADERS)
        for capture_id, _ in started:
            _wait_sealed(client, capture_id)
    return rates


def live_sessions_at_five_fps(hub: HubProcess, site: CaptureSite, most: int, seconds: float) -> int:
    print(f"live sessions at once (the animated page, {seconds:g} s each run)")
    sustained = 0
    for count in range(1, most + 1):
        rates = run_live(hub, site, count, seconds)
        listed = ", ".join(f"{rate:.1f}" for rate in rates)
        print(f"  {count} session(s): frames/s {listed} (slowest {min(rates):.1f})")
        if min(rates) < TARGET_FPS:
            break
        sustained = count
    print(f"  sustained at >= {TARGET_FPS:g} frames/s: {sustained} session(s)")
    return sustained
