"""The live reveal for the big screen: a draw's events as Server-Sent Events.

WHATWG HTML §9.2 (``text/event-stream``): ``state`` whenever the draw's state changes
(looked at every ``poll`` seconds, for up to ``wait`` seconds: a browser's EventSource
reconnects by itself), then once drawn ``seed`` (the seed, the round, the beacon's
randomness), then ``winner`` for each ranked entrant, winners tier by tier then the
waiting list, ``pace`` seconds apart so a screen can show them scrolling, then ``done``.
A client that connects after the draw gets the same sequence at once.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from itertools import islice
from typing import Any

from evidence.draw.drawing import RESULT_FILE
from evidence.draw.models import DrawRecord, DrawState
from evidence.draw.result import ResultEntry, iter_result
from evidence.draw.service import DrawService

MAX_REVEALED = 1000  # the screen shows the first thousand; the winners list has the rest


def event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def _ranked(service: DrawService, draw_id: str) -> list[ResultEntry]:
    with (service.draw_dir(draw_id) / RESULT_FILE).open("rb") as stream:
        return list(islice(iter_result(stream), MAX_REVEALED))


async def draw_events(
    service: DrawService, draw_id: str, *, poll: float = 1.0, pace: float = 0.3, wait: float = 900
) -> AsyncIterator[bytes]:
    record = await asyncio.to_thread(service.record, draw_id)  # a 404 before the stream
    return _events(service, record, poll=poll, pace=pace, wait=wait)


async def _events(
    service: DrawService, record: DrawRecord, *, poll: float, pace: float, wait: float
) -> AsyncIterator[bytes]:
    deadline = time.monotonic() + wait
    yield event("state", {"state": record.state.value})
    while record.state is not DrawState.DRAWN:
        if time.monotonic() > deadline:
            return
        await asyncio.sleep(poll)
        seen = record.state
        record = await asyncio.to_thread(service.record, record.id)
        if record.state is not seen:
            yield event("state", {"state": record.state.value})
    assert record.seed is not None and record.beacon is not None
    yield event(
        "seed",
        {
            "seed": record.seed.hex(),
            "round": record.beacon["round"],
            "randomness": record.beacon["randomness"],
        },
    )
    for entry in await asyncio.to_thread(_ranked, service, record.id):
        yield event(
            "winner",
            {
                "rank": entry.rank,
                "index": entry.index,
                "leaf": entry.leaf.hex(),
                "tier": entry.tier,
            },
        )
        await asyncio.sleep(pace)
    yield event("done", {"winners": record.winners})
