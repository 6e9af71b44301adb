"""did:ethr attribute names and values: public keys and service endpoints.

did:ethr method specification (https://github.com/decentralized-identity/ethr-did-resolver,
``doc/did-method-spec.md``), "Non-Ethereum Attributes": an ERC-1056
``DIDAttributeChanged`` event whose ``bytes32`` name is

* ``did/pub/<Secp256k1|Ed25519|X25519>/<veriKey|sigAuth|enc>/<hex|base64|base58>``
  publishes a public key; the value is the raw key bytes and the last part only
  says how resolvers render them (``publicKeyHex`` / ``Base64`` / ``Base58``).
  ``veriKey`` puts the key into ``assertionMethod``, ``sigAuth`` into
  ``authentication`` and ``assertionMethod``, ``enc`` into ``keyAgreement``;
* ``did/svc/<ServiceType>`` publishes a service whose endpoint is the UTF-8 value
  (a URI, or JSON for a map or a list of endpoints).

Names must match what ``ethr-did-resolver`` recognises,
``^did/(pub|svc)/(\\w+)(/(\\w+))?(/(\\w+))?$``, or the attribute would be silently
left out of every document; this module builds and checks exactly that form.
Pure: no chain, no I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, get_args
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

from did_registry.errors import InvalidAttribute

Algorithm = Literal["Secp256k1", "Ed25519", "X25519"]
Purpose = Literal["veriKey", "sigAuth", "enc"]
Encoding = Literal["hex", "base64", "base58"]

NAME_SIZE = 32  # ERC-1056 names and delegate types are bytes32
# A bound on attribute values, so the hub's gas and every resolver's log reads stay
# small: 1 KiB holds any public key of the supported algorithms many times over and a
# service endpoint URI or a small JSON endpoint map; larger data belongs off chain.
MAX_VALUE_SIZE = 1024

PUB_PREFIX = "did/pub/"
SVC_PREFIX = "did/svc/"
# Key sizes in bytes: Ed25519 and X25519 per RFC 8032 §5.1.5 / RFC 7748 §5;
# secp256k1 compressed (SEC 1 §2.3.3) or uncompressed.
_KEY_SIZES: dict[str, tuple[int, ...]] = {"Ed25519": (32,), "X25519": (32,), "Secp256k1": (33, 65)}
_PURPOSES: dict[str, tuple[str, ...]] = {
    "Ed25519": ("veriKey", "sigAuth"),
    "Secp256k1": ("veriKey", "sigAuth"),
    "X25519": ("enc",),  # a key-agreement key cannot sign
}
_WORD = re.compile(r"[A-Za-z0-9_]+")  # JavaScript's \w, as the resolver's pattern uses it
_PRINTABLE = re.compile(r"[\x21-\x7e]+")


@dataclass(frozen=True, slots=True)
class PublicKeyName:
    algorithm: str
    purpose: str
    encoding: str


@dataclass(frozen=True, slots=True)
class ServiceName:
    service_type: str


def to_bytes32(text: str, what: str = "attribute name") -> bytes:
    """``text`` as a right-zero-padded bytes32; printable ASCII without spaces, 1..32 bytes.

    Resolvers read names back as UTF-8 with trailing NULs stripped, so a NUL inside,
    a space or a non-ASCII byte would not survive the round trip unambiguously.
    """
    if not isinstance(text, str) or not _PRINTABLE.fullmatch(text):
        raise InvalidAttribute(f"{what} {text!r} must be printable ASCII without spaces")
    raw = text.encode("ascii")
    if len(raw) > NAME_SIZE:
        raise InvalidAttribute(f"{what} {text!r} is {len(raw)} bytes; at most {NAME_SIZE} fit")
    return raw.ljust(NAME_SIZE, b"\x00")


def from_bytes32(raw: bytes) -> str:
    """The text of a bytes32 name, as resolvers read it (trailing NULs stripped)."""
    return raw.rstrip(b"\x00").decode("utf-8", errors="replace")


def public_key_name(algorithm: str, purpose: str, encoding: str) -> str:
    """``did/pub/<algorithm>/<purpose>/<encoding>`` after checking the combination."""
    if algorithm not in _KEY_SIZES:
        raise InvalidAttribute(
            f"unsupported key algorithm {algorithm!r}; use one of {list(get_args(Algorithm))}"
        )
    if purpose not in _PURPOSES[algorithm]:
        raise InvalidAttribute(
            f"{algorithm} keys take purpose {' or '.join(_PURPOSES[algorithm])}, not {purpose!r}"
        )
    if encoding not in get_args(Encoding):
        raise InvalidAttribute(
            f"unsupported key encoding {encoding!r}; use one of {list(get_args(Encoding))}"
        )
    return f"{PUB_PREFIX}{algorithm}/{purpose}/{encoding}"


def check_public_key(algorithm: str, key: bytes) -> None:
    """Refuse bytes that are not a public key of ``algorithm`` (size, and point where checkable)."""
    sizes = _KEY_SIZES.get(algorithm)
    if sizes is None:
        raise InvalidAttribute(f"unsupported key algorithm {algorithm!r}")
    if not isinstance(key, bytes | bytearray) or len(key) not in sizes:
        size = len(key) if isinstance(key, bytes | bytearray) else type(key).__name__
        raise InvalidAttribute(f"a {algorithm} public key is {sizes} bytes, not {size}")
    try:
        if algorithm == "Secp256k1":
            # SEC 1 §2.3.4: decoding checks the point is on the curve, compressed or not.
            ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256K1(), bytes(key))
        elif algorithm == "X25519":
            X25519PublicKey.from_public_bytes(bytes(key))
        else:
            # Only the size is checkable here: Ed25519 points are decoded at verification.
            Ed25519PublicKey.from_public_bytes(bytes(key))
    except ValueError as exc:
        raise InvalidAttribute(f"not a valid {algorithm} public key: {exc}") from None


def public_key_attribute(
    algorithm: str, purpose: str, encoding: str, key_bytes: bytes
) -> tuple[bytes, bytes]:
    """The (bytes32 name, value) that publishes ``key_bytes`` for ``purpose``."""
    name = public_key_name(algorithm, purpose, encoding)
    check_public_key(algorithm, key_bytes)
    return to_bytes32(name), bytes(key_bytes)


def _check_uri(endpoint: str) -> None:
    parts = urlsplit(endpoint)
    if not parts.scheme or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", parts.scheme):
        raise InvalidAttribute(f"service endpoint {endpoint!r} is not an absolute URI")
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in endpoint):
        raise InvalidAttribute("a service endpoint URI cannot contain spaces or control characters")


def service_value(endpoint: str | Mapping[str, object] | Sequence[object]) -> bytes:
    """The attribute value of ``endpoint``: a URI as is, a map or list as compact JSON.

    DID Core §5.4 allows a URI, a map or a set as ``serviceEndpoint``; the resolver
    JSON-parses the value and falls back to the plain string, so a URI (which never
    parses as JSON) and JSON both come back as given.
    """
    if isinstance(endpoint, str):
        _check_uri(endpoint)
        value = endpoint.encode("utf-8")
    elif isinstance(endpoint, Mapping | Sequence):
        if not endpoint:
            raise InvalidAttribute("a service endpoint map or list cannot be empty")
        value = json.dumps(endpoint, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    else:
        raise InvalidAttribute("a service endpoint is a URI, a map or a list")
    if len(value) > MAX_VALUE_SIZE:
        raise InvalidAttribute(
            f"the service endpoint is {len(value)} bytes; at most {MAX_VALUE_SIZE}"
        )
    return value


def service_attribute(
    service_type: str, endpoint: str | Mapping[str, object] | Sequence[object]
) -> tuple[bytes, bytes]:
    """The (bytes32 name, value) that publishes a ``service_type`` service at ``endpoint``."""
    if not isinstance(service_type, str) or not _WORD.fullmatch(service_type):
        raise InvalidAttribute(
            f"service type {service_type!r} must be letters, digits or '_' (the resolver "
            "ignores anything else)"
        )
    return to_bytes32(SVC_PREFIX + service_type), service_value(endpoint)


def parse_name(name: bytes) -> PublicKeyName | ServiceName | None:
    """What a bytes32 attribute name publishes; ``None`` outside the ``did/`` namespace.

    Raises :class:`InvalidAttribute` for a ``did/`` name that resolvers would ignore
    or misrender.
    """
    if len(name) != NAME_SIZE:
        raise InvalidAttribute(f"an attribute name is {NAME_SIZE} bytes, not {len(name)}")
    text = from_bytes32(name)
    if to_bytes32(text) != name:  # also refuses NULs inside and non-ASCII bytes
        raise InvalidAttribute(f"attribute name {text!r} is not right-padded printable ASCII")
    if not text.startswith("did/"):
        return None
    parts = text.split("/")
    if text.startswith(SVC_PREFIX) and len(parts) == 3 and _WORD.fullmatch(parts[2]):
        return ServiceName(parts[2])
    if text.startswith(PUB_PREFIX) and len(parts) == 5:
        public_key_name(parts[2], parts[3], parts[4])
        return PublicKeyName(parts[2], parts[3], parts[4])
    raise InvalidAttribute(
        f"attribute name {text!r} is neither did/pub/<algorithm>/<purpose>/<encoding> nor "
        "did/svc/<ServiceType>"
    )


def validate_attribute(name: bytes, value: bytes) -> None:
    """Check an attribute before it is published (or revoked): size, and form under ``did/``.

    Names outside ``did/`` are opaque to did:ethr and only bounded; ``did/pub/`` values
    must be keys of the named algorithm, ``did/svc/`` values UTF-8 endpoints.
    """
    if not isinstance(value, bytes | bytearray):
        raise InvalidAttribute("an attribute value is bytes")
    if len(value) > MAX_VALUE_SIZE:
        raise InvalidAttribute(
            f"the attribute value is {len(value)} bytes; at most {MAX_VALUE_SIZE}"
        )
    parsed = parse_name(name)
    if isinstance(parsed, PublicKeyName):
        check_public_key(parsed.algorithm, bytes(value))
    elif isinstance(parsed, ServiceName):
        try:
            text = bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidAttribute("a service endpoint must be UTF-8") from None
        if not text:
            raise InvalidAttribute("a service endpoint cannot be empty")
        try:
            endpoint = json.loads(text)
        except ValueError:
            endpoint = text  # not JSON: the resolver renders the string, so it must be a URI
        if isinstance(endpoint, str):
            _check_uri(endpoint)
        elif not isinstance(endpoint, dict | list) or not endpoint:
            raise InvalidAttribute("a JSON service endpoint must be a non-empty map or list")
