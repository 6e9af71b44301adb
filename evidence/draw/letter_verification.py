"""Verifying a draw's letters without the hub: the result letter and a winner's credential.

Issue 14 item 8; the values checked are those of ``docs/draw-algorithm.md`` §3.1 (the
commitment), §3.2 (the reveal) and §5 (the result). As for a custody letter
(:mod:`evidence.deposit.letter_verification`), each party is checked on its own, each
step a named check:

``proof``, ``issuer``, ...
    the generic credential checks (:class:`credentials.verifier.Verifier`), and the issuer
    must be trusted (a notary the consortium admitted, or a DID the verifier pinned):
    genuine evidence copied into a credential of one's own proves nothing.
``anchor``
    the ``ChainAnchorEvidence``'s ``anchorReceipt`` is the draw's record in the
    ``DrawRegistry`` (:mod:`evidence.draw.registry`): its contract on this chain holds the
    registry's code, its ``drawKey`` is the letter's draw's
    (:func:`~evidence.draw.chain_record.draw_key`), and every value it lists is the
    chain's (a receipt copied from another draw's letter names another key).
``drawRecord``
    what the subject claims is what the chain recorded: the entrants' root and count, the
    seed and the result root of a result letter; a winner's result root.
``timestamp``
    a result letter's RFC 3161 token is over the commitment the letter describes
    (:func:`~evidence.draw.committing.commitment_digest`: the draw id, configuration hash,
    candidate root, count, beacon round and notary commitment); its TSA chain is trusted
    when it ends in a root the verifier names, else a warning, as for custody letters.
An entrant's ``DrawEntryReceiptCredential`` (:mod:`evidence.draw.receipt_credentials`)
goes through ``anchor`` and ``drawRecord`` over the commitment alone (the entrants' root
and count; it may predate the result).

``resultLetter``
    a winner's credential, given the result letter it names: that letter verifies, is the
    one named (``drawResult``), of the same draw, with the same result root.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from cryptography import x509

from chain_adapter.errors import ChainError
from chain_adapter.protocol import Chain
from credentials.errors import CredentialError, MalformedCredential, ProofError
from credentials.issuer_trust import IssuerTrust, check_issuer_trust
from credentials.jsonld.contexts import NOTARY_HUB_V1, NOTARY_HUB_V2
from credentials.verification import Problem, VerificationResult
from credentials.verifier import Verifier
from evidence.deposit.letter_verification import (
    EvidenceMismatch,
    check_context_digests,
    multibase_bytes,
    types_of,
)
from evidence.draw.chain_record import draw_key
from evidence.draw.letter_claims import (
    LetterClaims,
    commitment_of,
    letter_claims,
    receipt_values,
    subject_digest,
    subject_of,
)
from evidence.draw.letter_pdf import result_rows
from evidence.draw.letters import CREDENTIAL_TYPE as RESULT_TYPE
from evidence.draw.receipt_credentials import CREDENTIAL_TYPE as ENTRY_TYPE
from evidence.draw.registry import DrawRecord, DrawRegistry
from evidence.draw.winner_letters import CREDENTIAL_TYPE as WINNER_TYPE
from evidence.errors import EvidenceError
from evidence.letter_pdf.errors import LetterNotSignable
from evidence.letter_pdf.verify import LetterKind
from evidence.timestamping.verify import verify_token

__all__ = [
    "DRAW_LETTER_TYPES",
    "ENTRY_CHECKS",
    "ENTRY_TYPE",
    "RESULT_CHECKS",
    "RESULT_TYPE",
    "WINNER_CHECKS",
    "WINNER_TYPE",
    "DrawLetterVerifier",
    "DrawRecordMismatch",
    "is_draw_letter",
    "receipt_values",
    "result_pdf_kind",
]

DRAW_LETTER_TYPES = (RESULT_TYPE, WINNER_TYPE, ENTRY_TYPE)
# The checks a draw letter adds to a credential's, in order (for the report).
RESULT_CHECKS = ("anchor", "drawRecord", "timestamp")
WINNER_CHECKS = ("anchor", "drawRecord")
ENTRY_CHECKS = ("anchor", "drawRecord")


class DrawRecordMismatch(ProofError):
    """A draw letter's claim that is not what the draw registry on chain recorded."""

    code = "DRAW_RECORD_MISMATCH"


def is_draw_letter(document: Any) -> bool:
    return any(kind in DRAW_LETTER_TYPES for kind in types_of(document))


class DrawLetterVerifier:
    """A ``DrawResultCredential``, ``DrawWinnerCredential`` or ``DrawEntryReceiptCredential``
    checked against ``chain``."""

    def __init__(
        self,
        verifier: Verifier,
        chain: Chain,
        *,
        trust: IssuerTrust,
        tsa_roots: Sequence[x509.Certificate] = (),
    ) -> None:
        self._verifier = verifier
        self._chain = chain
        self._trust = trust
        self._roots = list(tsa_roots)

    def verify(
        self, letter: Any, *, result_letter: Mapping[str, Any] | None = None
    ) -> VerificationResult:
        """The credential's checks, then the draw's (a winner's with its ``result_letter``,
        when given)."""
        result = self._verifier.verify_credential(letter)
        check_issuer_trust(result, self._trust, required=True)
        winner = WINNER_TYPE in types_of(letter)
        entry = ENTRY_TYPE in types_of(letter)
        if not isinstance(letter, Mapping) or not is_draw_letter(letter):
            result.fail("evidence", MalformedCredential("not a draw letter"))
            return result
        try:
            context = NOTARY_HUB_V2 if winner or entry else NOTARY_HUB_V1
            claims = letter_claims(letter, context, entry=entry)
        except CredentialError as exc:
            result.fail("evidence", exc)
            return result
        check_context_digests(letter, result)
        record = self._record(claims, result)
        if record is not None:
            self._subject(claims, record, winner, result)
        if winner:
            if result_letter is not None:
                self._result_letter(claims, result_letter, result)
        elif not entry:
            self._timestamps(claims, result)
        return result

    def _record(self, claims: LetterClaims, result: VerificationResult) -> DrawRecord | None:
        """The draw's record on chain, if the receipt is it (``anchor``)."""
        receipt = claims.receipt
        key = draw_key(claims.draw_id).hex()
        if receipt.get("chainId") != self._chain.chain_id:
            named = str(receipt.get("chainId"))[:40]
            result.fail("anchor", EvidenceMismatch(f"recorded on chain {named}, not this one"))
            return None
        if not isinstance(receipt.get("drawKey"), str) or receipt["drawKey"] != key:
            result.fail("anchor", EvidenceMismatch("the chain record is another draw's"))
            return None
        try:
            registry = DrawRegistry.attach(self._chain, str(receipt.get("contract")))
            record = registry.record(bytes.fromhex(key))
        except (ChainError, EvidenceError, ValueError) as exc:
            found = EvidenceMismatch(f"the draw registry could not be read: {exc}"[:300])
            result.fail("anchor", found)
            return None
        with_result = claims.result_root is not None
        if record is None or (with_result and record.result is None):
            what = "result" if record is not None else "commitment"
            result.fail("anchor", EvidenceMismatch(f"the registry holds no {what} of this draw"))
            return None
        values = receipt_values(record, with_result=with_result)
        differing = [k for k, v in values.items() if receipt.get(k) != v]
        if differing:
            listed = ", ".join(differing)
            result.fail("anchor", EvidenceMismatch(f"the chain recorded other {listed}"))
            return None
        result.passed("anchor")
        seen = f"draw registry {registry.address}: committed in block {record.committed_block}"
        if with_result and record.result is not None:
            when = datetime.fromtimestamp(record.result.published_at, UTC).isoformat()
            seen += f", result in block {record.result.published_block} at {when}"
        result.details.setdefault("evidence", {})["anchor"] = seen
        return record

    def _subject(
        self, claims: LetterClaims, record: DrawRecord, winner: bool, result: VerificationResult
    ) -> None:
        """What the subject claims against the record (``drawRecord``)."""
        if claims.result_root is None:
            self._entry(claims.subject, record, result)
            return
        assert record.result is not None
        wrong = []
        if not hmac.compare_digest(claims.result_root, record.result.result_root):
            wrong.append("result root (winnersDigestMultibase)")
        if not winner:
            subject = claims.subject
            try:
                entrants = subject_digest(subject, "entrantsDigestMultibase")
            except CredentialError as exc:
                result.fail("drawRecord", exc)
                return
            if entrants != record.commitment.candidate_root:
                wrong.append("candidate root (entrantsDigestMultibase)")
            if subject.get("entrantCount") != record.commitment.count:
                wrong.append("entrant count")
            if subject.get("seed") != record.result.seed.hex():
                wrong.append("seed")
        if wrong:
            message = f"the draw registry recorded another {', '.join(wrong)}"
            result.fail("drawRecord", DrawRecordMismatch(message))
            return
        result.passed("drawRecord")

    @staticmethod
    def _entry(subject: Mapping[str, Any], record: DrawRecord, result: VerificationResult) -> None:
        """An entry receipt's list: the committed root and count, an index inside it."""
        try:
            entrants = subject_digest(subject, "entrantsDigestMultibase")
        except CredentialError as exc:
            result.fail("drawRecord", exc)
            return
        count, index = record.commitment.count, subject.get("entryIndex")
        wrong = []
        if not hmac.compare_digest(entrants, record.commitment.candidate_root):
            wrong.append("candidate root (entrantsDigestMultibase)")
        if subject.get("entrantCount") != count:
            wrong.append("entrant count")
        if type(index) is not int or not 0 <= index < count:
            wrong.append("list, without this entry's index")
        if wrong:
            message = f"the draw registry recorded another {', '.join(wrong)}"
            result.fail("drawRecord", DrawRecordMismatch(message))
            return
        result.passed("drawRecord")

    def _timestamps(self, claims: LetterClaims, result: VerificationResult) -> None:
        if not claims.stamps:
            result.fail("timestamp", EvidenceMismatch("the letter carries no RFC 3161 timestamp"))
        try:
            digest = commitment_of(claims)
        except CredentialError as exc:
            result.fail("timestamp", exc)
            return
        for index, stamp in enumerate(claims.stamps):
            self._timestamp(stamp, digest, index, result)

    def _timestamp(
        self, stamp: Mapping[str, Any], digest: bytes, index: int, result: VerificationResult
    ) -> None:
        try:
            token = multibase_bytes(stamp.get("timeStampToken"), "timeStampToken")
            verified = verify_token(token, digest, trust_roots=self._roots or None)
        except CredentialError as exc:
            result.fail("timestamp", exc)
            return
        except EvidenceError as exc:
            result.fail("timestamp", EvidenceMismatch(f"over another commitment: {exc.message}"))
            return
        result.passed("timestamp")
        result.details.setdefault("evidence", {})[f"timestamp[{index}]"] = (
            f"{verified.gen_time.isoformat()} by {verified.tsa_subject}"
        )
        if not verified.chain_trusted:
            result.warnings.append(
                Problem(
                    "timestamp",
                    "UNTRUSTED_TSA",
                    f"the TSA chain of {verified.tsa_subject} ends in a root no --tsa-root "
                    "names: to trust it, pass --tsa-root <url or file>",
                )
            )

    def _result_letter(
        self, claims: LetterClaims, letter: Mapping[str, Any], result: VerificationResult
    ) -> None:
        """The result letter a winner's credential names (``resultLetter``)."""
        own = self.verify(letter)
        failed = next(iter(own.errors), None)
        problem = None
        if RESULT_TYPE not in types_of(letter):
            problem = "it is not a DrawResultCredential"
        elif failed is not None:
            problem = f"it does not verify: {failed.check}: {failed.message}"
        elif letter.get("id") != claims.subject.get("drawResult"):
            problem = "it is not the one the credential names (drawResult)"
        elif subject_of(letter).get("drawId") != claims.draw_id:
            problem = "it is another draw's"
        elif subject_of(letter).get("winnersDigestMultibase") != claims.subject.get(
            "winnersDigestMultibase"
        ):
            problem = "its result root is another"
        if problem is not None:
            result.fail("resultLetter", DrawRecordMismatch(f"the result letter: {problem}"))
            return
        result.passed("resultLetter")


def result_pdf_kind(letters: DrawLetterVerifier) -> dict[str, LetterKind]:
    """How :class:`~evidence.letter_pdf.verify.PdfLetterVerifier` reads the result letter's
    PDF (:mod:`evidence.draw.letter_pdf`): this check, and the rows its page shows."""

    def facts(credential: dict[str, Any]) -> dict[str, Any]:
        try:
            return dict(result_rows(credential))
        except (KeyError, TypeError, AttributeError, EvidenceError) as exc:
            raise LetterNotSignable(f"not a result letter's page: {exc}") from None

    return {RESULT_TYPE: LetterKind(check=letters.verify, facts=facts)}
