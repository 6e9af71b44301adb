"""The court bundle: one ZIP archive a court clerk can open, read and check.

Issue 12 §6. It holds the holder's presentation (bound to the court's challenge and
domain), the original file, the custody letter as a signed PDF, a ``SHA256SUMS``
manifest (``sha256sum -c`` format) and a README in plain words saying what each part is
and how to check it with nothing but a node of the consortium chain.

Trust boundary: the bundle asserts nothing by itself. Every part carries its own proof
(the presentation's holder signature, the letter's notary signature and RFC 3161 token,
the PDF's PAdES signature, the anchor receipt); the manifest only lets a clerk see that
the archive arrived whole. The writer refuses an original whose SHA-256 is not the one
the letter certifies, so a holder cannot bundle the wrong file by mistake.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from hub_kernel.errors import HubError
from hub_kernel.multiformats import multibase_decode

SHA256_MULTIHASH_PREFIX = b"\x12\x20"  # multihash code 0x12 (sha2-256), 32 bytes
_CHUNK = 1 << 20


class BundleError(HubError):
    code = "invalid_bundle"
    status_code = 400


@dataclass(frozen=True)
class BundleParts:
    """What goes into the archive."""

    presentation: Mapping[str, Any] | str  # a Data Integrity VP, or a vp+jwt
    letter: Mapping[str, Any]  # the custody letter inside the presentation
    original: Path
    letter_pdf: bytes
    challenge: str
    domain: str


def certified_sha256(letter: Mapping[str, Any]) -> bytes:
    """The SHA-256 the letter's subject certifies (``digestMultibase``, VC DI §2.6)."""
    subject = letter.get("credentialSubject")
    value = subject.get("digestMultibase") if isinstance(subject, Mapping) else None
    if not isinstance(value, str):
        raise BundleError("the credential certifies no file digest: it is not a custody letter")
    raw = multibase_decode(value)
    if len(raw) != 34 or not raw.startswith(SHA256_MULTIHASH_PREFIX):
        raise BundleError("the letter's digestMultibase is not a SHA-256 multihash")
    return raw[2:]


def file_sha256(path: Path) -> bytes:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.digest()


def _original_name(parts: BundleParts) -> str:
    subject = parts.letter.get("credentialSubject")
    named = subject.get("fileName") if isinstance(subject, Mapping) else None
    # Only a base name: a letter's fileName must never place a file outside original/.
    name = PurePosixPath(str(named or parts.original.name).replace("\\", "/")).name
    return name if name not in ("", ".", "..") else "original"


def readme(parts: BundleParts, original: str, presentation_file: str) -> str:
    subject = parts.letter.get("credentialSubject")
    subject = subject if isinstance(subject, Mapping) else {}
    issuer = parts.letter.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    return f"""COURT BUNDLE / 法院证据包

What this is
------------
This archive holds a file deposited with a notary, the notary's custody letter for it,
and a presentation in which the holder of that letter hands it to this court.

  {presentation_file:<28} the holder's presentation, signed by the holder, bound to
                               this court's challenge and domain (below)
  original/{original:<19} the original file, exactly as deposited
  letter.pdf                   the custody letter for people to read, signed by the
                               notary (PAdES) with the credential attached inside
  SHA256SUMS                   the SHA-256 of every part (run: sha256sum -c SHA256SUMS)

Depositor (holder) : {subject.get("id", "")}
File               : {original}  ({subject.get("size", "?")} bytes)
Letter id          : {parts.letter.get("id", "")}
Notary             : {issuer_id or ""}
Challenge          : {parts.challenge}
Domain             : {parts.domain}

How to check it
---------------
You need a node of the consortium chain (its JSON-RPC URL), and the notary-hub
command. You do not need the notary: nothing here asks it anything.

1. The presentation: the holder signed it for this court, and the letter inside it is
   genuine, unrevoked and from a notary the consortium admitted:
     notary-hub verify {presentation_file} --challenge '{parts.challenge}' \\
         --domain '{parts.domain}' --rpc RPC_URL
2. The file and the printable letter: the PDF's signature is the notary's, the letter
   attached to it is valid, and the file is the one it certifies (SHA-256, SM3, size):
     notary-hub verify letter.pdf --file 'original/{original}' --rpc RPC_URL
3. Optionally, that the archive is whole:
     sha256sum -c SHA256SUMS

Any check that fails prints the reason. A presentation made for another court
(another challenge or domain) fails step 1.

本证据包包含：存证原始文件、公证机构签发的存证函（PDF，内含可验证凭证），以及持有人为本院
出示的可验证表述（绑定本院的挑战值与域名）。按上述步骤，仅凭联盟链节点即可独立核验，无需联系公证机构。
"""


def write_court_bundle(target: Path, parts: BundleParts) -> list[str]:
    """Write the archive atomically at ``target``; the member names, in order."""
    if not parts.original.is_file():
        raise BundleError(f"{parts.original} is not a file")
    expected = certified_sha256(parts.letter)
    if not hmac.compare_digest(file_sha256(parts.original), expected):
        raise BundleError(
            f"{parts.original.name} is not the file this letter certifies (SHA-256 differs)"
        )
    if not parts.letter_pdf.startswith(b"%PDF-"):
        raise BundleError("the letter PDF is not a PDF")
    original = _original_name(parts)
    if isinstance(parts.presentation, str):
        presentation_file, presentation = "presentation.jwt", parts.presentation.encode()
    else:
        presentation_file = "presentation.json"
        presentation = json.dumps(parts.presentation, indent=2, ensure_ascii=False).encode()
    sums = [
        (presentation_file, hashlib.sha256(presentation).hexdigest()),
        (f"original/{original}", expected.hex()),
        ("letter.pdf", hashlib.sha256(parts.letter_pdf).hexdigest()),
    ]
    manifest = "".join(f"{digest}  {name}\n" for name, digest in sums)
    partial = target.with_name(f".{target.name}.partial")
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("README.txt", readme(parts, original, presentation_file))
            archive.writestr(presentation_file, presentation)
            archive.write(parts.original, f"original/{original}")
            archive.writestr("letter.pdf", parts.letter_pdf)
            archive.writestr("SHA256SUMS", manifest)
            names = archive.namelist()
        os.chmod(partial, 0o600)  # it holds the original: the holder's to hand over
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return names
