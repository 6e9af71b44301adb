"""Verifying a custody letter (保管函) without the hub: credential, timestamp, anchor, file.

Trust comes from three independent parties, each checked here on its own:

1. the notary's signature — the generic credential verifier
   (:class:`credentials.verifier.Verifier`: proof, validity, status);
2. the timestamp authority — each ``RFC3161TimestampEvidence`` token must
   time-stamp the letter's SHA-256 (RFC 3161 §2.4.2, checked with rfc3161-client by
   :func:`evidence.timestamping.verify_token`); its chain is trusted when it ends in
   a root the verifier names, and reported (a warning) when it only ends in the
   root the token carries;
3. the consortium chain — each ``ChainAnchorEvidence`` receipt must verify against
   the chain (:func:`chain_adapter.anchoring.verify.verify_receipt`) and its leaf must
   be the content's SHA-256 (the leaf the deposit pipeline anchors). A letter carries a
   receipt per chain the root was anchored on (issue 16): each is checked on a node of
   its own chain id; one whose chain no node serves is reported unchecked (a warning
   naming the chain), and a letter none of whose receipts could be checked fails.

Genuine evidence proves nothing about who wrote the letter around it: anyone can
copy a real token and receipt into a credential of their own. So a letter is
valid only from an issuer the verifier trusts
(:func:`credentials.issuer_trust.check_issuer_trust`, required): a notary the
consortium admitted as of the proof's time, or a DID the verifier pinned. And its
``type`` must mean the hub's term, so it must use the hub's context; when the letter
records that context's digest (``relatedResource``, VC Data Model 2.0 §5.3), our
bundled copy must match it (``contextDigest``).

With the file itself, its SHA-256 and SM3 must equal ``digestMultibase`` and
``sm3DigestMultibase``: the bytes in hand are the bytes deposited.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from cryptography import x509

from chain_adapter.anchoring.receipt import AnchorReceipt
from chain_adapter.anchoring.verify import verify_receipt
from chain_adapter.errors import ChainError
from chain_adapter.protocol import Chain
from credentials.errors import CredentialError, MalformedCredential, ProofError
from credentials.issuer_trust import IssuerTrust, check_issuer_trust
from credentials.jsonld.context_integrity import bundled_context_mismatches
from credentials.jsonld.contexts import NOTARY_HUB_V1
from credentials.verification import Problem, VerificationResult
from credentials.verifier import Verifier
from evidence.deposit.letter import ANCHOR_EVIDENCE_TYPE, CREDENTIAL_TYPE, TIMESTAMP_EVIDENCE_TYPE
from evidence.deposit.pipeline import anchor_leaf
from evidence.digests import SHA256, SM3, DeclaredDigest, Digests, MultiDigest, parse_digest
from evidence.errors import EvidenceError
from evidence.timestamping.verify import verify_token

FILE_CHUNK = 1 << 20


class EvidenceMismatch(ProofError):
    """Evidence in a letter that does not hold: a token, a receipt or a file."""

    code = "EVIDENCE_ERROR"


class ContextMismatch(ProofError):
    """A context whose recorded digest (``relatedResource``) is not our copy's."""

    code = "CONTEXT_DIGEST_MISMATCH"


def types_of(value: Any) -> list[str]:
    kinds = value.get("type") if isinstance(value, Mapping) else None
    kinds = [kinds] if isinstance(kinds, str) else kinds
    return [k for k in kinds if isinstance(k, str)] if isinstance(kinds, list) else []


def _declared(subject: Mapping[str, Any], member: str, algorithm: str) -> DeclaredDigest:
    value = subject.get(member)
    if not isinstance(value, str):
        raise MalformedCredential(f"credentialSubject.{member} is missing")
    try:
        return parse_digest(value, algorithm)
    except EvidenceError as exc:
        raise MalformedCredential(f"credentialSubject.{member}: {exc.message}") from None


def multibase_bytes(value: Any, member: str) -> bytes:
    if not isinstance(value, str) or not value.startswith("u"):
        raise MalformedCredential(f"{member} must be multibase base64url ('u')")
    body = value[1:]
    try:
        return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except ValueError:
        raise MalformedCredential(f"{member} is not base64url") from None


def check_context_digests(letter: Mapping[str, Any], result: VerificationResult) -> None:
    """VC Data Model 2.0 §5.3: a ``relatedResource`` naming a context of the letter must
    carry the digest of our bundled copy (``contextDigest``). Letters without one (issued
    before the hub recorded it) pass unchecked."""
    if "relatedResource" not in letter:
        return
    try:
        problems = bundled_context_mismatches(letter)
    except CredentialError as exc:
        result.fail("contextDigest", exc)
        return
    for problem in problems:
        result.fail("contextDigest", ContextMismatch(problem))
    if not problems:
        result.passed("contextDigest")


def digests_of(chunks: Iterable[bytes]) -> MultiDigest:
    digest = MultiDigest()
    for chunk in chunks:
        digest.update(chunk)
    return digest


class LetterVerifier:
    def __init__(
        self,
        verifier: Verifier,
        chain: Chain,
        *,
        trust: IssuerTrust,
        tsa_roots: Sequence[x509.Certificate] = (),
        extra_chains: Mapping[int, Chain] | None = None,
    ) -> None:
        """``extra_chains``: nodes of further chains by chain id, asked about the receipts
        anchored there (issue 16); a receipt of a chain no node serves is reported
        unchecked (a warning), never passed."""
        self._verifier = verifier
        self._chain = chain
        self._chains = {**(extra_chains or {}), chain.chain_id: chain}
        self._trust = trust
        self._roots = list(tsa_roots)

    def verify(
        self,
        letter: Any,
        *,
        content: Iterable[bytes] | None = None,
        digests: Digests | None = None,
    ) -> VerificationResult:
        """The credential's checks, then ``timestamp``, ``anchor`` and, given the file's
        ``content`` (or its ``digests``, computed while it streamed in), ``file``."""
        result = self._verifier.verify_credential(letter)
        check_issuer_trust(result, self._trust, required=True)
        if not isinstance(letter, Mapping) or CREDENTIAL_TYPE not in types_of(letter):
            result.fail("evidence", MalformedCredential(f"not a {CREDENTIAL_TYPE}"))
            return result
        contexts = letter.get("@context")
        if not isinstance(contexts, list) or NOTARY_HUB_V1 not in contexts:
            needed = MalformedCredential(f"a letter's @context names {NOTARY_HUB_V1}")
            result.fail("evidence", needed)
            return result
        check_context_digests(letter, result)
        subject = letter.get("credentialSubject")
        if not isinstance(subject, Mapping):
            result.fail("evidence", MalformedCredential("the letter has no credentialSubject"))
            return result
        try:
            sha256 = _declared(subject, "digestMultibase", SHA256)
        except CredentialError as exc:
            result.fail("evidence", exc)
            return result
        evidence = letter.get("evidence")
        listed = evidence if isinstance(evidence, list) else [evidence]
        entries: list[Mapping[str, Any]] = [e for e in listed if isinstance(e, Mapping)]
        summary: dict[str, Any] = {"sha256": sha256.value.hex()}
        stamps = [e for e in entries if TIMESTAMP_EVIDENCE_TYPE in types_of(e)]
        anchors = [e for e in entries if ANCHOR_EVIDENCE_TYPE in types_of(e)]
        if not stamps:
            result.fail("timestamp", EvidenceMismatch("the letter carries no RFC 3161 timestamp"))
        for index, stamp in enumerate(stamps):
            self.check_timestamp(stamp, sha256.value, index, result, summary)
        self.check_anchors(anchors, sha256.value, result, summary)
        if content is not None:
            digests = digests_of(content).finalize()
        if digests is not None:
            self._file(subject, sha256, digests, result, summary)
        result.details["evidence"] = summary
        return result

    def check_timestamp(
        self,
        stamp: Mapping[str, Any],
        digest: bytes,
        index: int,
        result: VerificationResult,
        summary: dict[str, Any],
    ) -> None:
        """``timestamp``: ``stamp``'s token is over ``digest``, from a TSA chain we trust
        (else a warning); also the capture letter's check (:mod:`evidence.capture`)."""
        try:
            token = multibase_bytes(stamp.get("timeStampToken"), "timeStampToken")
            verified = verify_token(token, digest, trust_roots=self._roots or None)
        except CredentialError as exc:
            result.fail("timestamp", exc)
            return
        except EvidenceError as exc:
            result.fail("timestamp", EvidenceMismatch(exc.message))
            return
        result.passed("timestamp")
        summary[f"timestamp[{index}]"] = (
            f"{verified.gen_time.isoformat()} by {verified.tsa_subject}"
        )
        if not verified.chain_trusted:
            named = stamp.get("tsaCertificates")
            where = f" (the letter names {named[:500]})" if isinstance(named, str) else ""
            result.warnings.append(
                Problem(
                    "timestamp",
                    "UNTRUSTED_TSA",
                    f"the TSA chain of {verified.tsa_subject} ends in a root no --tsa-root "
                    f"names: to trust it, pass --tsa-root <url or file>{where}",
                )
            )

    def check_anchors(
        self,
        anchors: Sequence[Mapping[str, Any]],
        digest: bytes,
        result: VerificationResult,
        summary: dict[str, Any],
    ) -> None:
        """``anchor``: every receipt (one per chain) checked on its chain's node; receipts
        of chains no node serves reported unchecked; at least one must be checked."""
        if not anchors:
            result.fail("anchor", EvidenceMismatch("the letter carries no chain anchor receipt"))
            return
        unchecked = [
            chain_id
            for index, anchor in enumerate(anchors)
            if (chain_id := self.check_anchor(anchor, digest, index, result, summary)) is not None
        ]
        if unchecked:
            result.details["uncheckedAnchors"] = unchecked
        if len(unchecked) == len(anchors):
            served = ", ".join(str(chain_id) for chain_id in sorted(self._chains))
            result.fail(
                "anchor",
                EvidenceMismatch(
                    f"no anchor receipt could be checked: anchored on chain "
                    f"{', '.join(map(str, unchecked))}, the nodes given serve {served}"
                ),
            )

    def check_anchor(
        self,
        anchor: Mapping[str, Any],
        digest: bytes,
        index: int,
        result: VerificationResult,
        summary: dict[str, Any],
    ) -> int | None:
        """``anchor``: ``anchor``'s receipt holds on its chain and its leaf is ``digest``.
        The receipt's chain id when no node of that chain was given (unchecked), else None."""
        try:
            receipt = AnchorReceipt.from_json(anchor.get("anchorReceipt"))
        except ChainError as exc:
            result.fail("anchor", EvidenceMismatch(f"the anchor receipt is malformed: {exc}"))
            return None
        if not hmac.compare_digest(receipt.leaf, anchor_leaf(digest)):
            result.fail(
                "anchor", EvidenceMismatch("the anchored leaf is not this content's digest")
            )
            return None
        if anchor.get("chainId", receipt.chain_id) != receipt.chain_id:
            result.fail("anchor", EvidenceMismatch("the evidence's chainId is not its receipt's"))
            return None
        chain = self._chains.get(receipt.chain_id)
        if chain is None:
            result.warnings.append(
                Problem(
                    "anchor",
                    "UNCHECKED_ANCHOR",
                    f"the receipt anchored on chain {receipt.chain_id} was not checked: "
                    f"no node of chain {receipt.chain_id} was given",
                )
            )
            summary[f"anchor[{index}]"] = f"chain {receipt.chain_id}: not checked"
            return receipt.chain_id
        try:
            checked = verify_receipt(receipt, chain)
        except ChainError as exc:
            result.fail("anchor", EvidenceMismatch(f"the chain could not be asked: {exc}"))
            return None
        if not checked.valid:
            # A receipt of another chain than the hub's names its chain in its failures.
            extra = receipt.chain_id != self._chain.chain_id
            prefix = f"chain {receipt.chain_id}: " if extra else ""
            for error in checked.errors:
                result.fail("anchor", EvidenceMismatch(prefix + error))
            return None
        result.passed("anchor")
        when = datetime.fromtimestamp(receipt.block_timestamp, UTC).isoformat()
        summary[f"anchor[{index}]"] = (
            f"block {receipt.block_number} at {when} on chain {receipt.chain_id}"
        )
        return None

    def _file(
        self,
        subject: Mapping[str, Any],
        sha256: DeclaredDigest,
        digests: Digests,
        result: VerificationResult,
        summary: dict[str, Any],
    ) -> None:
        if not digests.matches(sha256):
            result.fail("file", EvidenceMismatch("the file's SHA-256 is not the letter's"))
            return
        if "sm3DigestMultibase" in subject:
            try:
                sm3 = _declared(subject, "sm3DigestMultibase", SM3)
            except CredentialError as exc:
                result.fail("file", exc)
                return
            if not digests.matches(sm3):
                result.fail("file", EvidenceMismatch("the file's SM3 is not the letter's"))
                return
        size = subject.get("size")
        if isinstance(size, int) and size != digests.size:
            result.fail("file", EvidenceMismatch(f"the file is {digests.size} bytes, not {size}"))
            return
        result.passed("file")
        summary["file"] = f"{digests.size} bytes match"
