"""The notary's WACZ signature (WACZ Signing and Verification, anonymous variant) and the
top-down check of a signed WACZ: genuine packages verify (and pass `wacz validate`, and
ReplayWeb.page's WebCrypto check for P-384), and every tampering is refused with the
failing file or check named."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from evidence.capture.errors import InvalidWaczInput, WaczVerificationFailed
from evidence.capture.wacz_package import BuiltWacz, build_wacz
from evidence.capture.wacz_signing import REPLAYWEB_CURVE, WaczSigner, public_key_base64
from evidence.capture.wacz_verify import verify_wacz
from testkit.npm import NODE
from tests.evidence.capture.capture_support import (
    CaptureFiles,
    capture_files,
    rewrite_zip,
    wacz_validate,
)
from tests.evidence.timestamping_support import hub_tsa

WEBCRYPTO_CHECK = Path(__file__).parents[2] / "interop" / "wacz_signature_webcrypto.mjs"
NOTARY_KEY = ec.generate_private_key(REPLAYWEB_CURVE())
TRUSTED = [NOTARY_KEY.public_key()]


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> CaptureFiles:
    authority, _ = hub_tsa(tmp_path_factory.mktemp("tsa"))
    return capture_files(tmp_path_factory.mktemp("capture"), authority)


def _build(
    capture: CaptureFiles, output: Path, key: ec.EllipticCurvePrivateKey = NOTARY_KEY
) -> BuiltWacz:
    return build_wacz(
        output,
        [capture.warc],
        pages=capture.pages,
        resources=capture.resources,
        signer=WaczSigner(key),
    )


@pytest.fixture(scope="module")
def signed(capture: CaptureFiles, tmp_path_factory: pytest.TempPathFactory) -> BuiltWacz:
    return _build(capture, tmp_path_factory.mktemp("signed") / "capture.wacz")


def _signed_data(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as wacz:
        data: dict[str, str] = json.loads(wacz.read("datapackage-digest.json"))["signedData"]
    return data


def _refused(path: Path) -> WaczVerificationFailed:
    with pytest.raises(WaczVerificationFailed) as caught:
        verify_wacz(path, TRUSTED)
    return caught.value


def test_a_signed_wacz_verifies(signed: BuiltWacz, capture: CaptureFiles) -> None:
    report = verify_wacz(signed.path, TRUSTED)
    assert report.created == signed.created == signed.datapackage["created"]
    assert report.datapackage_hash == signed.datapackage_hash
    assert report.public_key == public_key_base64(NOTARY_KEY.public_key())
    assert set(report.resources) >= {r.path for r in capture.resources}
    data = _signed_data(signed.path)
    assert set(data) == {"hash", "created", "software", "signature", "publicKey"}
    assert len(base64.b64decode(data["signature"])) == 96  # P-384: r || s, 48 bytes each


def test_the_wacz_validator_accepts_the_signed_package(signed: BuiltWacz) -> None:
    done = wacz_validate(signed.path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Has signature" in done.stdout


def _webcrypto(signed_data: dict[str, str]) -> dict[str, object]:
    done = subprocess.run(
        [NODE, str(WEBCRYPTO_CHECK)],
        input=json.dumps(signed_data),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


@pytest.mark.skipif(not Path(NODE).exists(), reason="node is not installed")
def test_replaywebpage_webcrypto_check_accepts_a_p384_signature(signed: BuiltWacz) -> None:
    data = _signed_data(signed.path)
    assert _webcrypto(data) == {"verified": True}
    other = "1" if data["hash"].endswith("0") else "0"  # a digit that changes the hash
    assert _webcrypto({**data, "hash": data["hash"][:-1] + other}) == {"verified": False}


@pytest.mark.skipif(not Path(NODE).exists(), reason="node is not installed")
def test_replaywebpage_refuses_to_import_a_p256_key() -> None:
    """Why the notary's WACZ key is P-384: ReplayWeb.page imports it as P-384, so a P-256
    signature, though valid (it verifies here), never verifies there."""
    key = ec.generate_private_key(ec.SECP256R1())
    data = WaczSigner(key).sign("sha256:" + "ab" * 32, "2026-01-01T00:00:00Z")
    assert len(base64.b64decode(data["signature"])) == 64
    assert _webcrypto(data) == {"error": "DataError"}


def test_a_p256_signed_wacz_verifies_here(capture: CaptureFiles, tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    built = _build(capture, tmp_path / "p256.wacz", key)
    assert verify_wacz(built.path, [key.public_key()]).datapackage_hash == built.datapackage_hash


def test_only_p256_and_p384_keys_sign() -> None:
    with pytest.raises(InvalidWaczInput, match="P-256 or P-384"):
        WaczSigner(ec.generate_private_key(ec.SECP521R1()))


# -- attacks -------------------------------------------------------------------------------


def test_a_changed_file_is_named(signed: BuiltWacz, tmp_path: Path) -> None:
    forged = rewrite_zip(
        signed.path, tmp_path / "f.wacz", {"originals/terms.pdf": b"%PDF-1.7 other terms"}
    )
    error = _refused(forged)
    assert error.check == "originals/terms.pdf" and "SHA-256 mismatch" in error.message


def test_a_changed_datapackage_is_named(signed: BuiltWacz, tmp_path: Path) -> None:
    # The attacker changes a file and lists its new hash: the digest no longer matches.
    with zipfile.ZipFile(signed.path) as wacz:
        package = json.loads(wacz.read("datapackage.json"))
    new_pdf = b"%PDF-1.7 other terms"
    for resource in package["resources"]:
        if resource["path"] == "originals/terms.pdf":
            resource["hash"] = "sha256:" + hashlib.sha256(new_pdf).hexdigest()
            resource["bytes"] = len(new_pdf)
    forged = rewrite_zip(
        signed.path,
        tmp_path / "f.wacz",
        {"originals/terms.pdf": new_pdf, "datapackage.json": json.dumps(package).encode()},
    )
    error = _refused(forged)
    assert (
        error.check == "datapackage.json"
        and "mismatch with datapackage-digest.json" in error.message
    )


def test_a_signature_by_another_key_is_refused(capture: CaptureFiles, tmp_path: Path) -> None:
    other = _build(capture, tmp_path / "other.wacz", ec.generate_private_key(REPLAYWEB_CURVE()))
    error = _refused(other.path)
    assert error.check == "signature" and "not trusted" in error.message


def test_a_forged_signature_under_the_trusted_key_is_refused(
    signed: BuiltWacz, tmp_path: Path
) -> None:
    with zipfile.ZipFile(signed.path) as wacz:
        digest = json.loads(wacz.read("datapackage-digest.json"))
    # The notary's own signature of another datapackage, replayed onto this one.
    replayed = WaczSigner(NOTARY_KEY).sign("sha256:" + "00" * 32, digest["signedData"]["created"])
    digest["signedData"]["signature"] = replayed["signature"]
    forged = rewrite_zip(
        signed.path, tmp_path / "f.wacz", {"datapackage-digest.json": json.dumps(digest).encode()}
    )
    error = _refused(forged)
    assert error.check == "signature" and "does not verify" in error.message


def test_a_swapped_digest_file_is_named(
    signed: BuiltWacz, capture: CaptureFiles, tmp_path: Path
) -> None:
    # A genuine digest file, signed by the notary, of another package (another title: two
    # builds within one second would otherwise be the same package).
    other = build_wacz(
        tmp_path / "other.wacz",
        [capture.warc],
        pages=capture.pages,
        resources=capture.resources,
        title="another capture",
        signer=WaczSigner(NOTARY_KEY),
    )
    with zipfile.ZipFile(other.path) as wacz:
        swapped = wacz.read("datapackage-digest.json")
    forged = rewrite_zip(signed.path, tmp_path / "f.wacz", {"datapackage-digest.json": swapped})
    error = _refused(forged)
    assert (
        error.check == "datapackage.json"
        and "mismatch with datapackage-digest.json" in error.message
    )


def test_an_unsigned_wacz_is_refused(capture: CaptureFiles, tmp_path: Path) -> None:
    unsigned = build_wacz(tmp_path / "u.wacz", [capture.warc], pages=capture.pages)
    error = _refused(unsigned.path)
    assert error.check == "signature" and "no signedData" in error.message


def test_an_unlisted_file_is_named(signed: BuiltWacz, tmp_path: Path) -> None:
    forged = rewrite_zip(
        signed.path, tmp_path / "f.wacz", add={"originals/planted.pdf": b"%PDF-1.7"}
    )
    error = _refused(forged)
    assert error.check == "originals/planted.pdf" and "not listed" in error.message


def test_not_a_zip_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.wacz"
    path.write_bytes(b"not a zip")
    assert _refused(path).check == "zip"
