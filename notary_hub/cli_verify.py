"""``notary-hub verify``: check a credential or presentation with a chain node and nothing else.

The verifier a court runs: the issuer's DID is resolved through the chain's
JSON-RPC alone (its ERC-1056 registry found from the chain's logs unless
``--registry`` names it), status comes from a list credential handed in (file or
mirror URL) or from the copy published on chain. Exit 0 only when everything
verifies; 1 when the document does not; 2 for bad usage.

Whom it trusts (:mod:`credentials.issuer_trust`): issuers pinned with ``--issuer``
or a ``--trust-file``, and the notaries the consortium registry admitted as of the
proof's time (the registry named by ``--consortium``, else the chain's founding
one). A custody letter from anyone else is invalid; for other credentials the
trust status is reported on its own line.
"""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from cryptography import x509
from rich.table import Table

from chain_adapter.jsonrpc_chain import JsonRpcChain
from credentials.consortium_trust import ConsortiumTrust, NoConsortium, founding_consortium
from credentials.issuer_trust import AnyOf, IssuerTrust, PinnedIssuers, check_issuer_trust
from credentials.verification import VerificationResult
from credentials.verifier import StaticStatusLists, Verifier
from did_registry.did_key import DidKeyResolver
from did_registry.dispatch import DispatchingResolver
from did_registry.ethr.registry_discovery import DiscoveringSource
from did_registry.ethr.resolver import EthrResolver
from evidence.deposit.letter import CREDENTIAL_TYPE
from evidence.deposit.letter_verification import FILE_CHUNK, LetterVerifier
from hub_kernel.json_guard import too_deep
from notary_hub.cli_support import cli_errors, err, fail, out, plain

MAX_DOCUMENT_BYTES = 16 * 1024 * 1024
MAX_STATUS_LIST_BYTES = 4 * 1024 * 1024


def _read_document(file: Path) -> Any:
    try:
        size = file.stat().st_size
    except OSError as exc:
        fail("file_not_found", f"{file}: {exc.strerror}", 2)
    if size > MAX_DOCUMENT_BYTES:
        fail("document_too_large", f"{file} is {size} bytes; the limit is {MAX_DOCUMENT_BYTES}")
    text = file.read_text("utf-8", errors="replace").strip()
    if text.count(".") == 2 and not text.startswith(("{", "[")):
        return text  # a compact vc+jwt / vp+jwt
    if too_deep(text):
        fail("invalid_document", f"{file} nests JSON too deeply")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        fail(
            "invalid_document", f"{file} is neither JSON nor a JWT: {exc.msg} at line {exc.lineno}"
        )


def _status_list(source: str) -> dict[str, Any]:
    if source.startswith(("https://", "http://")):
        try:
            with httpx.stream("GET", source, timeout=10.0, follow_redirects=False) as response:
                response.raise_for_status()
                body = b""
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_STATUS_LIST_BYTES:
                        fail("status_list_too_large", f"{source} is larger than allowed")
        except httpx.HTTPError as exc:
            fail("status_list_unavailable", f"{source}: {exc}")
        text = body.decode("utf-8", errors="replace")
    else:
        path = Path(source)
        if not path.is_file():
            fail("file_not_found", f"status list {source} is not a file", 2)
        text = path.read_text("utf-8", errors="replace")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        fail("invalid_status_list", f"{source} is not JSON: {exc.msg}")
    if not isinstance(document, dict):
        fail("invalid_status_list", f"{source} is not a JSON object")
    return document


def _is_presentation(document: Any) -> bool:
    if isinstance(document, str):
        try:
            header = json.loads(base64.urlsafe_b64decode(document.split(".")[0] + "=="))
        except ValueError:
            return False
        return isinstance(header, dict) and header.get("typ") == "vp+jwt"
    kinds = document.get("type") if isinstance(document, dict) else None
    kinds = [kinds] if isinstance(kinds, str) else kinds or []
    return "VerifiablePresentation" in kinds or "EnvelopedVerifiablePresentation" in kinds


def _is_letter(document: Any) -> bool:
    kinds = document.get("type") if isinstance(document, dict) else None
    return isinstance(kinds, list) and CREDENTIAL_TYPE in kinds


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(FILE_CHUNK):
            yield chunk


def _certificate(path: Path) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except OSError as exc:
        fail("file_not_found", f"{path}: {exc.strerror}", 2)
    except ValueError:
        fail("invalid_certificate", f"{path} is not a PEM certificate", 2)


def _trust_file(path: Path) -> list[str]:
    """A trust file: a JSON array of DIDs, or one DID a line (``#`` comments)."""
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        fail("file_not_found", f"{path}: {exc.strerror}", 2)
    if text.lstrip().startswith("["):
        try:
            dids = json.loads(text)
        except json.JSONDecodeError as exc:
            fail("invalid_trust_file", f"{path} is not a JSON array: {exc.msg}", 2)
        if not isinstance(dids, list) or not all(isinstance(d, str) for d in dids):
            fail("invalid_trust_file", f"{path} must be a JSON array of DID strings", 2)
        return dids
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line]


def _trust(chain: JsonRpcChain, pinned: list[str], consortium: str | None) -> IssuerTrust:
    sources: list[IssuerTrust] = [PinnedIssuers(pinned)]
    try:
        address = consortium or founding_consortium(chain)
    except NoConsortium:
        return AnyOf(sources)
    return AnyOf([*sources, ConsortiumTrust(chain, address)])


def _report(result: VerificationResult, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(result.to_body(), indent=2) + "\n")
        return
    verdict = "[bold green]VALID[/]" if result.verified else "[bold red]INVALID[/]"
    out.print(verdict)
    details = Table(show_header=False, box=None)
    for key in ("issuer", "id", "type"):
        if result.details.get(key):
            details.add_row(key, plain(result.details[key]))
    trust = result.details.get("issuerTrust")
    if isinstance(trust, dict):
        verdict = "trusted" if trust.get("trusted") else "NOT trusted"
        details.add_row("issuer trust", plain(f"{verdict}: {trust.get('reason')}"))
    for proof in result.details.get("proofs", []):
        details.add_row(
            "signed by", plain(f"{proof['verificationMethod']} at {proof.get('created')}")
        )
    for status in result.details.get("status", []):
        details.add_row(
            "status",
            plain(
                f"{status['purpose']}: {'set' if status['status'] else 'clear'} "
                f"(list version {status['listVersion']})"
            ),
        )
    for key, value in result.details.get("evidence", {}).items():
        details.add_row(plain(key), plain(value))
    out.print(details)
    passed = sorted(set(result.checks))
    if passed:
        out.print("passed: " + ", ".join(passed), markup=False, highlight=False)
    for warning in result.warnings:
        out.print(f"warning: {warning.check}: {warning.message}", markup=False, highlight=False)
    for problem in result.errors:
        err.print(
            f"failed: {problem.check}: {problem.code}: {problem.message}",
            markup=False,
            highlight=False,
        )


def verify(
    document_file: Annotated[
        Path, typer.Argument(metavar="FILE", help="Credential or presentation: JSON or JWT.")
    ],
    rpc: Annotated[
        str | None,
        typer.Option(
            help="JSON-RPC URL of any node of the chain.", envvar="NOTARY_HUB_VERIFY_RPC_URL"
        ),
    ] = None,
    registry: Annotated[
        str | None, typer.Option(help="The DID registry address (default: found on chain).")
    ] = None,
    status_list: Annotated[
        list[str] | None,
        typer.Option(help="Status list credential, a file or a mirror URL (repeatable)."),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option(help="The deposited file, checked against a custody letter's digests."),
    ] = None,
    tsa_root: Annotated[
        list[Path] | None,
        typer.Option(help="PEM root certificate a timestamp authority must chain to (repeatable)."),
    ] = None,
    challenge: Annotated[str | None, typer.Option(help="Expected presentation challenge.")] = None,
    domain: Annotated[str | None, typer.Option(help="Expected presentation domain.")] = None,
    issuer: Annotated[
        list[str] | None,
        typer.Option("--issuer", help="An issuer DID to trust (repeatable)."),
    ] = None,
    trust_file: Annotated[
        Path | None,
        typer.Option(help="Issuer DIDs to trust: a JSON array, or one DID a line."),
    ] = None,
    consortium: Annotated[
        str | None,
        typer.Option(help="The consortium registry whose notaries are trusted (default: found)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Verify a credential or presentation without the hub. Exit 0 only if valid."""
    document = _read_document(document_file)
    if rpc is None:
        fail("missing_rpc", "a chain JSON-RPC URL is needed: --rpc URL", 2)
    lists, roots, pinned = _offline_inputs(status_list, tsa_root, file, issuer, trust_file)
    with cli_errors(), _connected(rpc) as chain:
        verifier = _verifier(chain, registry, lists)
        trust = _trust(chain, pinned, consortium)
        result = _verify_document(chain, verifier, trust, document, roots, file, challenge, domain)
    _report(result, as_json)
    raise typer.Exit(0 if result.verified else 1)


def _offline_inputs(
    status_list: list[str] | None,
    tsa_root: list[Path] | None,
    file: Path | None,
    issuer: list[str] | None,
    trust_file: Path | None,
) -> tuple[list[dict[str, Any]], list[x509.Certificate], list[str]]:
    """The status lists, TSA roots and pinned issuers, read before the chain is asked."""
    lists = [_status_list(source) for source in status_list or []]
    roots = [_certificate(path) for path in tsa_root or []]
    if file is not None and not file.is_file():
        fail("file_not_found", f"{file} is not a file", 2)
    pinned = [*(issuer or []), *(_trust_file(trust_file) if trust_file else [])]
    return lists, roots, pinned


@contextmanager
def _connected(rpc: str) -> Iterator[JsonRpcChain]:
    chain = JsonRpcChain.connect(rpc, expected_chain_id=None, timeout=10.0, retries=2)
    try:
        yield chain
    finally:
        chain.close()


def _verifier(chain: JsonRpcChain, registry: str | None, lists: list[dict[str, Any]]) -> Verifier:
    """A verifier resolving did:ethr through ``chain`` alone (and did:key offline)."""
    source = DiscoveringSource(chain, registry=registry)
    resolver = DispatchingResolver(
        {"ethr": EthrResolver({chain.chain_id: source}), "key": DidKeyResolver()}
    )
    return Verifier(resolver, chain=chain, status_lists=StaticStatusLists(lists))


def _verify_document(
    chain: JsonRpcChain,
    verifier: Verifier,
    trust: IssuerTrust,
    document: Any,
    roots: list[x509.Certificate],
    file: Path | None,
    challenge: str | None,
    domain: str | None,
) -> VerificationResult:
    """A presentation, a custody letter (with its file, if given) or another credential."""
    if _is_presentation(document):
        return verifier.verify_presentation(document, challenge=challenge, domain=domain)
    if file is not None or _is_letter(document):
        letters = LetterVerifier(verifier, chain, trust=trust, tsa_roots=roots)
        content = _chunks(file) if file is not None else None
        return letters.verify(document, content=content)
    result = verifier.verify_credential(document)
    check_issuer_trust(result, trust, required=False)
    return result
