"""``notary-hub verify``: check a credential or presentation with a chain node and nothing else.

The verifier a court runs: the issuer's DID is resolved through the chain's
JSON-RPC alone (its ERC-1056 registry found from the chain's logs unless
``--registry`` names it), status comes from a list credential handed in (file or
mirror URL) or from the copy published on chain. Exit 0 only when everything
verifies; 1 when the document does not; 2 for bad usage. ``--rpc`` repeated (issue 16):
the first node is the hub's chain; a letter's receipt anchored on another chain is
checked on the node answering that chain id, and reported unchecked when none does.

Whom it trusts (:mod:`credentials.issuer_trust`): issuers pinned with ``--issuer``
or a ``--trust-file``, and the notaries the consortium registry admitted as of the
proof's time (the registry named by ``--consortium``, else the chain's founding
one). A custody letter from anyone else is invalid; for other credentials the
trust status is reported on its own line.

A draw's letters (issue 14 item 8) are told by their type and checked by
:class:`~evidence.draw.letter_verification.DrawLetterVerifier`, as fully as custody letters:
a ``DrawResultCredential``'s issuer trust, proof, RFC 3161 token over the commitment it
describes, and its chain record against the draw registry on chain (configuration hash,
candidate root and count, beacon, seed, result root); a ``DrawWinnerCredential``'s issuer
trust, proof and result root against the same record, and with ``--result-letter`` the
result letter it names. A capture letter (``EvidenceCaptureCredential``, issue 15 item 8)
goes through :class:`~evidence.capture.capture_verification.CaptureLetterVerifier`, with
``--file`` its WACZ package: the package digest, the WACZ signature and every file, the
hash chain and its tokens, the key items.

A PDF letter (``%PDF-``), a custody letter or a draw's result letter, is checked by
:class:`~evidence.letter_pdf.verify.PdfLetterVerifier`: its PAdES signature over the whole
file, its timestamp, the signer's certificate as listed on the issuer's DID on chain, and
the attached credential, which goes through the full letter check of its kind.

A presentation (VC Data Model 2.0 §4.13,
https://www.w3.org/TR/vc-data-model-2.0/#verifiable-presentations) needs ``--challenge``
and ``--domain`` (without them anyone's copy would pass), and is checked by the
verifier (its holder must be each credential's subject, see
:mod:`credentials.verifier`); each custody letter inside it goes through the
:class:`~evidence.deposit.letter_verification.LetterVerifier` too (issuer trust,
timestamp, anchor and, with ``--file``, the file), and each draw letter through the draw
check, their results merged under ``verifiableCredential[i].``. The report is
:mod:`notary_hub.verify_report`'s; the inputs read before the chain is asked are
:mod:`notary_hub.verify_inputs`'.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any

import typer
from cryptography import x509

from chain_adapter.jsonrpc_chain import JsonRpcChain
from chain_adapter.protocol import Chain
from credentials.consortium_trust import ConsortiumTrust, NoConsortium, founding_consortium
from credentials.issuer_trust import AnyOf, IssuerTrust, PinnedIssuers, check_issuer_trust
from credentials.vc_data_model import credentials_of
from credentials.verification import Problem, VerificationResult
from credentials.verifier import StaticStatusLists, Verifier
from did_registry.did_key import DidKeyResolver
from did_registry.dispatch import DispatchingResolver
from did_registry.ethr.registry_discovery import DiscoveringSource
from did_registry.ethr.resolver import EthrResolver
from evidence.capture.capture_verification import CaptureLetterVerifier, is_capture_letter
from evidence.capture.letter_pdf import capture_pdf_kind
from evidence.deposit.letter_verification import FILE_CHUNK, LetterVerifier
from evidence.draw.letter_verification import DrawLetterVerifier, is_draw_letter, result_pdf_kind
from evidence.letter_pdf.attach import CREDENTIAL_FILE, embedded_json
from evidence.letter_pdf.verify import PdfLetterVerifier, attachments_of
from notary_hub.cli_support import cli_errors, fail, flag, json_errors
from notary_hub.verify_inputs import (
    connected_chains,
    read_document,
    read_pdf,
    status_list,
    trust_file,
    tsa_roots,
)
from notary_hub.verify_report import Report, is_letter, print_credential, print_presentation

# The checks a letter adds to a credential's: merged into a presentation's result.
GENERIC_CHECKS = frozenset({"structure", "context", "proof", "validity", "status"})


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


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(FILE_CHUNK):
            yield chunk


def _trust(chain: JsonRpcChain, pinned: list[str], consortium: str | None) -> IssuerTrust:
    sources: list[IssuerTrust] = [PinnedIssuers(pinned)]
    try:
        address = consortium or founding_consortium(chain)
    except NoConsortium:
        return AnyOf(sources)
    return AnyOf([*sources, ConsortiumTrust(chain, address)])


def verify(
    document_file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE", help="Credential or presentation (JSON or JWT), or a PDF letter."
        ),
    ],
    rpc: Annotated[
        list[str] | None,
        typer.Option(
            help="JSON-RPC URL of a node of the hub's chain; repeated, nodes of the other "
            "chains a letter's receipts name, matched by their chain id.",
            envvar="NOTARY_HUB_VERIFY_RPC_URL",
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
        typer.Option(help="The deposited file, or a capture's WACZ, checked against the letter."),
    ] = None,
    result_letter: Annotated[
        Path | None,
        typer.Option(help="The draw result letter (JSON) a winner's credential names."),
    ] = None,
    tsa_root: Annotated[
        list[str] | None,
        typer.Option(
            help="Root certificates a timestamp authority must chain to: a PEM file, or a URL "
            "serving PEM such as a letter's tsaCertificates (repeatable)."
        ),
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
    as_json: Annotated[bool, flag("--json", help="Machine-readable output.")] = False,
) -> None:
    """Verify a credential or presentation without the hub. Exit 0 only if valid."""
    with json_errors(as_json, verified=False):
        pdf = read_pdf(document_file)
        document = read_document(document_file) if pdf is None else None
        if pdf is None and _is_presentation(document) and (not challenge or not domain):
            fail(
                "missing_challenge",
                "a presentation is checked against the challenge and domain it must answer: "
                "pass --challenge C --domain D",
                2,
            )
        if not rpc:
            fail("missing_rpc", "a chain JSON-RPC URL is needed: --rpc URL", 2)
        lists, roots, pinned = _offline_inputs(status_list, tsa_root, file, issuer, trust_file)
        named = read_document(result_letter) if result_letter is not None else None
        inputs = _Inputs(lists, roots, pinned, file, challenge, domain, named)
        with cli_errors(), connected_chains(rpc) as (chain, others):
            inputs = replace(inputs, extra_chains=others)
            if pdf is not None:
                result, reports = _judge_pdf(chain, registry, consortium, inputs, pdf)
            else:
                result, reports = _judge(chain, registry, consortium, inputs, document)
    if pdf is None and _is_presentation(document):
        print_presentation(result, reports, as_json)
    else:
        print_credential(reports[0], as_json)
    raise typer.Exit(0 if result.verified else 1)


@dataclass(frozen=True)
class _Inputs:
    lists: list[dict[str, Any]]
    roots: list[x509.Certificate]
    pinned: list[str]
    file: Path | None
    challenge: str | None
    domain: str | None
    result_letter: Any = None  # a winner credential's result letter, as read
    extra_chains: Mapping[int, Chain] = field(default_factory=dict)  # further --rpc nodes


@dataclass(frozen=True)
class _Letters:
    """The letter checks: custody letters', draw letters' and capture letters'."""

    custody: LetterVerifier
    draws: DrawLetterVerifier
    captures: CaptureLetterVerifier
    result_letter: Any = None

    def check(self, credential: Any, file: Path | None) -> VerificationResult | None:
        """``credential``'s letter check, or ``None`` for a credential that is no letter."""
        if is_draw_letter(credential):
            named = self.result_letter if isinstance(self.result_letter, Mapping) else None
            return self.draws.verify(credential, result_letter=named)
        if is_capture_letter(credential):
            return self.captures.verify(credential, file)
        if file is not None or is_letter(credential):
            content = _chunks(file) if file is not None else None
            return self.custody.verify(credential, content=content)
        return None


def _letters(
    verifier: Verifier, chain: JsonRpcChain, trust: IssuerTrust, inputs: _Inputs
) -> _Letters:
    roots, others = inputs.roots, inputs.extra_chains
    custody = LetterVerifier(verifier, chain, trust=trust, tsa_roots=roots, extra_chains=others)
    draws = DrawLetterVerifier(verifier, chain, trust=trust, tsa_roots=roots)
    captures = CaptureLetterVerifier(
        verifier, chain, trust=trust, tsa_roots=roots, extra_chains=others
    )
    return _Letters(custody, draws, captures, inputs.result_letter)


def _judge(
    chain: JsonRpcChain,
    registry: str | None,
    consortium: str | None,
    inputs: _Inputs,
    document: Any,
) -> tuple[VerificationResult, list[Report]]:
    """The document's result and one report per credential (one, unless a presentation)."""
    verifier = _verifier(chain, registry, inputs.lists)
    trust = _trust(chain, inputs.pinned, consortium)
    letters = _letters(verifier, chain, trust, inputs)
    if not _is_presentation(document):
        report = _credential(verifier, letters, trust, document, inputs.file)
        return report.result, [report]
    result = verifier.verify_presentation(
        document, challenge=inputs.challenge, domain=inputs.domain
    )
    return result, _presented(verifier, letters, document, result, inputs.file)


def _judge_pdf(
    chain: JsonRpcChain,
    registry: str | None,
    consortium: str | None,
    inputs: _Inputs,
    pdf: bytes,
) -> tuple[VerificationResult, list[Report]]:
    """A PDF letter: its signature, timestamp and signer, then the letter it carries."""
    resolver = _resolver(chain, registry)
    verifier = Verifier(resolver, chain=chain, status_lists=StaticStatusLists(inputs.lists))
    trust = _trust(chain, inputs.pinned, consortium)
    letters = _letters(verifier, chain, trust, inputs)
    kinds = result_pdf_kind(letters.draws)  # a draw's result letter, besides custody letters
    wacz = inputs.file  # a capture letter's --file is its package

    def capture(credential: dict[str, Any]) -> VerificationResult:
        return letters.captures.verify(credential, wacz)

    kinds |= capture_pdf_kind(capture)
    pdfs = PdfLetterVerifier(letters.custody, resolver, tsa_roots=inputs.roots, kinds=kinds)
    content = _chunks(inputs.file) if inputs.file is not None else None
    result = pdfs.verify(pdf, content=content)  # NotAPdf: one line, through cli_errors
    credential = embedded_json(attachments_of(pdf), CREDENTIAL_FILE)
    return result, [Report(credential, result, inputs.file is not None, pdf=True)]


def _offline_inputs(
    status_list_sources: list[str] | None,
    tsa_root: list[str] | None,
    file: Path | None,
    issuer: list[str] | None,
    trust_file_path: Path | None,
) -> tuple[list[dict[str, Any]], list[x509.Certificate], list[str]]:
    """The status lists, TSA roots and pinned issuers, read before the chain is asked."""
    lists = [status_list(source) for source in status_list_sources or []]
    roots = [root for source in tsa_root or [] for root in tsa_roots(source)]
    if file is not None and not file.is_file():
        fail("file_not_found", f"{file} is not a file", 2)
    pinned = [*(issuer or []), *(trust_file(trust_file_path) if trust_file_path else [])]
    return lists, roots, pinned


def _resolver(chain: JsonRpcChain, registry: str | None) -> DispatchingResolver:
    """did:ethr through ``chain`` alone (its registry found from its logs), did:key offline."""
    source = DiscoveringSource(chain, registry=registry)
    return DispatchingResolver(
        {"ethr": EthrResolver({chain.chain_id: source}), "key": DidKeyResolver()}
    )


def _verifier(chain: JsonRpcChain, registry: str | None, lists: list[dict[str, Any]]) -> Verifier:
    """A verifier resolving did:ethr through ``chain`` alone (and did:key offline)."""
    resolver = _resolver(chain, registry)
    return Verifier(resolver, chain=chain, status_lists=StaticStatusLists(lists))


def _credential(
    verifier: Verifier,
    letters: _Letters,
    trust: IssuerTrust,
    document: Any,
    file: Path | None,
) -> Report:
    """A custody letter (with its file, if given), a draw letter, or another credential."""
    checked = letters.check(document, file)
    if checked is not None:
        return Report(document, checked, file is not None and not is_draw_letter(document))
    result = verifier.verify_credential(document)
    check_issuer_trust(result, trust, required=False)
    return Report(document, result)


def _presented(
    verifier: Verifier,
    letters: _Letters,
    presentation: Any,
    result: VerificationResult,
    file: Path | None,
) -> list[Report]:
    """One report per credential in ``presentation``; each letter's own checks (issuer
    trust, timestamp, anchor, a custody letter's file, a draw's record) merged into
    ``result``."""
    decoded = result.details.get("credentials")  # a vp+jwt's, decoded
    listed: Sequence[Any] = (
        decoded
        if isinstance(decoded, list)
        else credentials_of(presentation)
        if isinstance(presentation, Mapping)
        else []
    )
    reports = []
    for index, credential in enumerate(listed):
        prefix = f"verifiableCredential[{index}]."
        kinds = (is_letter, is_draw_letter, is_capture_letter)
        lettered = decoded is None and any(kind(credential) for kind in kinds)
        checked = letters.check(credential, file) if lettered else None
        if checked is not None:
            own = checked
            added = VerificationResult(
                checks=[c for c in own.checks if c not in GENERIC_CHECKS],
                errors=[p for p in own.errors if p.check not in GENERIC_CHECKS],
                warnings=[p for p in own.warnings if p.check not in GENERIC_CHECKS],
            )
            result.merge(added, prefix=prefix)
        else:
            own = verifier.verify_credential(credential)
        packaged = is_letter(credential) or is_capture_letter(credential)
        with_file = file is not None and decoded is None and packaged
        reports.append(Report(credential, _scoped(result, prefix, own), with_file))
    return reports


def _scoped(result: VerificationResult, prefix: str, own: VerificationResult) -> VerificationResult:
    """``result``'s checks under ``prefix`` (unprefixed), with ``own``'s details."""

    def mine(problems: list[Problem]) -> list[Problem]:
        return [
            Problem(p.check.removeprefix(prefix), p.code, p.message)
            for p in problems
            if p.check.startswith(prefix)
        ]

    scoped = VerificationResult(details=own.details, document=own.document)
    scoped.checks = [c.removeprefix(prefix) for c in result.checks if c.startswith(prefix)]
    scoped.errors, scoped.warnings = mine(result.errors), mine(result.warnings)
    return scoped
