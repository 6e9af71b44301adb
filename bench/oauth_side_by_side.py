"""The hub's token endpoint and npm ``oidc-provider`` side by side, on PostgreSQL.

Issue 13 §11: tokens per second for client credentials, introspection, code exchange
and refresh, in the same run, under the same load, against ``oidc-provider`` configured
for the same grants (``bench/oidc_provider_peer.mjs`` says how, and what differs: its
in-memory store). Run from the repository root::

    .venv/bin/python bench/oauth_side_by_side.py [--postgres URL] [--seconds S]
        [--rounds R] [--concurrency N]

Both servers run at once, each one process (the hub: :mod:`bench.oauth_bench`'s server,
uvicorn with one worker on a throwaway PostgreSQL database; the peer: node). This process
drives one server at a time with the same :func:`bench.oauth_bench.drive` (``--concurrency``
keep-alive httpx connections, one thread each, a one-second warm-up, then ``--seconds``),
rotating which goes first in each of ``--rounds`` rounds, so all see the same machine.
Each figure is answers per second (every answer must be 200), one per round, with the
server's median CPU time per answer in milliseconds (its user + system time over the timed
part, from ``/proc``); the hub's ratio to each other server is taken per round, and the
median of those is printed. ``--baseline DIR`` serves another checkout of the hub beside
this one (``git archive COMMIT | tar -x -C DIR``), on a database of its own: before/after.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402

from bench.deposit_bench import throwaway_postgres  # noqa: E402
from bench.machine import machine_info  # noqa: E402
from bench.oauth_bench import ADMIN_URL, REDIRECT_URI, drive, issued_codes  # noqa: E402

PEER = REPO / "bench" / "oidc_provider_peer.mjs"
PEER_LOG = Path(tempfile.gettempdir()) / "oidc_provider_peer.log"
TICKS = os.sysconf("SC_CLK_TCK")
Call = Callable[[httpx.Client, int], httpx.Response | None]


@dataclass
class Target:
    """One authorisation server: where it answers, its two clients, how to get codes."""

    name: str
    process: subprocess.Popen[str]
    url: str
    token_path: str
    introspection_path: str
    cc: tuple[str, str]
    code: tuple[str, str]
    mint: Callable[[int], list[tuple[str, str]]]
    introspect_form: dict[str, str] = field(default_factory=dict)

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS


def wait_listening(url: str, path: str) -> None:
    for _ in range(200):
        try:
            httpx.get(url + path, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"{url} never answered")


@contextmanager
def hub_target(
    database_url: str, port: int, tree: Path = REPO, name: str = "hub"
) -> Iterator[Target]:
    """The hub's token server (``tree``'s :mod:`bench.oauth_bench` ``--serve``, importing
    that tree's code)."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tree), os.environ.get("PYTHONPATH", "")]),
    }
    with tempfile.TemporaryDirectory() as keys:
        command = [sys.executable, str(tree / "bench" / "oauth_bench.py"), "--serve", database_url]
        command += ["--port", str(port), "--keys", keys]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=tree, env=env)
        try:
            assert process.stdout is not None
            clients = json.loads(process.stdout.readline())
            url = f"http://127.0.0.1:{port}"
            wait_listening(url, "/oauth/jwks")
            code = (clients["code"][0], clients["code"][1])

            def mint(count: int) -> list[tuple[str, str]]:
                return issued_codes(database_url, Path(keys), code[0], count)

            yield Target(name, process, url, "/oauth/token", "/oauth/introspect",
                         (clients["cc"][0], clients["cc"][1]), code, mint)  # fmt: skip
        finally:
            process.terminate()
            process.wait(30)


@contextmanager
def peer_target(port: int) -> Iterator[Target]:
    process = subprocess.Popen(
        ["node", str(PEER), str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=PEER_LOG.open("w"),
        text=True,
        cwd=REPO,
    )
    try:
        assert process.stdin is not None and process.stdout is not None
        started = json.loads(process.stdout.readline())
        stdin, stdout = process.stdin, process.stdout

        def mint(count: int) -> list[tuple[str, str]]:
            stdin.write(f"mint {count}\n")
            stdin.flush()
            line = stdout.readline()
            if not line:
                raise SystemExit(f"oidc-provider exited ({process.poll()}): see {PEER_LOG}")
            try:
                return [(code, verifier) for code, verifier in json.loads(line)["codes"]]
            except ValueError:
                raise SystemExit(f"oidc-provider answered {line[:300]!r}") from None

        yield Target(
            "oidc-provider",
            process,
            started["url"],
            "/token",
            "/token/introspection",
            (started["cc"][0], started["cc"][1]),
            (started["code"][0], started["code"][1]),
            mint,
            {"resource": "urn:bench:opaque"},
        )
    finally:
        process.terminate()
        process.wait(30)


CC_FORM = {"grant_type": "client_credentials", "scope": "evidence:deposit"}


def cc_call(target: Target) -> Call:
    def call(client: httpx.Client, _: int) -> httpx.Response:
        return client.post(target.token_path, data=CC_FORM, auth=target.cc)

    return call


def introspect_call(target: Target) -> Call:
    form = {**CC_FORM, **target.introspect_form}
    answer = httpx.post(target.url + target.token_path, data=form, auth=target.cc)
    token = answer.json()["access_token"]

    def call(client: httpx.Client, _: int) -> httpx.Response:
        return client.post(target.introspection_path, data={"token": token}, auth=target.cc)

    return call


def exchange_call(target: Target, codes: list[tuple[str, str]], refresh: list[str]) -> Call:
    def call(client: httpx.Client, index: int) -> httpx.Response | None:
        if not codes:
            return None
        code, verifier = codes.pop()
        form = {"grant_type": "authorization_code", "code": code,
                "redirect_uri": REDIRECT_URI, "code_verifier": verifier}  # fmt: skip
        answer = client.post(target.token_path, data=form, auth=target.code)
        if answer.status_code == 200:
            assert "id_token" in answer.json()
            refresh[index] = answer.json()["refresh_token"]
        return answer

    return call


def refresh_call(target: Target, refresh: list[str]) -> Call:
    def call(client: httpx.Client, index: int) -> httpx.Response:
        form = {"grant_type": "refresh_token", "refresh_token": refresh[index]}
        answer = client.post(target.token_path, data=form, auth=target.code)
        if answer.status_code == 200:
            refresh[index] = answer.json()["refresh_token"]
        return answer

    return call


@dataclass
class Figure:
    rate: float
    cpu_ms: float  # the server's CPU time per answer


def run(target: Target, call: Call, args: argparse.Namespace) -> Figure:
    marks: list[tuple[float, float]] = []  # (monotonic, server CPU) at start and end

    def window(_: bool) -> None:
        marks.append((time.monotonic(), target.cpu_seconds()))

    rate = drive(call, target.url, args.seconds, args.concurrency, window)
    (began, cpu_before), (ended, cpu_after) = marks
    answers = max(rate * min(ended - began, args.seconds), 1.0)
    return Figure(rate, 1000 * (cpu_after - cpu_before) / answers)


def grant_round(grant: str, target: Target, args: argparse.Namespace) -> Figure:
    if grant == "client-credentials tokens":
        return run(target, cc_call(target), args)
    if grant == "introspections":
        return run(target, introspect_call(target), args)
    refresh = [""] * args.concurrency
    codes = target.mint(args.codes)
    exchanged = run(target, exchange_call(target, codes, refresh), args)
    if grant == "code exchanges (access, refresh and ID token)":
        return exchanged
    return run(target, refresh_call(target, refresh), args)


GRANTS = (
    "client-credentials tokens",
    "introspections",
    "code exchanges (access, refresh and ID token)",
    "refreshes (rotating)",
)


def measure(targets: list[Target], args: argparse.Namespace) -> None:
    """Each grant: ``--rounds`` rounds over every target, in an order rotating per round;
    the hub's ratio to each other target is taken per round, its median printed."""
    hub, others = targets[0], targets[1:]
    names = [target.name for target in targets]
    ratio_names = [f"hub / {other.name}" for other in others]
    print(f"| per second (CPU ms per answer) | {' | '.join(names + ratio_names)} |")
    print("| --- " * (1 + len(names) + len(ratio_names)) + "|")
    for grant in [GRANTS[index - 1] for index in args.grants]:
        figures: dict[str, list[Figure]] = {name: [] for name in names}
        for round_ in range(args.rounds):
            shift = round_ % len(targets)
            for target in targets[shift:] + targets[:shift]:
                figures[target.name].append(grant_round(grant, target, args))
        cells = []
        for name in names:
            rates = " / ".join(f"{f.rate:,.0f}" for f in figures[name])
            cells.append(f"{rates} ({statistics.median(f.cpu_ms for f in figures[name]):.2f})")
        for other in others:
            pairs = zip(figures[hub.name], figures[other.name], strict=True)
            cells.append(f"{statistics.median(h.rate / o.rate for h, o in pairs):.2f}")
        print(f"| {grant} | {' | '.join(cells)} |")
        sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default=os.environ.get("NOTARY_HUB_TEST_POSTGRES", ADMIN_URL))
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--codes", type=int, default=5000, help="codes per exchange run")
    parser.add_argument(
        "--grants", type=int, nargs="+", default=[1, 2, 3, 4], help="which rows (1 to 4)"
    )
    parser.add_argument("--hub-port", type=int, default=8931)
    parser.add_argument("--peer-port", type=int, default=8932)
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another checkout of the hub (e.g. `git archive` of an earlier commit) served "
        "beside this one, on its own database: a before/after column",
    )
    args = parser.parse_args()
    print(machine_info(f"concurrency {args.concurrency}", f"{args.seconds:g} s per figure",
                       f"{args.rounds} rounds"))  # fmt: skip
    with ExitStack() as stack:
        database_url = stack.enter_context(throwaway_postgres(args.postgres))
        targets = [stack.enter_context(hub_target(database_url, args.hub_port))]
        if args.baseline is not None:
            baseline_url = stack.enter_context(throwaway_postgres(args.postgres))
            baseline = hub_target(baseline_url, args.hub_port + 2, args.baseline, "baseline")
            targets.append(stack.enter_context(baseline))
        targets.append(stack.enter_context(peer_target(args.peer_port)))
        measure(targets, args)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
