"""Verifying a capture letter and its WACZ as a court would: offline, with a chain node.

Issue 15 item 8. The letter is :mod:`evidence.capture.capture_letter`'s; as for a custody
letter (:mod:`evidence.deposit.letter_verification`, whose checks are reused), each party
is checked on its own and each step is a named check, the first failure named:

``proof``, ``issuer``, ...
    the generic credential checks; the issuer must be trusted (a notary the consortium
    admitted, or a DID the verifier pinned), else genuine evidence copied into a letter
    of one's own would pass.
``timestamp``, ``anchor``
    the RFC 3161 token is over the package's SHA-256 and the anchor receipt's leaf is it,
    on this chain (the deposit letter's checks).

Given the package (each step only once the one before holds; files are streamed):

``package``
    the file's SHA-256 is the letter's ``digestMultibase``.
``wacz``
    :func:`evidence.capture.wacz_verify.verify_wacz` with the letter's ``waczPublicKey``
    as the only trusted key (the notary's proof vouches for it), every file against
    ``datapackage.json``, which is the one the letter names.
``hashChain``
    the chain file in the package verifies (``docs/capture-hash-chain.md`` §4, its RFC
    3161 tokens included, through the verifier's TSA roots or, without them, the root of
    the letter's own token, with a warning) and ends in the letter's head and length.
``items``
    the pre-flight report and every key item of the letter are files of the package
    with those SHA-256s.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key

from chain_adapter.protocol import Chain
from credentials.errors import CredentialError, MalformedCredential
from credentials.issuer_trust import IssuerTrust, check_issuer_trust
from credentials.jsonld.contexts import NOTARY_HUB_V1, NOTARY_HUB_V2
from credentials.verification import Problem, VerificationResult
from credentials.verifier import Verifier
from evidence.capture.capture_letter import CREDENTIAL_TYPE
from evidence.capture.chain_entry import ChainEntry, parse_line
from evidence.capture.chain_verify import verify_chain
from evidence.capture.errors import CaptureChainBroken, CaptureError
from evidence.capture.wacz_verify import DATAPACKAGE, WaczReport, verify_wacz
from evidence.deposit.letter import ANCHOR_EVIDENCE_TYPE, TIMESTAMP_EVIDENCE_TYPE
from evidence.deposit.letter_verification import (
    FILE_CHUNK,
    EvidenceMismatch,
    LetterVerifier,
    check_context_digests,
    multibase_bytes,
    types_of,
)
from evidence.digests import SHA256, parse_digest
from evidence.errors import EvidenceError
from evidence.timestamping.verify import verify_token

__all__ = [
    "CAPTURE_CHECKS",
    "CAPTURE_FILE_CHECKS",
    "CaptureClaims",
    "CaptureLetterVerifier",
    "capture_claims",
    "is_capture_letter",
]

# The checks a capture letter adds to a credential's, in order (for the report).
CAPTURE_CHECKS = ("timestamp", "anchor")
CAPTURE_FILE_CHECKS = ("package", "wacz", "hashChain", "items")
_MAX_LINE = 1 << 20  # a chain line: members, a token and its certificates
_MAX_DATAPACKAGE = 64 << 20
_HEX64 = re.compile(r"[0-9a-f]{64}\Z")


def is_capture_letter(document: Any) -> bool:
    return CREDENTIAL_TYPE in types_of(document)


@dataclass(frozen=True)
class CaptureClaims:
    """What the letter's subject states, parsed; digests are raw SHA-256."""

    package: bytes
    datapackage: bytes
    preflight: bytes
    key: ec.EllipticCurvePublicKey
    chain_path: str
    chain_head: str
    chain_length: int
    #: (path, SHA-256) of each key item.
    items: tuple[tuple[str, bytes], ...]


def _sha256(subject: Mapping[str, Any], member: str) -> bytes:
    value = subject.get(member)
    if not isinstance(value, str):
        raise MalformedCredential(f"credentialSubject.{member} is missing")
    try:
        return parse_digest(value, SHA256).value
    except EvidenceError as exc:
        raise MalformedCredential(f"credentialSubject.{member}: {exc.message}") from None


def _key(value: Any) -> ec.EllipticCurvePublicKey:
    try:
        key = load_der_public_key(base64.b64decode(str(value), validate=True))
    except (binascii.Error, ValueError):
        raise MalformedCredential("credentialSubject.waczPublicKey is not DER SPKI") from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise MalformedCredential("credentialSubject.waczPublicKey is not an ECDSA key")
    return key


def _items(listed: Any) -> tuple[tuple[str, bytes], ...]:
    if listed is None:
        return ()
    if not isinstance(listed, list) or not all(isinstance(i, Mapping) for i in listed):
        raise MalformedCredential("credentialSubject.keyItems is a list of items")
    items = []
    for item in listed:
        if not isinstance(item.get("itemPath"), str):
            raise MalformedCredential("a key item without its itemPath")
        items.append((item["itemPath"], _sha256(item, "digestMultibase")))
    return tuple(items)


def capture_claims(subject: Any) -> CaptureClaims:
    if not isinstance(subject, Mapping):
        raise MalformedCredential("the letter has no credentialSubject")
    head, length = subject.get("hashChainHead"), subject.get("hashChainLength")
    path = subject.get("hashChainPath")
    if not isinstance(head, str) or type(length) is not int or not isinstance(path, str):
        raise MalformedCredential("credentialSubject names no hash chain path, head and length")
    if not _HEX64.match(head):
        raise MalformedCredential("credentialSubject.hashChainHead is not 64 hex digits")
    return CaptureClaims(
        package=_sha256(subject, "digestMultibase"),
        datapackage=_sha256(subject, "datapackageDigestMultibase"),
        preflight=_sha256(subject, "preflightDigestMultibase"),
        key=_key(subject.get("waczPublicKey")),
        chain_path=path,
        chain_head=head,
        chain_length=length,
        items=_items(subject.get("keyItems")),
    )


def _file_sha256(path: Path) -> tuple[bytes, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(FILE_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.digest(), size


def _chain_entries(reader: IO[bytes]) -> Iterator[ChainEntry]:
    seq = 0
    while line := reader.readline(_MAX_LINE + 1):
        if not line.endswith(b"\n"):
            raise CaptureChainBroken(f"chain entry {seq}: a torn or oversized line", seq)
        yield parse_line(line, seq)
        seq += 1


def _self_signed(certificates: Sequence[bytes]) -> list[x509.Certificate]:
    loaded = [x509.load_der_x509_certificate(der) for der in certificates]
    return [c for c in loaded if c.issuer == c.subject]


class CaptureLetterVerifier:
    """An ``EvidenceCaptureCredential`` and its WACZ, checked against ``chain``."""

    def __init__(
        self,
        verifier: Verifier,
        chain: Chain,
        *,
        trust: IssuerTrust,
        tsa_roots: Sequence[x509.Certificate] = (),
        extra_chains: Mapping[int, Chain] | None = None,
    ) -> None:
        self._verifier = verifier
        self._trust = trust
        self._roots = list(tsa_roots)
        self._evidence = LetterVerifier(
            verifier, chain, trust=trust, tsa_roots=tsa_roots, extra_chains=extra_chains
        )

    def verify(self, letter: Any, wacz: Path | None = None) -> VerificationResult:
        """The credential's checks, ``timestamp`` and ``anchor``; with the ``wacz``
        package, ``package``, ``wacz``, ``hashChain`` and ``items``."""
        result = self._verifier.verify_credential(letter)
        check_issuer_trust(result, self._trust, required=True)
        claims = self._claims(letter, result)
        if claims is None:
            return result
        summary: dict[str, Any] = {"sha256": claims.package.hex()}
        listed = letter.get("evidence")
        listed = listed if isinstance(listed, list) else [listed]
        entries = [e for e in listed if isinstance(e, Mapping)]
        stamps = [e for e in entries if TIMESTAMP_EVIDENCE_TYPE in types_of(e)]
        anchors = [e for e in entries if ANCHOR_EVIDENCE_TYPE in types_of(e)]
        if not stamps:
            result.fail("timestamp", EvidenceMismatch("the letter carries no RFC 3161 timestamp"))
        for index, stamp in enumerate(stamps):
            self._evidence.check_timestamp(stamp, claims.package, index, result, summary)
        self._evidence.check_anchors(anchors, claims.package, result, summary)
        result.details["evidence"] = summary
        if wacz is not None:
            self._package(claims, wacz, stamps, result, summary)
        return result

    @staticmethod
    def _claims(letter: Any, result: VerificationResult) -> CaptureClaims | None:
        if not isinstance(letter, Mapping) or not is_capture_letter(letter):
            result.fail("evidence", MalformedCredential(f"not an {CREDENTIAL_TYPE}"))
            return None
        contexts = letter.get("@context")
        if not isinstance(contexts, list) or not {NOTARY_HUB_V1, NOTARY_HUB_V2} <= set(
            c for c in contexts if isinstance(c, str)
        ):
            needed = f"a capture letter's @context names {NOTARY_HUB_V1} and {NOTARY_HUB_V2}"
            result.fail("evidence", MalformedCredential(needed))
            return None
        check_context_digests(letter, result)
        try:
            return capture_claims(letter.get("credentialSubject"))
        except CredentialError as exc:
            result.fail("evidence", exc)
            return None

    def _package(
        self,
        claims: CaptureClaims,
        path: Path,
        stamps: Sequence[Mapping[str, Any]],
        result: VerificationResult,
        summary: dict[str, Any],
    ) -> None:
        """The package steps in order; a step runs only once the one before holds."""
        digest, size = _file_sha256(path)
        if not hmac.compare_digest(digest, claims.package):
            result.fail("package", EvidenceMismatch("the package's SHA-256 is not the letter's"))
            return
        result.passed("package")
        summary["package"] = f"{size} bytes match"
        try:
            report = verify_wacz(path, [claims.key])
        except CaptureError as exc:
            result.fail("wacz", EvidenceMismatch(exc.message))
            return
        if not hmac.compare_digest(report.datapackage_hash, "sha256:" + claims.datapackage.hex()):
            result.fail(
                "wacz", EvidenceMismatch("datapackage.json is not the one the letter names")
            )
            return
        result.passed("wacz")
        summary["wacz"] = f"signed {report.created}; {len(report.resources)} files match"
        if self._chain(claims, path, report, stamps, result, summary):
            self._items(claims, path, result)

    def _chain_roots(
        self, claims: CaptureClaims, stamps: Sequence[Mapping[str, Any]], result: VerificationResult
    ) -> list[x509.Certificate]:
        """The verifier's TSA roots; without them, the root of the letter's own token."""
        if self._roots:
            return self._roots
        try:
            token = multibase_bytes(stamps[0].get("timeStampToken") if stamps else None, "token")
            roots = _self_signed(verify_token(token, claims.package).certificates)
        except (CredentialError, EvidenceError, ValueError):
            return []  # the timestamp check failed already; the chain's tokens will too
        result.warnings.append(
            Problem(
                "hashChain",
                "UNTRUSTED_TSA",
                "the chain's tokens were checked against the root of the letter's own token, "
                "which no --tsa-root names",
            )
        )
        return roots

    def _chain(
        self,
        claims: CaptureClaims,
        path: Path,
        report: WaczReport,
        stamps: Sequence[Mapping[str, Any]],
        result: VerificationResult,
        summary: dict[str, Any],
    ) -> bool:
        if claims.chain_path not in report.resources:
            result.fail("hashChain", EvidenceMismatch(f"no {claims.chain_path} in the package"))
            return False
        roots = self._chain_roots(claims, stamps, result)
        try:
            with zipfile.ZipFile(path) as package, package.open(claims.chain_path) as reader:
                chain = verify_chain(_chain_entries(reader), roots)
        except CaptureError as exc:
            result.fail("hashChain", EvidenceMismatch(exc.message))
            return False
        if chain.length != claims.chain_length or not hmac.compare_digest(
            chain.head, claims.chain_head
        ):
            found = f"the chain ends at entry {chain.length - 1} ({chain.head[:16]}...)"
            result.fail("hashChain", EvidenceMismatch(f"{found}, not the letter's head"))
            return False
        result.passed("hashChain")
        last = chain.stamps[-1].gen_time.isoformat() if chain.stamps else "-"
        summary["hashChain"] = f"{chain.length} entries, {len(chain.stamps)} stamps, last {last}"
        return True

    @staticmethod
    def _items(claims: CaptureClaims, path: Path, result: VerificationResult) -> None:
        try:
            hashes = _resource_hashes(path, claims.datapackage)
        except CaptureError as exc:
            result.fail("items", EvidenceMismatch(exc.message))
            return
        problem = None
        if "sha256:" + claims.preflight.hex() not in hashes.values():
            problem = "the pre-flight report the letter names is not a file of the package"
        for item_path, digest in claims.items:
            if problem is None and hashes.get(item_path) != "sha256:" + digest.hex():
                problem = f"key item {item_path[:200]} is not a file of the package with its hash"
        if problem is not None:
            result.fail("items", EvidenceMismatch(problem))
            return
        result.passed("items")


def _resource_hashes(path: Path, datapackage: bytes) -> dict[str, str]:
    """Each resource's ``hash`` in ``datapackage.json``, read again: it must still be the
    one the ``wacz`` step checked (SHA-256 ``datapackage``)."""
    with zipfile.ZipFile(path) as package, package.open(DATAPACKAGE) as reader:
        data = reader.read(_MAX_DATAPACKAGE + 1)
    if len(data) > _MAX_DATAPACKAGE or hashlib.sha256(data).digest() != datapackage:
        raise CaptureError("datapackage.json changed since it was checked")
    resources = json.loads(data).get("resources", [])
    return {str(r.get("path")): str(r.get("hash")) for r in resources if isinstance(r, dict)}
