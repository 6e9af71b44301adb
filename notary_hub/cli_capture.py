"""``notary-hub capture URL [--steps steps.yaml]``: a scripted capture on a hub (issue 15
item 7), for monitoring without a person.

It asks a running hub (``--hub URL``, else the hub serving this data directory, else the
configured public URL) with the user's ``notary-hub login`` token (an
``evidence:capture`` grant; in dev mode the bootstrap token, with ``--as DID`` naming
whose capture it is), waits until the capture is sealed, and saves its custody letter
and WACZ package into ``--out``: the same package and letter as a live session's, which
``notary-hub verify LETTER --file PACKAGE`` checks. Errors are one line and a non-zero
exit, the hub's refusals with its error code.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from notary_hub.cli_draw import AsOption, HubSession, hub_session, refused
from notary_hub.cli_login import HubOption
from notary_hub.cli_support import cli_errors, fail, out

POLL_SECONDS = 1.0
_DONE = ("sealed", "refused")


def _print(line: str) -> None:
    out.print(line, markup=False, highlight=False)


def capture(
    url: Annotated[str, typer.Argument(help="The first address the browser opens.")],
    steps: Annotated[
        Path | None, typer.Option(help="A YAML file of steps run after URL loads.")
    ] = None,
    out_dir: Annotated[
        Path, typer.Option("--out", help="Where the letter and the package are saved.")
    ] = Path("."),
    timeout: Annotated[
        float, typer.Option(min=1, help="Seconds to wait for the sealed capture.")
    ] = 900.0,
    hub: HubOption = None,
    owner: AsOption = None,
) -> None:
    """Capture URL (and the steps) in the notary's clean remote browser; save the custody
    letter and the WACZ package once sealed."""
    with cli_errors():
        script = steps.read_text("utf-8") if steps is not None else ""
        out_dir.mkdir(parents=True, exist_ok=True)
    with hub_session(hub, owner) as session:
        started = session.json("POST", "/captures", json={"target": url, "steps": script})
        capture_id = str(started["id"])
        _print(f"capture {capture_id} started on {session.url}")
        record = _wait(session, capture_id, timeout)
        if record["state"] == "refused":
            fail("capture_refused", "; ".join(record.get("refusal") or ["refused"]))
        letter_path = out_dir / f"capture-{capture_id}.letter.json"
        package_path = out_dir / f"capture-{capture_id}.wacz"
        _save(session, f"/captures/{capture_id}/letter", letter_path)
        _save(session, f"/captures/{capture_id}/package", package_path)
    _print(f"outcome: {record.get('outcome')}")
    _print(f"sealed: package SHA-256 {record['packageSha256']} ({record['packageSize']} bytes)")
    if record.get("interrupted"):
        _print(f"interrupted: {record['interruptionReason']}")
    _print(f"letter  {letter_path}")
    _print(f"package {package_path}")


def _wait(session: HubSession, capture_id: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    state = ""
    while True:
        record = session.json("GET", f"/captures/{capture_id}")
        if record["state"] != state:
            state = str(record["state"])
            _print(f"capture {capture_id}: {state}")
        if state in _DONE:
            return record
        if time.monotonic() > deadline:
            error = record.get("sealError")
            fail("capture_timeout", f"not sealed after {timeout:g} s (state {state}; {error})")
        time.sleep(POLL_SECONDS)


def _save(session: HubSession, path: str, target: Path) -> None:
    with session.http.stream("GET", path) as response:
        if not response.is_success:
            response.read()
            refused(response)
        with cli_errors(), target.open("wb") as file:
            for chunk in response.iter_bytes():
                file.write(chunk)
