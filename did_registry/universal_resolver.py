"""The Universal Resolver HTTP binding, as a pure function: (DID, query, Accept) -> response.

W3C DID Resolution (https://w3c.github.io/did-resolution/):

- §"DID Resolution HTTP(S) Binding": ``GET /1.0/identifiers/<did>?<options>``;
  ``Accept: application/did+ld+json`` (or ``application/did+json``) asks for the
  DID document alone; otherwise the whole DID resolution result is returned as
  ``application/did-resolution`` (or as ``application/ld+json;profile=
  "https://w3id.org/did-resolution"`` when that is what the client asks for);
- status codes: 200; ``invalidDid`` 400; ``notFound`` 404;
  ``representationNotSupported`` 406; ``deactivated`` 410 (the body still
  carries the document and its metadata); ``methodNotSupported`` 501; other
  errors 500 (503 when the chain or the index is unavailable);
- resolution options ``versionId`` (did:ethr: a block number, decimal) and
  ``versionTime`` (an XML Schema ``dateTime`` / RFC 3339 timestamp; a time without a
  zone is read as UTC); anything unparsable is ``invalidOptions`` (400).

No web framework here: :mod:`did_registry.router` adapts this to FastAPI.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from chain_adapter.errors import ChainError
from did_registry.errors import DidError, InvalidOptions, RepresentationNotSupported
from did_registry.resolution import DidResolver, ResolutionOptions, ResolutionResult

DID_LD_JSON = "application/did+ld+json"
DID_JSON = "application/did+json"
DID_RESOLUTION = "application/did-resolution"
RESOLUTION_PROFILE = "https://w3id.org/did-resolution"
LD_JSON_RESOLUTION = f'application/ld+json;profile="{RESOLUTION_PROFILE}"'
DOCUMENT_TYPES = (DID_LD_JSON, DID_JSON)
MAX_VERSION_ID = 2**63 - 1  # block numbers are stored as BIGINT

_DATETIME = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})[Tt]"
    r"(?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2})(?:\.\d+)?"
    r"(?P<zone>[Zz]|[+-]\d{2}:\d{2})?",
    re.ASCII,  # \d is 0-9 only, not any Unicode digit
)


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    status: int
    media_type: str
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class _Wanted:
    """What the client asked for: the document in a representation, or the whole result."""

    document: str | None  # DID_LD_JSON / DID_JSON, or None for the whole result
    media_type: str


def resolve_http(
    resolver: DidResolver, did: str, query: Sequence[tuple[str, str]], accept: str | None
) -> HttpAnswer:
    """Resolve ``did`` for an HTTP request; every DID error becomes its status and body."""
    result_type = DID_RESOLUTION
    try:
        wanted = negotiate(accept)
        result_type = wanted.media_type if wanted.document is None else DID_RESOLUTION
        options = parse_options(query, wanted.document or DID_RESOLUTION)
        result = resolver.resolve(did, options)
    except DidError as exc:
        return _error(exc.status_code, exc.code, exc.message, result_type)
    except ChainError as exc:  # the chain behind a resolver is down or refused a read
        return _error(exc.status_code, "internalError", exc.message, result_type)
    deactivated = result.did_document_metadata.get("deactivated") is True
    status = 410 if deactivated else 200
    if wanted.document is None:
        return HttpAnswer(status, wanted.media_type, result.to_json())
    if result.did_document is None:
        return _error(404, "notFound", f"no DID document for {did}", DID_RESOLUTION)
    content_type = result.did_resolution_metadata.get("contentType", wanted.document)
    return HttpAnswer(status, str(content_type), result.did_document)


def _error(status: int, code: str, message: str, media_type: str) -> HttpAnswer:
    failed = ResolutionResult(
        did_document=None,
        did_resolution_metadata={"error": code, "errorMessage": message},
    )
    return HttpAnswer(status, media_type, failed.to_json())


# -- content negotiation (RFC 9110 §12.5.1) ---------------------------------------------------


def negotiate(accept: str | None) -> _Wanted:
    """The best of the Accept header's media ranges that this binding can serve.

    Only a DID document representation this binding does not know (``application/
    did+cbor``, say) with nothing else acceptable is ``representationNotSupported``;
    any other header gets the whole result, the binding's default.
    """
    ranges = _media_ranges(accept or "*/*")
    best: tuple[float, int, _Wanted] | None = None
    refused: list[str] = []
    for position, (media_type, params, quality) in enumerate(ranges):
        wanted = _servable(media_type, params)
        if wanted is None:
            if media_type.startswith("application/did+"):
                refused.append(media_type)
            continue
        if quality > 0 and (best is None or quality > best[0]):
            best = (quality, position, wanted)
    if best is not None:
        return best[2]
    if refused:
        raise RepresentationNotSupported(
            f"DID documents are served as {DID_LD_JSON} or {DID_JSON}, not {', '.join(refused)}"
        )
    return _Wanted(None, DID_RESOLUTION)


def _servable(media_type: str, params: dict[str, str]) -> _Wanted | None:
    if media_type in DOCUMENT_TYPES:
        return _Wanted(media_type, media_type)
    if media_type == DID_RESOLUTION:
        return _Wanted(None, DID_RESOLUTION)
    if media_type == "application/ld+json" and params.get("profile") == RESOLUTION_PROFILE:
        return _Wanted(None, LD_JSON_RESOLUTION)
    if media_type in ("*/*", "application/*"):
        return _Wanted(None, DID_RESOLUTION)
    return None


def _media_ranges(header: str) -> list[tuple[str, dict[str, str], float]]:
    ranges = []
    for item in header.split(","):
        media_type, *raw_params = (part.strip() for part in item.split(";"))
        if not media_type:
            continue
        params: dict[str, str] = {}
        for raw in raw_params:
            name, _, value = raw.partition("=")
            params[name.strip().lower()] = value.strip().strip('"')
        try:
            quality = float(params.pop("q", "1"))
        except ValueError:
            quality = 0.0  # an unreadable weight: treat the range as not acceptable
        ranges.append((media_type.lower(), params, quality))
    return ranges


# -- resolution options ------------------------------------------------------------------------


def parse_options(query: Sequence[tuple[str, str]], accept: str) -> ResolutionOptions:
    """``versionId`` and ``versionTime`` from the query; other parameters are ignored."""
    values: dict[str, str] = {}
    for name, value in query:
        if name in ("versionId", "versionTime"):
            if name in values:
                raise InvalidOptions(f"{name} is given more than once")
            values[name] = value
    version_id = values.get("versionId")
    version_time = values.get("versionTime")
    return ResolutionOptions(
        version_id=None if version_id is None else parse_version_id(version_id),
        version_time=None if version_time is None else parse_version_time(version_time),
        accept=accept,
    )


def parse_version_id(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or len(text) > 19 or int(text) > MAX_VERSION_ID:
        raise InvalidOptions(f"versionId {text[:40]!r} is not a block number")
    return int(text)


def parse_version_time(text: str) -> int:
    """Unix seconds of an XML ``dateTime`` / RFC 3339 time; fractions of a second are dropped.

    Dropping them is exact for resolution: block timestamps are whole seconds, so
    "the newest block at or before t" is the same for t and its whole second.
    """
    match = _DATETIME.fullmatch(text)
    if match is None:
        raise InvalidOptions(f"versionTime {text[:40]!r} is not an RFC 3339 date-time")
    zone = match["zone"]
    if zone is None or zone in ("Z", "z"):
        tz = UTC
    else:
        sign = 1 if zone[0] == "+" else -1
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        if hours > 23 or minutes > 59:
            raise InvalidOptions(f"versionTime {text[:40]!r} has an invalid zone offset")
        tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
    try:
        moment = datetime(
            int(match["year"]),
            int(match["month"]),
            int(match["day"]),
            int(match["hour"]),
            int(match["minute"]),
            int(match["second"]),
            tzinfo=tz,
        )
    except ValueError as exc:  # 2024-02-30, 25:00:00, a leap second ...
        raise InvalidOptions(f"versionTime {text[:40]!r} is not a valid time: {exc}") from None
    return int(moment.timestamp())
