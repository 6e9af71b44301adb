"""The court bundle writer (issue 12 §6): what a clerk receives, and what it refuses."""

from __future__ import annotations

import hashlib
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

from hub_kernel.multiformats import multibase_encode
from wallet.court_bundle import BundleError, BundleParts, certified_sha256, write_court_bundle

PDF = b"%PDF-1.7\n% a signed letter stands here\n%%EOF\n"


def letter_for(content: bytes, file_name: str = "contract.pdf") -> dict[str, Any]:
    digest = hashlib.sha256(content).digest()
    return {
        "id": "urn:uuid:5f6c2b0e-0000-4000-8000-000000000001",
        "issuer": "did:ethr:0x539:0x0000000000000000000000000000000000000001",
        "credentialSubject": {
            "id": "did:key:z6MkholderHolder",
            "fileName": file_name,
            "size": len(content),
            "digestMultibase": multibase_encode(b"\x12\x20" + digest),
        },
    }


def parts(tmp_path: Path, content: bytes, letter: dict[str, Any]) -> BundleParts:
    original = tmp_path / "contract.pdf"
    original.write_bytes(content)
    vp = {"type": ["VerifiablePresentation"], "verifiableCredential": [letter]}
    return BundleParts(vp, letter, original, PDF, challenge="c-123", domain="court.example")


def test_the_bundle_holds_every_part_and_a_manifest_sha256sum_accepts(tmp_path: Path) -> None:
    content = b"the deposited contract"
    target = tmp_path / "case.zip"
    names = write_court_bundle(target, parts(tmp_path, content, letter_for(content)))
    assert names == [
        "README.txt",
        "presentation.json",
        "original/contract.pdf",
        "letter.pdf",
        "SHA256SUMS",
    ]
    out = tmp_path / "out"
    with zipfile.ZipFile(target) as archive:
        archive.extractall(out)
    assert (out / "original" / "contract.pdf").read_bytes() == content
    readme = (out / "README.txt").read_text(encoding="utf-8")
    assert "--challenge 'c-123'" in readme and "--domain 'court.example'" in readme
    assert "notary-hub verify letter.pdf --file 'original/contract.pdf'" in readme
    checked = subprocess.run(
        ["sha256sum", "-c", "SHA256SUMS"], cwd=out, capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert target.stat().st_mode & 0o777 == 0o600


def test_a_file_the_letter_does_not_certify_is_refused_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    target = tmp_path / "case.zip"
    with pytest.raises(BundleError, match="not the file this letter certifies"):
        write_court_bundle(target, parts(tmp_path, b"another file", letter_for(b"the original")))
    assert list(tmp_path.glob("*.zip")) == [] and list(tmp_path.glob(".*partial")) == []


def test_a_letter_file_name_cannot_escape_the_original_folder(tmp_path: Path) -> None:
    content = b"x"
    target = tmp_path / "case.zip"
    names = write_court_bundle(
        target, parts(tmp_path, content, letter_for(content, "../../etc/passwd"))
    )
    assert "original/passwd" in names and not any(".." in name for name in names)


def test_a_credential_without_a_sha256_digest_is_not_a_custody_letter() -> None:
    with pytest.raises(BundleError, match="not a custody letter"):
        certified_sha256({"credentialSubject": {"id": "did:example:1"}})
    sha512 = multibase_encode(b"\x13\x40" + bytes(64))
    with pytest.raises(BundleError, match="not a SHA-256"):
        certified_sha256({"credentialSubject": {"digestMultibase": sha512}})


def test_a_pdf_that_is_not_a_pdf_is_refused(tmp_path: Path) -> None:
    content = b"y"
    bad = parts(tmp_path, content, letter_for(content))
    bad = BundleParts(bad.presentation, bad.letter, bad.original, b"<html>", "c", "d")
    with pytest.raises(BundleError, match="not a PDF"):
        write_court_bundle(tmp_path / "case.zip", bad)
