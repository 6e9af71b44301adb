"""Issue 15's capture benchmarks, through a served hub (``notary-hub serve``, a subprocess).

Run from the repository root (needs ``make .venv-capture/.installed`` and Debian's
chromium and ffmpeg)::

    .venv/bin/python bench/capture_bench.py [--pages 50] [--seal-mb 500] [--live-max 6]

1. A scripted capture of ``--pages`` navigations over the local HTTPS test site
   (:mod:`testkit.capture_site`): pages per second while it runs, the WARC's size and MB/s,
   and the session's own processes (Chromium, the recording proxy, ffmpeg: the hub's
   descendants) CPU seconds and peak RSS, besides the hub process's CPU.
2. The seal of a session of ``--seal-mb`` MB: one original of that size (incompressible
   bytes) saved through the proxy, then the seal (WACZ built and signed, SHA-256, RFC 3161,
   anchored, stored encrypted, letter issued) timed from ``ending`` to ``sealed``.
3. With ``--live-max N`` > 0: how many live sessions at once still get at least 5 screen
   frames a second on their live page's WebSocket (a page redrawing on every animation
   frame; 1, 2, … up to N sessions, each counted over ``--live-seconds``).

Prints each figure; the load average at the start and the end (the machine is shared).
"""

from __future__ import annotations

import argparse
import http.server
import io
import os
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.capture_live import live_sessions_at_five_fps
from bench.machine import machine_info
from bench.proc_sampler import ProcSampler
from testkit.capture_site import CaptureSite, serve_capture_site
from testkit.holder import did_key_holder
from tests.fixtures.hub_process import HubProcess

OWNER = did_key_holder("capture bench").did
HEADERS = {"Depositor": OWNER}
PAGES = ("/", "/login", "/changing", "/slow", "/redirect")


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


class _WhoAmI(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = self.client_address[0].encode()
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


@contextmanager
def egress_probe() -> Iterator[str]:
    """The pre-flight's egress check answered locally (the bench needs no internet)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _WhoAmI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/whoami"
    finally:
        server.shutdown()


@contextmanager
def served_hub(work: Path, site: CaptureSite, probe: str, sessions: int) -> Iterator[HubProcess]:
    ca = work / "site-ca.pem"
    ca.write_bytes(site.ca.certificate_pem)
    env = {
        "NOTARY_HUB_LOG_FORMAT": "json",
        "NOTARY_HUB_ANCHORING_BATCH_INTERVAL_SECONDS": "0.2",
        "NOTARY_HUB_CAPTURES_ALLOW": f'["127.0.0.1:{site.port}"]',
        "NOTARY_HUB_CAPTURES_TRUSTED_CA_FILE": str(ca),
        "NOTARY_HUB_CAPTURES_EGRESS_PROBE_URL": probe,
        "NOTARY_HUB_CAPTURES_ALLOW_NO_SANDBOX": "true" if os.geteuid() == 0 else "false",
        "NOTARY_HUB_CAPTURES_MAX_SESSIONS": str(sessions),
        "NOTARY_HUB_CAPTURES_MAX_PACKAGE_BYTES": str(8 * 1024**3),
        "NOTARY_HUB_CAPTURES_DOWNLOAD_CAP_BYTES": str(4 * 1024**3),
    }
    hub = HubProcess(work, env)
    hub.start()
    try:
        yield hub
    finally:
        hub.stop()


def wait_state(client: httpx.Client, capture_id: str, states: set[str]) -> dict[str, Any]:
    while True:
        record: dict[str, Any] = client.get(f"/captures/{capture_id}", headers=HEADERS).json()
        if record["state"] in states or record["state"] == "refused":
            return record
        time.sleep(0.05)


def timed_capture(hub: HubProcess, body: dict[str, Any]) -> dict[str, Any]:
    """One scripted capture's phases (s), its package, and its processes' CPU and RSS."""
    assert hub.process is not None
    sampler = ProcSampler(hub.process.pid)
    with hub.client() as client, sampler.running():
        client.timeout = httpx.Timeout(600)
        start = time.monotonic()
        capture_id = client.post("/captures", json=body, headers=HEADERS).json()["id"]
        live = wait_state(client, capture_id, {"live", "ending", "sealing", "sealed"})
        assert live["state"] != "refused", live["refusal"]
        started = time.monotonic()
        wait_state(client, capture_id, {"ending", "sealing", "sealed"})
        ended = time.monotonic()
        record = wait_state(client, capture_id, {"sealed"})
        sealed = time.monotonic()
        package = client.get(f"/captures/{capture_id}/package", headers=HEADERS).content
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        warc = sum(i.file_size for i in archive.infolist() if i.filename.startswith("archive/"))
    return {
        "start": started - start,
        "run": ended - started,
        "seal": sealed - ended,
        "package": len(package),
        "warc": warc,
        "outcome": record["outcome"],
        "children_cpu": sampler.children_cpu(),
        "children_rss": sampler.children_peak_rss(),
        "hub_cpu": sampler.own_cpu(),
    }


def report_capture(title: str, figures: dict[str, Any], pages: int | None = None) -> None:
    print(title)
    print(f"  outcome: {figures['outcome']}")
    print(f"  start (pre-flight, browser, proxy): {figures['start']:8.2f} s")
    print(f"  running:                            {figures['run']:8.2f} s")
    if pages is not None:
        print(f"  pages per second:                   {pages / figures['run']:8.2f}")
    mb = figures["warc"] / 1e6
    print(f"  WARC: {mb:.2f} MB, {mb / figures['run']:.2f} MB/s while running")
    print(f"  seal (ending -> sealed):            {figures['seal']:8.2f} s")
    print(f"  package:                            {figures['package'] / 1e6:8.2f} MB")
    print(f"  session processes CPU:              {figures['children_cpu']:8.2f} s")
    print(f"  session processes peak PSS:         {figures['children_rss'] / 2**20:8.1f} MiB")
    print(f"  hub process CPU:                    {figures['hub_cpu']:8.2f} s")


def run(args: argparse.Namespace, work: Path) -> None:
    with (
        serve_capture_site() as site,
        egress_probe() as probe,
        served_hub(work, site, probe, max(1, args.live_max)) as hub,
    ):
        if args.pages:
            steps = [{"goto": site.url(PAGES[i % len(PAGES)])} for i in range(args.pages)]
            figures = timed_capture(hub, {"target": site.url("/"), "steps": steps})
            report_capture(f"scripted capture, {args.pages} pages", figures, args.pages)
        if args.seal_mb:
            noise = site.url(f"/noise/{args.seal_mb * 1_000_000}")
            figures = timed_capture(hub, {"target": site.url("/"), "steps": [{"save": noise}]})
            report_capture(f"a {args.seal_mb} MB session", figures)
        if args.live_max:
            live_sessions_at_five_fps(hub, site, args.live_max, args.live_seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--seal-mb", type=int, default=500)
    parser.add_argument("--live-max", type=int, default=6)
    parser.add_argument("--live-seconds", type=float, default=15.0)
    args = parser.parse_args()
    print(machine_info())
    start_load = loadavg()
    with tempfile.TemporaryDirectory(prefix="capture-bench-") as tmp:
        run(args, Path(tmp))
    print(f"load average (1, 5, 15 min): start {start_load}, end {loadavg()}")


if __name__ == "__main__":
    main()
