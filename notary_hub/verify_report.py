"""What ``notary-hub verify`` prints: the verdict, what the document attests, the checks.

For a person: the verdict, then what a custody letter attests (its ``credentialSubject``:
title, file name, size, depositor, deposit time; a draw letter's draw, entrants, seed and
result root, or a winner's rank and tier; a capture letter's session, times, interruption,
package and key items; VC Data Model 2.0 §4.8,
https://www.w3.org/TR/vc-data-model-2.0/#credential-subject) once its proof holds, its
types as words and the full key id (the proof's ``verificationMethod``, Data Integrity
1.0 §2.1, https://www.w3.org/TR/vc-data-integrity/#proofs); the checks passed, those that
could not run because an earlier one failed, warnings and failures. A presentation
(§4.13) adds its holder, challenge and domain, and one such report per credential.
For a program (``--json``): the verify response body
(:meth:`credentials.verification.VerificationResult.to_body`).

Every value comes from the document or the chain: untrusted, printed through
:func:`notary_hub.cli_support.plain`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from credentials.verification import VerificationResult
from evidence.capture.capture_verification import (
    CAPTURE_CHECKS,
    CAPTURE_FILE_CHECKS,
    is_capture_letter,
)
from evidence.deposit.letter import CREDENTIAL_TYPE
from evidence.draw.letter_verification import (
    ENTRY_CHECKS,
    ENTRY_TYPE,
    RESULT_CHECKS,
    RESULT_TYPE,
    WINNER_CHECKS,
    WINNER_TYPE,
)
from notary_hub.cli_support import err, out, plain

# The checks a credential goes through, in order (credentials.verifier, issuer_trust).
CREDENTIAL_CHECKS = ("structure", "context", "proof", "validity", "status", "issuer")
LETTER_CHECKS = ("timestamp", "anchor")
PDF_CHECKS = ("pdfCredential", "pdfSignature", "pdfTimestamp", "pdfSigner", "pdfFacts")
CHECK_NAMES = {"issuer": "issuer trust"}
UNITS = {"size": "bytes", "hashChainLength": "entries"}
ATTESTED = (
    ("title", "title"),
    ("file name", "fileName"),
    ("size", "size"),
    ("depositor", "id"),
    ("deposited at", "receivedAt"),
)
DRAW_ATTESTED = {
    RESULT_TYPE: (
        ("draw", "drawId"),
        ("organiser", "id"),
        ("entrants", "entrantCount"),
        ("seed", "seed"),
        ("result root", "winnersDigestMultibase"),
    ),
    ENTRY_TYPE: (
        ("draw", "drawId"),
        ("entrant", "id"),
        ("entry index", "entryIndex"),
        ("entry leaf", "entryLeaf"),
        ("entrants", "entrantCount"),
    ),
    WINNER_TYPE: (
        ("draw", "drawId"),
        ("winner", "id"),
        ("rank", "rank"),
        ("tier", "tierName"),
        ("result letter", "drawResult"),
    ),
}

CAPTURE_ATTESTED = (
    ("capture", "captureId"),
    ("user", "id"),
    ("started at", "captureStartedAt"),
    ("ended at", "captureEndedAt"),
    ("interrupted", "captureInterrupted"),
    ("interrupted because", "interruptionReason"),
    ("page", "targetUrl"),
    ("package digest", "digestMultibase"),
    ("hash chain", "hashChainLength"),
)


Rows = list[tuple[str, str]]  # (label, value as plain() made it)


@dataclass(frozen=True)
class Report:
    """One credential's result, with the document it judged (decoded, for a JWT)."""

    document: Any
    result: VerificationResult
    with_file: bool = False
    pdf: bool = False  # the letter came in a PDF (evidence.letter_pdf.verify)


def types_of(document: Any) -> list[str]:
    kinds = document.get("type") if isinstance(document, Mapping) else None
    kinds = [kinds] if isinstance(kinds, str) else kinds
    return [k for k in kinds if isinstance(k, str)] if isinstance(kinds, list) else []


def is_letter(document: Any) -> bool:
    return CREDENTIAL_TYPE in types_of(document)


def expected_checks(report: Report) -> list[str]:
    """The checks ``report.document`` would go through if every earlier one passed."""
    document = report.result.document or report.document
    names = [c for c in CREDENTIAL_CHECKS if c != "context" or isinstance(report.document, dict)]
    if not isinstance(document, Mapping) or "credentialStatus" not in document:
        names.remove("status")
    if is_letter(document):
        names += [*LETTER_CHECKS, *(["file"] if report.with_file else [])]
    elif is_capture_letter(document):
        names += [*CAPTURE_CHECKS, *(CAPTURE_FILE_CHECKS if report.with_file else ())]
    kinds = types_of(document)
    if RESULT_TYPE in kinds:
        names += RESULT_CHECKS
    elif WINNER_TYPE in kinds:
        names += WINNER_CHECKS
    elif ENTRY_TYPE in kinds:
        names += ENTRY_CHECKS
    return [*names, *(PDF_CHECKS if report.pdf else ())]


def not_checked(report: Report) -> list[str]:
    """The expected checks that never ran (no pass, warning or failure recorded)."""
    result = report.result
    seen = {*result.checks, *(p.check for p in (*result.errors, *result.warnings))}
    return [CHECK_NAMES.get(c, c) for c in expected_checks(report) if c not in seen]


def _attested(document: Any, rows: Rows) -> None:
    subject = document.get("credentialSubject") if isinstance(document, Mapping) else None
    if not isinstance(subject, Mapping):
        return
    kinds = types_of(document)
    draws = (members for kind, members in DRAW_ATTESTED.items() if kind in kinds)
    listed: Sequence[tuple[str, str]] = ATTESTED if CREDENTIAL_TYPE in kinds else next(draws, ())
    listed = CAPTURE_ATTESTED if is_capture_letter(document) else listed
    for label, member in listed:
        value = subject.get(member)
        if value is None:
            continue
        shown = f"{value} {UNITS[member]}" if member in UNITS else value
        rows.append((label, plain(str(shown).lower() if isinstance(value, bool) else shown)))
    items = subject.get("keyItems")
    for item in items if isinstance(items, list) and is_capture_letter(document) else []:
        if isinstance(item, Mapping):
            line = f"{item.get('itemPath')} ({item.get('itemKind')}) {item.get('digestMultibase')}"
            rows.append(("key item", plain(line)))


def _signers(result: VerificationResult, rows: Rows) -> None:
    for proof in result.details.get("proofs", []):
        rows.append(
            ("signed by", plain(f"{proof['verificationMethod']} at {proof.get('created')}"))
        )
    if isinstance(result.details.get("verificationMethod"), str):  # a vc+jwt / vp+jwt
        rows.append(("signed by", plain(result.details["verificationMethod"])))


def print_rows(rows: Rows, indent: str = "") -> None:
    """One ``label  value`` line each, never wrapped: key ids and DIDs stay whole."""
    width = max((len(label) for label, _ in rows), default=0) + 2
    for label, value in rows:
        out.print(f"{indent}{label:<{width}}{value}")


def details_rows(report: Report) -> Rows:
    result, rows = report.result, []
    for key in ("issuer", "id"):
        if result.details.get(key):
            rows.append((key, plain(result.details[key])))
    kinds = types_of(result.document or report.document)
    if kinds:
        rows.append(("type", plain(", ".join(kinds))))
    if "proof" in result.checks:  # what the issuer signed, and only then
        _attested(result.document or report.document, rows)
    trust = result.details.get("issuerTrust")
    if isinstance(trust, dict):
        verdict = "trusted" if trust.get("trusted") else "NOT trusted"
        rows.append(("issuer trust", plain(f"{verdict}: {trust.get('reason')}")))
    _signers(result, rows)
    for status in result.details.get("status", []):
        state = "set" if status["status"] else "clear"
        line = f"{status['purpose']}: {state} (list version {status['listVersion']})"
        rows.append(("status", plain(line)))
    for key, value in result.details.get("evidence", {}).items():
        rows.append((plain(key), plain(value)))
    pdf = result.details.get("pdf", {})
    if pdf:
        rows.append(("pdf signed at", plain(pdf.get("signedAt"))))
        rows.append(("pdf certificate", plain(f"sha-256 {pdf.get('certificate')}")))
    return rows


def _lines(report: Report, indent: str = "", *, credential: bool = True) -> None:
    result = report.result
    passed = sorted(set(result.checks))
    if passed:
        out.print(f"{indent}passed: " + ", ".join(passed), markup=False)
    skipped = not_checked(report) if credential else []
    if skipped and not result.verified:
        out.print(f"{indent}not checked: " + ", ".join(skipped), markup=False)
    for warning in result.warnings:
        out.print(f"{indent}warning: {warning.check}: {warning.message}", markup=False)
    for problem in result.errors:
        err.print(
            f"{indent}failed: {problem.check}: {problem.code}: {problem.message}", markup=False
        )


def _verdict(result: VerificationResult) -> str:
    return "[bold green]VALID[/]" if result.verified else "[bold red]INVALID[/]"


def print_credential(report: Report, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(report.result.to_body(), indent=2) + "\n")
        return
    out.print(_verdict(report.result))
    print_rows(details_rows(report))
    _lines(report)


def presentation_members(result: VerificationResult) -> list[tuple[str, str]]:
    """Holder, challenge and domain, as proven (the proof's, or the vp+jwt's nonce / aud)."""
    document = result.document or {}
    proofs = document.get("proof", [])
    proof = (proofs[0] if proofs else {}) if isinstance(proofs, list) else proofs
    proof = proof if isinstance(proof, Mapping) else {}
    members = [
        ("holder", result.details.get("holder")),
        ("challenge", proof.get("challenge", document.get("nonce"))),
        ("domain", proof.get("domain", document.get("aud"))),
    ]
    return [(name, str(value)) for name, value in members if value]


def print_presentation(
    result: VerificationResult, reports: Sequence[Report], as_json: bool
) -> None:
    if as_json:
        sys.stdout.write(json.dumps(result.to_body(), indent=2) + "\n")
        return
    out.print(_verdict(result) + " presentation")
    rows = [(name, plain(value)) for name, value in presentation_members(result)]
    _signers(result, rows)
    print_rows(rows)
    for index, report in enumerate(reports):
        verdict = "valid" if report.result.verified else "INVALID"
        out.print(f"credential [{index}]: {verdict}", markup=False)
        print_rows(details_rows(report), indent="  ")
        _lines(report, indent="  ")
    _lines(Report(None, _own(result)), credential=False)


def _own(result: VerificationResult) -> VerificationResult:
    """The presentation's own checks: those not about a credential inside it."""
    mine = VerificationResult(details=result.details, document=result.document)
    mine.checks = [c for c in result.checks if not c.startswith("verifiableCredential[")]
    mine.errors = [p for p in result.errors if not p.check.startswith("verifiableCredential[")]
    mine.warnings = [p for p in result.warnings if not p.check.startswith("verifiableCredential[")]
    return mine  # the credentials' checks are printed with each credential
