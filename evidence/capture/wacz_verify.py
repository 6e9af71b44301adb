"""A third party's check of a signed capture WACZ, top down, naming the first failure.

Specs: WACZ 1.1.1 (https://specs.webrecorder.net/wacz/1.1.1/ § datapackage.json,
§ datapackage-digest.json) and WACZ Signing and Verification 0.1.0
(https://specs.webrecorder.net/wacz-auth/0.1.0/ § Verification). In order:

1. ``datapackage-digest.json`` and its ``signedData``: by a trusted key, over the digest's
   hash (:func:`evidence.capture.wacz_signing.verify_signed_data`);
2. ``datapackage.json`` has that SHA-256, and the signature's ``created``;
3. every resource it lists has its SHA-256 and size, and no file is unlisted.

Files are hashed in blocks; the two JSON files are size-capped before they are read.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from evidence.capture.errors import WaczVerificationFailed
from evidence.capture.wacz_signing import verify_signed_data

__all__ = ["WaczReport", "verify_wacz"]

DATAPACKAGE = "datapackage.json"
DIGEST = "datapackage-digest.json"
_MAX_DIGEST = 1 << 20
_MAX_DATAPACKAGE = 64 << 20
_BLOCK = 1 << 20


@dataclass(frozen=True)
class WaczReport:
    created: str
    datapackage_hash: str
    public_key: str
    software: str
    #: Every resource's path, as datapackage.json lists them.
    resources: tuple[str, ...]


def _fail(check: str, why: str) -> WaczVerificationFailed:
    return WaczVerificationFailed(f"{check}: {why}", check)


def _read_capped(wacz: zipfile.ZipFile, name: str, cap: int) -> bytes:
    try:
        info = wacz.getinfo(name)
    except KeyError:
        raise _fail(name, "missing from the package") from None
    if info.file_size > cap:
        raise _fail(name, f"larger than {cap} bytes")
    with wacz.open(info) as reader:
        data: bytes = reader.read(cap + 1)
    if len(data) > cap:
        raise _fail(name, f"larger than {cap} bytes")
    return data


def _json_object(data: bytes, name: str) -> dict[str, Any]:
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _fail(name, "not JSON") from None
    if not isinstance(value, dict):
        raise _fail(name, "not a JSON object")
    return value


def _sha256_of(wacz: zipfile.ZipFile, path: str) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with wacz.open(path) as reader:
        while block := reader.read(_BLOCK):
            digest.update(block)
            size += len(block)
    return "sha256:" + digest.hexdigest(), size


def _check_resource(wacz: zipfile.ZipFile, resource: object, names: set[str]) -> str:
    if not isinstance(resource, dict) or not isinstance(resource.get("path"), str):
        raise _fail(DATAPACKAGE, "a resource without a path")
    path: str = resource["path"]
    if path not in names:
        raise _fail(path, "listed in datapackage.json but missing from the package")
    try:
        actual, size = _sha256_of(wacz, path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise _fail(path, f"unreadable ({exc})") from None
    expected = resource.get("hash")
    if not isinstance(expected, str) or not hmac.compare_digest(actual, expected):
        raise _fail(path, "SHA-256 mismatch: the file was changed")
    if resource.get("bytes") != size:
        raise _fail(path, "size mismatch with datapackage.json")
    return path


def _check_files(wacz: zipfile.ZipFile, package: Mapping[str, Any]) -> tuple[str, ...]:
    resources = package.get("resources")
    if not isinstance(resources, list) or not resources:
        raise _fail(DATAPACKAGE, "no resources")
    names = set(wacz.namelist())
    paths = tuple(_check_resource(wacz, resource, names) for resource in resources)
    if len(set(paths)) != len(paths):
        raise _fail(DATAPACKAGE, "a resource is listed twice")
    unlisted = sorted(names - set(paths) - {DATAPACKAGE, DIGEST})
    if unlisted:
        raise _fail(unlisted[0], "in the package but not listed in datapackage.json")
    return paths


def _open(path: Path) -> zipfile.ZipFile:
    try:
        wacz = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise _fail("zip", f"not a readable ZIP file ({exc})") from None
    names = wacz.namelist()
    if len(set(names)) != len(names):
        wacz.close()
        raise _fail("zip", "two entries share a name")
    return wacz


def verify_wacz(path: Path, trusted_public_keys: Sequence[ec.EllipticCurvePublicKey]) -> WaczReport:
    """Check the WACZ at ``path`` signed by one of ``trusted_public_keys``; raises
    :class:`WaczVerificationFailed` whose ``check`` names the first failing file or
    check (``signature``, ``datapackage.json``, a resource's path, ``zip``)."""
    with _open(path) as wacz:
        digest = _json_object(_read_capped(wacz, DIGEST, _MAX_DIGEST), DIGEST)
        hash = digest.get("hash")
        if digest.get("path") != DATAPACKAGE or not isinstance(hash, str):
            raise _fail(DIGEST, "not a digest of datapackage.json")
        signed = verify_signed_data(digest.get("signedData"), hash, trusted_public_keys)
        data = _read_capped(wacz, DATAPACKAGE, _MAX_DATAPACKAGE)
        if not hmac.compare_digest("sha256:" + hashlib.sha256(data).hexdigest(), hash):
            raise _fail(DATAPACKAGE, "SHA-256 mismatch with datapackage-digest.json")
        package = _json_object(data, DATAPACKAGE)
        if package.get("created") != signed["created"]:
            raise _fail(DATAPACKAGE, "created differs from the signature's")
        paths = _check_files(wacz, package)
    return WaczReport(
        created=str(signed["created"]),
        datapackage_hash=hash,
        public_key=str(signed["publicKey"]),
        software=str(signed.get("software", "")),
        resources=paths,
    )
