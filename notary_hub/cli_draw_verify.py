"""``notary-hub draw verify`` and ``draw check``: a draw checked by anyone, without the hub.

``verify EXPORT --rpc URL`` re-derives the draw from its public export
(:func:`evidence.draw.verify.verify_export`: config, entries, commitment, beacon, reveal,
seed, selection, result, in that order) against the draw's record read from the
``DrawRegistry`` over any node's JSON-RPC, the beacon's BLS signature checked against the
configuration's key, and the commitment's RFC 3161 token against the values it binds; it
names the first step that fails. ``check RECEIPT --draw URL`` checks one entrant's
receipt against the published list and result (the draw's public page as JSON): the
inclusion proof under the committed root, then the entrant's rank and tier, if drawn.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from chain_adapter.jsonrpc_chain import JsonRpcChain
from evidence.draw import drand
from evidence.draw.committing import commitment_digest
from evidence.draw.config import BeaconConfig as ConfigBeacon
from evidence.draw.errors import DrawVerificationFailed, InvalidReceipt
from evidence.draw.export import read_chain, read_config
from evidence.draw.receipt import EntryReceipt, check_receipt
from evidence.draw.registry import DrawRegistry
from evidence.draw.verify import ChainRecord, Verification, chain_record_json, verify_export
from evidence.timestamping.verify import verify_token
from notary_hub.cli_support import cli_errors, fail, out

PAGE = 1000


def _print(line: str) -> None:
    out.print(line, markup=False, highlight=False)


def chain_record(directory: Path, rpc: str) -> ChainRecord:
    """The draw's record from the registry ``chain.json`` names, over ``rpc``."""
    chain_json = read_chain(directory)
    chain = JsonRpcChain.connect(rpc, expected_chain_id=int(chain_json["chainId"]))
    try:
        registry = DrawRegistry.attach(chain, str(chain_json["contract"]))
        record = registry.record(bytes.fromhex(str(chain_json["drawKey"])))
    finally:
        chain.close()
    if record is None:
        raise DrawVerificationFailed("commitment", "the registry has no record of this draw")
    c, r = record.commitment, record.result
    return ChainRecord(
        config_hash=c.config_hash,
        candidate_root=c.candidate_root,
        count=c.count,
        beacon_round=c.round,
        notary_commitment=c.notary_commitment,
        commit_time=record.committed_at,
        seed=r.seed if r else None,
        round_used=r.used_round if r else None,
        result_root=r.result_root if r else None,
        winners=r.winners if r else None,
    )


def beacon_verifier(document: Mapping[str, Any]) -> Any:
    """The BLS check of ``beacon.json`` against the configuration's own beacon member."""
    cfg = drand.BeaconConfig.from_config(document["beacon"])

    def check_beacon(_beacon: ConfigBeacon, beacon_json: Mapping[str, Any]) -> bytes:
        return drand.verify_beacon(cfg, beacon_json, expected_round=int(beacon_json["round"]))

    return check_beacon


def check_timestamp(directory: Path, report: Verification) -> str:
    """The commitment's RFC 3161 token over the values it binds (all re-derived)."""
    config = read_config(directory)
    token = read_chain(directory).get("timestampToken")
    if not isinstance(token, str):
        raise DrawVerificationFailed("timestamp", "chain.json carries no RFC 3161 token")
    digest = commitment_digest(
        config.draw_id, report.config_hash, report.candidate_root, report.count, config.document
    )
    try:
        verified = verify_token(base64.b64decode(token), digest)
    except Exception as exc:
        raise DrawVerificationFailed("timestamp", f"the token does not verify: {exc}") from exc
    return verified.gen_time.isoformat().replace("+00:00", "Z")


def verify(
    export: Path,
    rpc: Annotated[str, typer.Option(metavar="URL", help="A chain node's JSON-RPC URL.")],
    save_chain_record: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="Also save the chain record (§6.1, for verifier-js)."),
    ] = None,
) -> None:
    """Re-derive a draw from its export and the chain; name the first step that fails."""
    with cli_errors():
        try:
            config = read_config(export)
            record = chain_record(export, rpc)
            if save_chain_record is not None:
                if record.result_root is None:
                    fail("no_result_on_chain", "the chain has no result for this draw yet")
                document = chain_record_json(record)  # §6.1, as verifier-js reads it
                save_chain_record.write_text(json.dumps(document, indent=1) + "\n")
            report = verify_export(
                export,
                chain_record=record,
                verify_beacon=beacon_verifier(config.document),
            )
            stamped = check_timestamp(export, report)
        except ValueError as exc:
            raise DrawVerificationFailed("config", str(exc)) from exc
    for step, outcome in report.steps.items():
        _print(f"{step}: {outcome}")
    _print(f"timestamp: ok (commitment stamped at {stamped})")
    _print(f"valid: draw {config.draw_id}, seed {report.seed.hex()}, {report.winners} winners")


def _outcome(client: httpx.Client, url: str, receipt: EntryReceipt) -> dict[str, Any] | None:
    """The receipt's entry in the published result, page by page (None: not drawn)."""
    offset = 0
    while True:
        page = _get(client, f"{url}/winners", params={"offset": offset, "limit": PAGE})
        for item in page["items"]:
            if item["index"] == receipt.index:
                if item["leaf"] != receipt.leaf.hex():
                    raise InvalidReceipt("the result lists another leaf at this receipt's index")
                found: dict[str, Any] = item
                return found
        if "next" not in page:
            return None
        offset += PAGE


def _get(client: httpx.Client, url: str, **kwargs: Any) -> dict[str, Any]:
    try:
        response = client.get(url, **kwargs)
    except httpx.TransportError as exc:
        fail("hub_unavailable", f"{url}: {exc}")
    if not response.is_success:
        fail(f"http_{response.status_code}", f"{url}: {response.text[:200]}")
    body: dict[str, Any] = response.json()
    return body


def check(
    receipt_file: Annotated[Path, typer.Argument(metavar="RECEIPT")],
    draw: Annotated[str, typer.Option(metavar="URL", help="The draw's URL: HUB/draws/ID.")],
) -> None:
    """Check an entry receipt against the published draw: entered, and the outcome."""
    url = draw.rstrip("/")
    with cli_errors():
        receipt = EntryReceipt.from_json(json.loads(receipt_file.read_bytes()))
        with httpx.Client(timeout=30.0) as client:
            published = _get(client, url)
            entries = published.get("entries") or {}
            if published.get("commitment") is None or not entries:
                fail("not_committed", f"draw {published.get('id')} is not committed yet")
            root = bytes.fromhex(entries["candidateRoot"])
            check_receipt(
                receipt, draw_id=published["id"], candidate_root=root, count=entries["count"]
            )
            drawn = published["state"] == "drawn"
            found = _outcome(client, url, receipt) if drawn else None
    _print(
        f"receipt valid: {receipt.entrant_id} is entry {receipt.index} of draw {receipt.draw_id}"
    )
    if not drawn:
        _print("not drawn yet")
    elif found is None:
        _print("not selected")
    elif found["tier"] == 0:
        _print(f"waiting list: rank {found['rank']}")
    else:
        _print(f"selected: rank {found['rank']}, tier {found['tier']}")
