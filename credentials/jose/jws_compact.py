"""The JWS Compact Serialization, read strictly: what a verifier may trust before a key is known.

RFC 7515 (https://www.rfc-editor.org/rfc/rfc7515) §7.1 "JWS Compact Serialization" and
§5.2 "Message Signature or MAC Validation" steps 1-4: three base64url parts (§2: no padding),
a protected header that is a UTF-8 JSON object, and the signing input
``ASCII(BASE64URL(header) || '.' || BASE64URL(payload))``. The payload of a VC-JOSE-COSE
token is itself a JSON object (https://www.w3.org/TR/vc-jose-cose/ §3.1.1: the unsecured
credential is the unencoded JWS payload).

Stricter than RFC 7515 requires, so that one signature has exactly one token:

- every part must be the *canonical* base64url of its bytes (no padding, no ignored
  characters, no stray trailing bits), otherwise one signature would admit many tokens;
- duplicate member names are rejected (RFC 7515 §4 and RFC 7519 §4 allow rejecting them);
- ``NaN``/``Infinity`` (not JSON, RFC 8259) are rejected, and nesting deeper than
  :data:`MAX_JSON_DEPTH` is rejected *before* parsing (see :func:`_check_nesting`: in
  this process a deep document would crash the C decoder), which also bounds later
  recursive processing (JSON-LD);
- the whole token is at most :data:`MAX_TOKEN_LENGTH` characters.

This module only parses; the header's meaning (``alg``, ``typ``, ``kid``, ``crit``) is
judged by :mod:`credentials.jose.envelope`.
"""

from __future__ import annotations

import binascii
import json
from base64 import urlsafe_b64decode
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jwcrypto.common import base64url_encode

from credentials.errors import DocumentTooLarge, MalformedCredential
from hub_kernel.json_guard import too_deep

MAX_TOKEN_LENGTH = 1 << 20  # 1 MiB: far above any credential, bounds parsing work
MAX_JSON_DEPTH = 64  # credentials nest a handful of levels; JSON-LD processing recurses


@dataclass(frozen=True, slots=True)
class CompactJws:
    header: dict[str, Any]
    payload: dict[str, Any]
    signing_input: bytes  # the ASCII bytes the signature covers
    signature: bytes


def encode_json(value: Mapping[str, Any]) -> bytes:
    """Compact UTF-8 JSON, as signed: no insignificant whitespace, no NaN."""
    try:
        return json.dumps(
            value, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        ).encode()
    except (TypeError, ValueError, RecursionError) as exc:
        raise MalformedCredential(f"not serialisable as JSON: {exc}") from None


def signing_input(header: Mapping[str, Any], payload: Mapping[str, Any]) -> bytes:
    """``BASE64URL(UTF8(header)) || '.' || BASE64URL(UTF8(payload))`` (RFC 7515 §5.1 step 5)."""
    return (
        f"{base64url_encode(encode_json(header))}.{base64url_encode(encode_json(payload))}".encode()
    )


def serialize(signed_input: bytes, signature: bytes) -> str:
    return f"{signed_input.decode()}.{base64url_encode(signature)}"


def parse_compact(token: object) -> CompactJws:
    """Split and decode ``token``; raise :class:`MalformedCredential` (or
    :class:`DocumentTooLarge`) for anything but a well-formed compact JWS with JSON parts."""
    if not isinstance(token, str):
        raise MalformedCredential("a JWT is a string")
    if len(token) > MAX_TOKEN_LENGTH:
        raise DocumentTooLarge(f"the JWT is longer than {MAX_TOKEN_LENGTH} characters")
    if not token.isascii():
        raise MalformedCredential("a compact JWS is ASCII only")
    parts = token.split(".")
    if len(parts) != 3:
        raise MalformedCredential(
            f"a compact JWS has three parts separated by '.', this has {len(parts)}"
        )
    encoded_header, encoded_payload, encoded_signature = parts
    header = _json_object(_decode(encoded_header, "header"), "header")
    payload = _json_object(_decode(encoded_payload, "payload"), "payload")
    # An empty signature parses (``alg: none`` tokens have one) and is refused by the
    # algorithm check, which names the real problem.
    signature = _decode(encoded_signature, "signature") if encoded_signature else b""
    return CompactJws(header, payload, f"{encoded_header}.{encoded_payload}".encode(), signature)


def _decode(part: str, what: str) -> bytes:
    if not part:
        raise MalformedCredential(f"the JWS {what} is empty")
    try:
        data = urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError):
        raise MalformedCredential(f"the JWS {what} is not base64url") from None
    # The decoder skips characters outside the alphabet and ignores trailing bits;
    # re-encoding catches both, and padding, in one comparison.
    if base64url_encode(data) != part:
        raise MalformedCredential(f"the JWS {what} is not canonical unpadded base64url")
    return data


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        names = [name for name, _ in pairs]
        duplicate = next(name for name in names if names.count(name) > 1)
        raise ValueError(f"duplicate member {duplicate[:64]!r}")
    return result


def _json_object(data: bytes, what: str) -> dict[str, Any]:
    _check_nesting(data, what)
    try:
        value = json.loads(
            data.decode("utf-8"),
            parse_constant=_reject_constant,
            object_pairs_hook=_unique_members,
        )
    except RecursionError:
        raise MalformedCredential(f"the JWS {what} nests too deeply") from None
    except UnicodeDecodeError:
        raise MalformedCredential(f"the JWS {what} is not UTF-8") from None
    except ValueError as exc:  # JSONDecodeError, duplicates, NaN, over-long integers
        raise MalformedCredential(f"the JWS {what} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise MalformedCredential(f"the JWS {what} is not a JSON object")
    return value


def _check_nesting(data: bytes, what: str) -> None:
    """Refuse nesting deeper than :data:`MAX_JSON_DEPTH` *before* ``json.loads`` sees it.

    The C decoder recurses once per level and is bounded only by the interpreter's
    recursion limit, which py-evm and py_ecc raise to 12,288 and 100,000 on import: a
    deeply nested document then overflows the C stack and kills the process instead of
    raising ``RecursionError``. The scan is the hub's one for every JSON input
    (:func:`hub_kernel.json_guard.too_deep`): it skips string contents and is linear.
    """
    # Bytes that are not UTF-8 become U+FFFD, never a bracket or a quote: the scan sees
    # the structure the bytes have (and the decoder refuses them next).
    if too_deep(data.decode("utf-8", errors="replace"), MAX_JSON_DEPTH):
        raise MalformedCredential(f"the JWS {what} nests deeper than {MAX_JSON_DEPTH} levels")
