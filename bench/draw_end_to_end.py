"""Issue 14's done-when check as a script: a draw of a million entrants end to end through
a served hub, then reproduced by both verifiers with the hub stopped.

Run from the repository root (needs ``npm ci`` for Hardhat and verifier-js)::

    .venv/bin/python bench/draw_end_to_end.py [--entrants 1000000] [--lead 100]

A Hardhat node and ``notary-hub serve`` (subprocesses; the operator's ``init`` and
``chain deploy`` first), the local drand beacon as the hub's relay; a weighted list with
two categories (quotas, an ordered cascade), three prize tiers and a waiting list. Over
the hub's HTTP API: create, upload + finish, commit, wait for the round, draw, export
download. Then the hub is stopped and ``notary-hub draw verify EXPORT --rpc URL`` and
verifier-js each reproduce the draw from the export and the chain alone (same seed, same
winners), and three tampered exports fail at their step in both
(:mod:`tests.fixtures.served_draw`). Prints each phase's wall time (CPU time of this
process and its finished children in brackets: the verifiers), the hub's peak RSS and the
load average at the start and the end (the machine may be shared).

``--lead`` is the time from the draw's creation to its beacon round: the upload's time
plus §3.1's 60 s at least; the wait for the round is the rest of it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.draw_bench import Clock, make_list
from bench.machine import machine_info
from tests.fixtures.hardhat import HardhatNode, free_port
from tests.fixtures.served_draw import DrawShape, Verified, served_draw

PHASES = [
    ("create", "create"),
    ("upload + finish", "upload"),
    ("commit", "commit"),
    ("wait for the round", "wait"),
    ("draw", "draw"),
    ("export download", "export"),
    ("Python verify (CLI)", "python_verify"),
    ("JS verify (verifier-js)", "js_verify"),
]


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def report(shape: DrawShape, clock: Clock, verified: Verified, load: tuple[str, str]) -> None:
    print(machine_info())
    print(f"load average (1, 5, 15 min): start {load[0]}, end {load[1]}")
    print(
        f"{shape.entrants:,} entrants, weighted, 2 categories (remote quota "
        f"{shape.remote_quota}, ordered cascade), tiers {'/'.join(map(str, shape.tiers))}, "
        f"waiting list {shape.waiting}"
    )
    print(f"draw {verified.draw_id}: seed {verified.seed}, {verified.winners} winners")
    print(f"  notary-hub draw verify: seed {verified.python[0]}, {verified.python[1]} winners")
    print(f"  verifier-js:            seed {verified.js[0]}, {verified.js[1]} winners")
    for name, (py, js) in verified.tampered.items():
        print(f"  tampered ({name}): Python fails at {py}, JS at {js}")
    print(f"{'phase':28}{'wall s':>10}{'CPU s':>10}")
    for label, key in PHASES:
        print(f"{label:28}{clock.figures[key]:>10.2f}{clock.figures[key + '_cpu']:>10.2f}")
    print(f"{'hub peak RSS':28}{verified.hub_peak_rss_mib:>10.1f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entrants", type=int, default=1_000_000)
    parser.add_argument("--lead", type=float, default=100.0, help="creation to round, s")
    args = parser.parse_args()
    shape = DrawShape(entrants=args.entrants, tiers=(10, 100, 1000), waiting=500)
    start_load, clock = loadavg(), Clock()
    with tempfile.TemporaryDirectory(prefix="draw-e2e-") as tmp:
        work = Path(tmp)
        listing = work / "list.csv"
        make_list(listing, shape.entrants, True, shape.category)
        node = HardhatNode(port=free_port(), log_path=work / "hardhat.log")
        node.start()
        try:
            verified = served_draw(node, work, shape, listing, clock, lead=args.lead)
        finally:
            node.stop()
    report(shape, clock, verified, (start_load, loadavg()))


if __name__ == "__main__":
    main()
