"""What a deposit request says: its metadata and the digests it declares, checked.

The same fields arrive as JSON members (a digest-only deposit) or as the text parts
of a multipart/form-data upload (RFC 7578; the ``tags`` and ``digests`` parts then
hold JSON text, or ``tags`` a comma-separated list):

- ``title``, ``description``: text without control characters (a description may
  hold line breaks and tabs);
- ``tags``: up to 32 short strings;
- ``mediaType``: an RFC 6838 §4.2 ``type/subtype`` (parameters are dropped);
- ``fileName``: a plain file name (:func:`evidence.multipart.check_file_name`);
- ``sha256`` / ``sm3``: the content's digest, in hex or as a multibase multihash;
  ``digests``: ``{"<algorithm>": "<hex or multibase>"}`` for the same with names
  from :data:`evidence.digests.HASH_ALGORITHMS`; ``digestMultibase`` a multihash
  naming its own algorithm (VC Data Model 2.0 §5.3). Any other algorithm is
  :class:`UnsupportedHashAlgorithm`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from python_multipart.multipart import parse_options_header

from evidence.deposit.models import (
    DESCRIPTION_MAX_LENGTH,
    IDEMPOTENCY_KEY_MAX_LENGTH,
    MEDIA_TYPE_MAX_LENGTH,
    TITLE_MAX_LENGTH,
)
from evidence.digests import SHA256, SM3, DeclaredDigest, hash_algorithm, parse_digest
from evidence.errors import InvalidDeposit, UnsupportedHashAlgorithm
from evidence.multipart import check_file_name

MAX_TAGS = 32
TAG_MAX_LENGTH = 64
DIGEST_FIELDS = ("sha256", "sm3", "digests", "digestMultibase")
METADATA_FIELDS = ("title", "description", "tags", "mediaType", "fileName")
# RFC 6838 §4.2: restricted-name = 1*127 restricted-name-chars, starting alphanumeric.
_NAME = r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}"
_MEDIA_TYPE = re.compile(f"{_NAME}/{_NAME}")
# draft-ietf-httpapi-idempotency-key-header §2: an sf-string (RFC 8941 §3.3.3); the bare
# tokens many clients send are taken as well. Visible ASCII only, bounded.
_IDEMPOTENCY_KEY = re.compile(rf"[\x21-\x7e]{{1,{IDEMPOTENCY_KEY_MAX_LENGTH}}}")


@dataclass(frozen=True, slots=True)
class DepositMetadata:
    title: str | None = None
    description: str | None = None
    tags: tuple[str, ...] = ()
    media_type: str | None = None
    file_name: str | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class DeclaredDigests:
    """Digests the depositor declared; for an upload each must match the content."""

    sha256: bytes | None = None
    sm3: bytes | None = None

    def merged(self, declared: DeclaredDigest) -> DeclaredDigests:
        name = "sha256" if declared.algorithm == SHA256 else "sm3"
        current: bytes | None = getattr(self, name)
        if current is not None and not hmac.compare_digest(current, declared.value):
            raise InvalidDeposit(f"two different {declared.algorithm} digests are declared")
        if declared.algorithm == SHA256:
            return DeclaredDigests(declared.value, self.sm3)
        return DeclaredDigests(self.sha256, declared.value)


def parse_deposit_request(
    fields: Mapping[str, Any], *, idempotency_key: str | None = None, from_form: bool = False
) -> tuple[DepositMetadata, DeclaredDigests]:
    """Check ``fields`` (JSON members or form fields) and split them into metadata and digests."""
    for name in fields:
        if name not in METADATA_FIELDS and name not in DIGEST_FIELDS:
            _unknown_field(name)
    metadata = DepositMetadata(
        title=_text(fields.get("title"), "title", TITLE_MAX_LENGTH),
        description=_text(
            fields.get("description"), "description", DESCRIPTION_MAX_LENGTH, multiline=True
        ),
        tags=_tags(fields.get("tags"), from_form=from_form),
        media_type=media_type(fields.get("mediaType")),
        file_name=_file_name(fields.get("fileName")),
        idempotency_key=check_idempotency_key(idempotency_key),
    )
    return metadata, _digests(fields, from_form=from_form)


def check_idempotency_key(key: str | None) -> str | None:
    if key is None:
        return None
    if len(key) >= 2 and key[0] == key[-1] == '"':
        key = key[1:-1]
    if not _IDEMPOTENCY_KEY.fullmatch(key):
        raise InvalidDeposit(
            f"an Idempotency-Key is 1 to {IDEMPOTENCY_KEY_MAX_LENGTH} visible ASCII characters"
        )
    return key


def media_type(value: object) -> str | None:
    """An RFC 6838 ``type/subtype``, lowercased; parameters such as ``charset`` are dropped."""
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MEDIA_TYPE_MAX_LENGTH:
        raise InvalidDeposit(f"mediaType must be a string of at most {MEDIA_TYPE_MAX_LENGTH}")
    essence = parse_options_header(value)[0].decode("latin-1")
    if not _MEDIA_TYPE.fullmatch(essence):
        raise InvalidDeposit(f"mediaType {value[:80]!r} is not a type/subtype media type")
    return essence


def _unknown_field(name: str) -> None:
    # A hash name (md5, sha1, sha512, ...) is a digest in an algorithm we do not take.
    if name.lower().replace("-", "") in {a.replace("-", "") for a in hashlib.algorithms_available}:
        raise UnsupportedHashAlgorithm(
            f"hash algorithm {name!r} is not supported (declare sha256 and/or sm3)"
        )
    raise InvalidDeposit(f"unknown deposit field {name[:40]!r}")


def _text(value: object, name: str, limit: int, *, multiline: bool = False) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidDeposit(f"{name} must be a string")
    if len(value) > limit:
        raise InvalidDeposit(f"{name} is longer than {limit} characters")
    allowed = {"\n", "\r", "\t"} if multiline else set()
    for char in value:
        if char not in allowed and unicodedata.category(char) in {"Cc", "Cf", "Cs"}:
            raise InvalidDeposit(f"{name} contains the control character {char!r}")
    return value


def _tags(value: object, *, from_form: bool) -> tuple[str, ...]:
    if value is None:
        return ()
    if from_form and isinstance(value, str):
        text = value.strip()
        if not text:
            return ()
        if text.startswith("["):
            value = _json(text, "tags")
        else:
            value = [tag.strip() for tag in text.split(",")]
    if not isinstance(value, list) or len(value) > MAX_TAGS:
        raise InvalidDeposit(f"tags must be a list of at most {MAX_TAGS} strings")
    tags: list[str] = []
    for tag in value:
        checked = _text(tag, "a tag", TAG_MAX_LENGTH)
        if not checked:
            raise InvalidDeposit("a tag must be a non-empty string")
        if checked not in tags:
            tags.append(checked)
    return tuple(tags)


def _file_name(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidDeposit("fileName must be a string")
    return check_file_name(value)


def _digests(fields: Mapping[str, Any], *, from_form: bool) -> DeclaredDigests:
    declared = DeclaredDigests()
    for name, algorithm in (("sha256", SHA256), ("sm3", SM3)):
        value = fields.get(name)
        if value is not None:
            declared = declared.merged(parse_digest(_string(value, name), algorithm, name))
    multibase = fields.get("digestMultibase")
    if multibase is not None:
        declared = declared.merged(
            parse_digest(_string(multibase, "digestMultibase"), field="digestMultibase")
        )
    table = fields.get("digests")
    if table is not None:
        if from_form and isinstance(table, str):
            table = _json(table, "digests")
        if not isinstance(table, dict):
            raise InvalidDeposit('digests must be an object {"<algorithm>": "<digest>"}')
        for algorithm, value in table.items():
            spec = hash_algorithm(algorithm)  # UnsupportedHashAlgorithm for anything else
            declared = declared.merged(
                parse_digest(_string(value, algorithm), spec.name, f"digests.{algorithm}")
            )
    return declared


def _string(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise InvalidDeposit(f"the {name} digest must be a string")
    return value


def _json(text: str, name: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise InvalidDeposit(f"the {name} field is not valid JSON") from None
