"""The beacon round from relays or pasted (docs/draw-algorithm.md §3.1), against the local
beacon of ``testkit.drand_beacon`` and relays that lie, fail or hang. No internet.

Each verified answer costs a pairing (~0.3 s): the tests keep them few.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from evidence.draw.beacon_errors import BeaconNotPublished, BeaconUnavailable, InvalidBeacon
from evidence.draw.beacon_relays import (
    MAX_BEACON_JSON,
    fetch_draw_beacon,
    fetch_round,
    parse_pasted_beacon,
)
from evidence.draw.drand import SCHEME, Fallback
from testkit.drand_beacon import BeaconKey, LocalBeacon, ServedBeacon, serve_beacon


@pytest.fixture(scope="module")
def served() -> Iterator[ServedBeacon]:
    with serve_beacon(LocalBeacon.started_now(b"relays", back=30)) as served:
        yield served


@pytest.fixture
def hanging_relay() -> Iterator[str]:
    """A relay that accepts the connection and never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def closed_port() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_the_first_relay_that_verifies_serves_the_round(served: ServedBeacon) -> None:
    cfg = served.beacon.config(5)
    got = fetch_round(cfg, 5, [closed_port(), served.url + "/"])
    assert got.source == served.url
    assert got.round == 5
    assert got.to_json() == served.beacon.key.beacon(5).to_json()


def test_a_lying_relay_is_passed_over(served: ServedBeacon) -> None:
    impostor = LocalBeacon(BeaconKey.from_seed(b"impostor"), genesis=served.beacon.genesis)
    lie = json.dumps(impostor.key.beacon(6).to_json()).encode()
    transport = httpx.MockTransport(
        lambda request: (
            httpx.Response(200, content=lie)
            if request.url.host == "liar.example"
            else httpx.Response(200, json=served.beacon.key.beacon(6).to_json())
        )
    )
    cfg = served.beacon.config(6)
    got = fetch_round(cfg, 6, ["http://liar.example", "http://honest.example"], transport=transport)
    assert got.source == "http://honest.example"
    with pytest.raises(BeaconUnavailable, match=r"liar.example: beacon signature of round 6 does"):
        fetch_round(cfg, 6, ["http://liar.example"], transport=transport)


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        (httpx.Response(200, content=b"<html>"), "answer is not JSON"),
        (httpx.Response(200, json=[1, 2]), "answer is not a JSON object"),
        (httpx.Response(200, json={"round": 3}), "beacon signature must be 48 bytes"),
        (httpx.Response(500, text="oops"), "HTTP 500"),
        (httpx.Response(302, headers={"Location": "http://x"}), "HTTP 302"),
        (httpx.Response(200, content=b" " * (MAX_BEACON_JSON + 1)), "answer larger than"),
    ],
)
def test_garbage_from_a_relay_is_named(
    served: ServedBeacon, response: httpx.Response, reason: str
) -> None:
    transport = httpx.MockTransport(lambda request: response)
    with pytest.raises(BeaconUnavailable, match=f"http://relay.example: {reason}"):
        fetch_round(served.beacon.config(3), 3, ["http://relay.example"], transport=transport)


def test_a_hanging_relay_times_out(served: ServedBeacon, hanging_relay: str) -> None:
    started = time.monotonic()
    with pytest.raises(BeaconUnavailable, match=f"{hanging_relay}: timed out"):
        fetch_round(served.beacon.config(3), 3, [hanging_relay], timeout=0.3)
    assert time.monotonic() - started < 3


def test_a_round_not_yet_published(served: ServedBeacon) -> None:
    future = served.beacon.current_round() + 100
    with pytest.raises(BeaconNotPublished, match=f"round {future} is published at"):
        fetch_round(served.beacon.config(future), future, [served.url])
    # Our clock says it is due, the relay's says not yet (425 Too Early).
    skewed = lambda: time.time() + 1000  # noqa: E731
    with pytest.raises(BeaconNotPublished, match="round not yet published"):
        fetch_round(served.beacon.config(future), future, [served.url], clock=skewed)


def test_no_relay_configured(served: ServedBeacon) -> None:
    with pytest.raises(BeaconUnavailable, match="no beacon relay is configured"):
        fetch_round(served.beacon.config(3), 3, [])


def test_fallback_next_round_and_wait(served: ServedBeacon) -> None:
    served.beacon.withheld.update({8, 9})
    try:
        cfg = served.beacon.config(8, Fallback("next-round", 2))
        assert fetch_draw_beacon(cfg, [served.url]).round == 10
        with pytest.raises(BeaconUnavailable, match=r"beacon round 8 unavailable: .*HTTP 404"):
            fetch_draw_beacon(served.beacon.config(8), [served.url])
        with pytest.raises(BeaconUnavailable, match="beacon round 9 unavailable"):
            fetch_draw_beacon(served.beacon.config(8, Fallback("next-round", 1)), [served.url])
    finally:
        served.beacon.withheld.clear()


def test_a_pasted_beacon_is_verified_just_the_same(served: ServedBeacon) -> None:
    cfg = served.beacon.config(4, Fallback("next-round", 1))
    pasted = parse_pasted_beacon(cfg, json.dumps(served.beacon.key.beacon(5).to_json()))
    assert (pasted.round, pasted.source) == (5, "pasted")
    with pytest.raises(InvalidBeacon, match=r"round 6, expected round 4\.\.5"):
        parse_pasted_beacon(cfg, json.dumps(served.beacon.key.beacon(6).to_json()))
    with pytest.raises(InvalidBeacon, match=r"round 6, expected round 4$"):
        parse_pasted_beacon(
            served.beacon.config(4), json.dumps(served.beacon.key.beacon(6).to_json())
        )
    with pytest.raises(InvalidBeacon, match="not JSON"):
        parse_pasted_beacon(cfg, "round: 4")
    with pytest.raises(InvalidBeacon, match="at most"):
        parse_pasted_beacon(cfg, " " * (MAX_BEACON_JSON + 1))
    with pytest.raises(InvalidBeacon, match="must be a JSON object"):
        parse_pasted_beacon(cfg, "[]")


def test_the_local_beacon_speaks_drands_http_api(served: ServedBeacon) -> None:
    beacon, chain = served.beacon, served.beacon.chain_hash.hex()
    info = httpx.get(f"{served.url}/info").json()
    assert info == httpx.get(f"{served.url}/{chain}/info").json()
    assert (info["hash"], info["schemeID"], info["period"]) == (chain, SCHEME, 1)
    assert info["public_key"] == beacon.key.public_key.hex()
    latest = httpx.get(f"{served.url}/{chain}/public/latest").json()
    assert latest["round"] >= 30
    assert latest == beacon.key.beacon(latest["round"]).to_json()
    assert httpx.get(f"{served.url}/{chain}/public/{latest['round'] + 60}").status_code == 425
    assert httpx.get(f"{served.url}/{'00' * 32}/public/1").status_code == 404
    assert httpx.get(f"{served.url}/{'00' * 32}/info").status_code == 404
    assert httpx.get(f"{served.url}/{chain}/public/-1").status_code == 400
