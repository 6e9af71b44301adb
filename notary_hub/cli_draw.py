"""``notary-hub draw``: organise a public draw on a hub, and verify one anywhere (issue 14).

The organiser's commands talk to a running hub's ``/draws`` API (``--hub URL``, else the
hub serving this data directory, else the configured public URL) with the user's
``notary-hub login`` token (a ``draws:manage`` grant), or in dev mode the bootstrap token
with ``--as DID`` naming the organiser. ``create CONFIG.json``, ``upload ID FILE``
(resumable: each chunk says where it starts; a chunk the hub already has, or a
connection lost, resumes from the hub's offset), ``commit ID``, ``run ID [--beacon
FILE]``, ``receipts ID FILE``, ``letter ID FILE [--pdf | --winners]`` and ``export ID
DIR``. ``verify`` and ``check`` (:mod:`notary_hub.cli_draw_verify`) need no hub account,
nor does ``receipt-credential RECEIPT --draw URL`` (an entrant known by a DID has the
notary sign their receipt as a ``DrawEntryReceiptCredential``, to import into a wallet).
Errors are one line and a non-zero exit, the hub's refusals with its error code.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from notary_hub.cli_draw_verify import check, verify
from notary_hub.cli_login import HubOption, hub_url
from notary_hub.cli_remote import remote_bearer
from notary_hub.cli_support import PlainFlagsGroup, cli_errors, fail, flag, load_settings, out

draw_app = typer.Typer(
    help="Public draws: organise one on a hub (create, upload, commit, run), verify one.",
    no_args_is_help=True,
    cls=PlainFlagsGroup,
)
AsOption = Annotated[
    str | None,
    typer.Option(
        "--as", metavar="DID", help="Dev bootstrap token only: the organiser's DID to act for."
    ),
]
CHUNK_BYTES = 8 << 20
TIMEOUT = httpx.Timeout(30.0, read=600.0)  # a commit or a draw of millions takes a while
EXPORT_FILES = ("config.json", "entries.bin", "beacon.json", "reveal.json", "result.jsonl")


def _print(line: str) -> None:
    out.print(line, markup=False, highlight=False)


class HubSession:
    """The hub's ``/draws`` API with the caller's token; refusals become CLI errors."""

    def __init__(self, url: str, token: str | None, organiser: str | None) -> None:
        self.url = url
        headers = {"authorization": f"Bearer {token}"} if token else {}
        if organiser:
            headers["Depositor"] = organiser
        self.http = httpx.Client(base_url=url, headers=headers, timeout=TIMEOUT)

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            fail("hub_unavailable", f"{self.url}: {exc}")
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self.call(method, path, **kwargs)
        if not response.is_success:
            refused(response)
        body: dict[str, Any] = response.json()
        return body


def refused(response: httpx.Response) -> None:
    try:
        body = response.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    code = str(body.get("error", f"http_{response.status_code}"))
    fail(code, str(body.get("message", response.text[:200])))


@contextmanager
def hub_session(
    hub: str | None, organiser: str | None, *, public: bool = False
) -> Iterator[HubSession]:
    """A session with the hub; ``public``: no token (the export is anyone's)."""
    settings = load_settings()
    url = hub_url(settings, hub)
    session = HubSession(url, None if public else remote_bearer(settings, url), organiser)
    try:
        yield session
    finally:
        session.http.close()


@draw_app.command()
def create(config: Path, hub: HubOption = None, organiser: AsOption = None) -> None:
    """Create a draw from CONFIG.json (without algorithm, drawId, notaryCommitment)."""
    with cli_errors():
        body = json.loads(config.read_bytes())
    with hub_session(hub, organiser) as session:
        draw = session.json("POST", "/draws", json=body)
    beacon = draw["beacon"]
    _print(f"draw {draw['id']} created: beacon round {beacon['round']} at {beacon['roundTime']}")
    _print(f"config hash {draw['configHash']}")


def _list_format(file: Path, given: str | None) -> str:
    if given:
        return given
    if file.suffix.lower() == ".csv":
        return "csv"
    if file.suffix.lower() in (".jsonl", ".ndjson"):
        return "jsonl"
    fail("unknown_format", f"say --format csv or jsonl for {file.name}")


@draw_app.command()
def upload(
    draw_id: str,
    file: Path,
    list_format: Annotated[
        str | None, typer.Option("--format", help="csv or jsonl (default: from the file name).")
    ] = None,
    resume: Annotated[
        str | None, typer.Option(metavar="UPLOAD", help="Resume this upload session.")
    ] = None,
    chunk_bytes: Annotated[int, typer.Option(min=1 << 16, max=1 << 30)] = CHUNK_BYTES,
    hub: HubOption = None,
    organiser: AsOption = None,
) -> None:
    """Upload the list of entrants (CSV or JSON Lines), streamed and resumable."""
    with cli_errors():
        size = file.stat().st_size
    with hub_session(hub, organiser) as session:
        base = f"/draws/{draw_id}/uploads"
        if resume is None:
            body = {"format": _list_format(file, list_format), "size": size}
            resume = str(session.json("POST", base, json=body)["id"])
        location = f"{base}/{resume}"
        _send_chunks(session, location, file, chunk_bytes)
        finished = session.call("POST", f"{location}/finish")
        if not finished.is_success:
            _show_problems(session, location)
            refused(finished)
        entries = finished.json()["entries"]
    _print(f"list accepted: {entries['count']} entrants, candidate root {entries['candidateRoot']}")


def _send_chunks(session: HubSession, location: str, file: Path, chunk_bytes: int) -> None:
    offset = int(session.json("GET", location)["offset"])
    size = file.stat().st_size
    with file.open("rb") as stream:
        while offset < size:
            stream.seek(offset)
            chunk = stream.read(chunk_bytes)
            headers = {"Upload-Offset": str(offset), "Content-Type": "application/octet-stream"}
            try:
                response = session.http.patch(location, content=chunk, headers=headers)
            except httpx.TransportError:
                offset = int(session.json("GET", location)["offset"])  # resume where it stands
                continue
            if response.status_code == 409 and "Upload-Offset" in response.headers:
                offset = int(response.headers["Upload-Offset"])
                continue
            if not response.is_success:
                refused(response)
            offset = int(response.json()["offset"])
            _print(f"sent {offset} of {size} bytes")


def _show_problems(session: HubSession, location: str) -> None:
    problems = session.json("GET", location).get("problems") or []
    for problem in problems[:20]:
        _print(f"line {problem['line']}: {problem['reason']}")
    if len(problems) > 20:
        _print(f"... and {len(problems) - 20} more")


@draw_app.command()
def commit(draw_id: str, hub: HubOption = None, organiser: AsOption = None) -> None:
    """Commit the configuration, list and round on chain (timestamped), once."""
    with hub_session(hub, organiser) as session:
        draw = session.json("POST", f"/draws/{draw_id}/commit")
    commitment = draw["commitment"]
    _print(
        f"draw {draw_id} committed: draw key {commitment['drawKey']}, tx {commitment['commitTx']}"
    )
    beacon = draw["beacon"]
    _print(f"timestamped by {commitment['tsa']}; round {beacon['round']} at {beacon['roundTime']}")


@draw_app.command()
def run(
    draw_id: str,
    beacon: Annotated[
        Path | None, typer.Option(help="A beacon round's JSON pasted from a relay (offline).")
    ] = None,
    public_value: Annotated[
        list[str] | None, typer.Option("--public-value", help="Repeatable, in declared order.")
    ] = None,
    hub: HubOption = None,
    organiser: AsOption = None,
) -> None:
    """Draw: the beacon round (from the hub's relays, or --beacon), the reveal, the result."""
    body: dict[str, Any] = {"publicValues": list(public_value or [])}
    if beacon is not None:
        with cli_errors():
            body["beacon"] = json.loads(beacon.read_bytes())
    with hub_session(hub, organiser) as session:
        draw = session.json("POST", f"/draws/{draw_id}/draw", json=body)
    result = draw["result"]
    _print(f"draw {draw_id} drawn with beacon round {result['round']}: {result['winners']} winners")
    _print(f"seed {result['seed']}")
    _print(f"result root {result['resultRoot']}, tx {result['resultTx']}")


@draw_app.command()
def receipts(draw_id: str, file: Path, hub: HubOption = None, organiser: AsOption = None) -> None:
    """Save every entrant's entry receipt (JSON Lines) to FILE, for the organiser to hand out."""
    with hub_session(hub, organiser) as session:
        count = _download(session, f"/draws/{draw_id}/receipts", file, lines=True)
    _print(f"{count} receipts in {file}")


@draw_app.command()
def letter(
    draw_id: str,
    file: Path,
    pdf: Annotated[bool, flag("--pdf", help="The signed PDF instead of the credential.")] = False,
    winners: Annotated[
        bool, flag("--winners", help="The winners' credentials (JSON Lines) instead.")
    ] = False,
    hub: HubOption = None,
    organiser: AsOption = None,
) -> None:
    """Save the draw's result letter (DrawResultCredential, or --pdf), or --winners'."""
    name = "winner-credentials" if winners else "letter.pdf" if pdf else "credential"
    with hub_session(hub, organiser) as session:
        size = _download(session, f"/draws/{draw_id}/{name}", file)
    _print(f"{name} of draw {draw_id} in {file} ({size} bytes)")


@draw_app.command()
def export(draw_id: str, directory: Path, hub: HubOption = None) -> None:
    """Download the draw's public export (docs/draw-algorithm.md §6) into DIRECTORY."""
    with cli_errors():
        directory.mkdir(parents=True, exist_ok=True)
    with hub_session(hub, None, public=True) as session:
        for name in (*EXPORT_FILES, "chain.json"):
            _download(session, f"/draws/{draw_id}/export/{name}", directory / name)
    _print(f"export of draw {draw_id} in {directory}")


@draw_app.command("receipt-credential")
def receipt_credential(
    receipt_file: Annotated[Path, typer.Argument(metavar="RECEIPT")],
    draw: Annotated[str, typer.Option(metavar="URL", help="The draw's URL: HUB/draws/ID.")],
    out_file: Annotated[
        Path | None, typer.Option("--out", metavar="FILE", help="Save it to a new FILE.")
    ] = None,
) -> None:
    """Have the notary sign your entry receipt as a credential to your DID (no account)."""
    url = draw.rstrip("/")
    with cli_errors():
        raw = receipt_file.read_bytes()
    try:
        body = json.loads(raw)
    except ValueError:
        fail("invalid_receipt", f"{receipt_file} is not JSON")
    try:
        with httpx.Client(timeout=TIMEOUT) as client:
            response = client.post(f"{url}/receipt-credential", json=body)
    except httpx.TransportError as exc:
        fail("hub_unavailable", f"{url}: {exc}")
    if not response.is_success:
        refused(response)
    text = json.dumps(response.json(), indent=2) + "\n"
    if out_file is None:
        out.print(text, markup=False, highlight=False, soft_wrap=True, end="")
        return
    with cli_errors(), out_file.open("x", encoding="utf-8") as stream:  # never over a file
        stream.write(text)
    subject = response.json()["credentialSubject"]
    _print(f"DrawEntryReceiptCredential of entry {subject['entryIndex']} in {out_file}")


def _download(session: HubSession, path: str, target: Path, *, lines: bool = False) -> int:
    """Stream ``path`` into ``target`` (written aside, then renamed); bytes or lines."""
    partial = target.with_name(target.name + ".partial")
    count = 0
    with session.http.stream("GET", path) as response:
        if not response.is_success:
            response.read()
            refused(response)
        with cli_errors(), partial.open("wb") as stream:
            for chunk in response.iter_bytes():
                stream.write(chunk)
                count += chunk.count(b"\n") if lines else len(chunk)
    partial.replace(target)
    return count


draw_app.command()(verify)
draw_app.command()(check)
