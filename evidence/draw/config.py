"""A draw's configuration (``docs/draw-algorithm.md`` §1): validated, canonical, hashed.

:func:`parse_config` checks every rule of §1 and names the offending member in its
error; :attr:`DrawConfig.canonical` is the RFC 8785 (JCS) form and
:attr:`DrawConfig.config_hash` its SHA-256. Beacon values are checked for shape only: that
``drand-quicknet`` carries quicknet's own values is the beacon module's check (§3.1).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import rfc8785

from evidence.draw.errors import InvalidDrawConfig

__all__ = [
    "ALGORITHM",
    "MAX_CATEGORIES",
    "BeaconConfig",
    "Cascade",
    "Category",
    "DrawConfig",
    "Fallback",
    "PublicValue",
    "Tier",
    "canonical_json",
    "parse_config",
    "parse_config_json",
]

ALGORITHM = "notary-hub-draw/1"
MAX_CATEGORIES = 1000
# JCS numbers are IEEE doubles: larger integers would not survive a JavaScript verifier.
_MAX_INT = 2**53 - 1
_DEADLINE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_HEX = re.compile(r"(?:[0-9a-f]{2})*")
_MEMBERS = frozenset(
    [
        "algorithm",
        "drawId",
        "title",
        "rules",
        "tiers",
        "waitingList",
        "weighted",
        "categories",
        "cascade",
        "entryDeadline",
        "beacon",
        "notaryCommitment",
        "publicValues",
    ]
)
_BEACON_MEMBERS = frozenset(
    ["network", "chainHash", "publicKey", "genesis", "period", "round", "fallback"]
)


@dataclass(frozen=True)
class Tier:
    name: str
    count: int


@dataclass(frozen=True)
class Category:
    name: str
    quota: int


@dataclass(frozen=True)
class Cascade:
    """``none``, ``pooled``, or ``ordered`` with ``order`` (category indices, §4.4)."""

    rule: str
    order: tuple[int, ...] = ()


@dataclass(frozen=True)
class Fallback:
    """``wait``, or ``next-round`` up to ``max_rounds`` rounds later (§3.1)."""

    rule: str
    max_rounds: int = 0


@dataclass(frozen=True)
class BeaconConfig:
    network: str
    chain_hash: bytes
    public_key: bytes
    genesis: int
    period: int
    round: int
    fallback: Fallback

    def round_time(self, round_: int) -> int:
        """§3.1: round ``r`` is published at ``genesis + (r - 1) · period`` (Unix seconds)."""
        return self.genesis + (round_ - 1) * self.period

    def accepts_round(self, round_: int) -> bool:
        """Whether the fallback rule allows drawing with ``round_``."""
        extra = self.fallback.max_rounds if self.fallback.rule == "next-round" else 0
        return self.round <= round_ <= self.round + extra


@dataclass(frozen=True)
class PublicValue:
    name: str
    source: str


@dataclass(frozen=True)
class DrawConfig:
    """A valid configuration; ``document`` is the JSON object it was parsed from."""

    draw_id: str
    title: str
    rules: str
    tiers: tuple[Tier, ...]
    waiting_list: int
    weighted: bool
    categories: tuple[Category, ...]
    cascade: Cascade
    entry_deadline: str
    beacon: BeaconConfig
    notary_commitment: bytes
    public_values: tuple[PublicValue, ...]
    document: Mapping[str, Any]
    canonical: bytes

    @property
    def config_hash(self) -> bytes:
        """``configHash = H(JCS(config))``."""
        return hashlib.sha256(self.canonical).digest()

    @property
    def prizes(self) -> int:
        """``P``: the total of the tiers' counts."""
        return sum(t.count for t in self.tiers)

    @property
    def quotas(self) -> tuple[int, ...]:
        """Each category's quota; without categories the implicit one's, ``P``."""
        return tuple(c.quota for c in self.categories) or (self.prizes,)

    @property
    def category_count(self) -> int:
        return len(self.quotas)

    def category_index(self) -> dict[str, int]:
        """Category name → index (empty without categories)."""
        return {c.name: i for i, c in enumerate(self.categories)}


def canonical_json(value: Any) -> bytes:
    """RFC 8785 bytes of a JSON value."""
    return rfc8785.dumps(value)


def _fail(path: str, why: str) -> InvalidDrawConfig:
    return InvalidDrawConfig(f"{path}: {why}")


def _object(value: object, path: str, members: frozenset[str]) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise _fail(path, "must be an object")
    missing, unknown = members - value.keys(), value.keys() - members
    if missing:
        raise _fail(path, f"missing member {sorted(missing)[0]!r}")
    if unknown:
        raise _fail(path, f"unknown member {sorted(unknown)[0]!r}")
    return value


def _int(value: object, path: str, low: int, high: int = _MAX_INT) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(path, "must be an integer")
    if not low <= value <= high:
        raise _fail(path, f"must be between {low} and {high}")
    return value


def _str(value: object, path: str, low: int = 0, high: int | None = None) -> str:
    if not isinstance(value, str):
        raise _fail(path, "must be a string")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _fail(path, "is not valid Unicode (a lone surrogate)") from None
    if len(value) < low or (high is not None and len(value) > high):
        raise _fail(path, f"must have {low} to {high} characters")
    return value


def _hex(value: object, path: str, size: int) -> bytes:
    text = _str(value, path)
    if len(text) != 2 * size or not _HEX.fullmatch(text):
        raise _fail(path, f"must be {size} bytes of lowercase hex")
    return bytes.fromhex(text)


def _array(value: object, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise _fail(path, "must be an array")
    return value


def _tiers(value: object) -> tuple[Tier, ...]:
    items = _array(value, "tiers")
    if not items:
        raise _fail("tiers", "at least one tier is needed")
    tiers = []
    for i, item in enumerate(items):
        obj = _object(item, f"tiers[{i}]", frozenset({"name", "count"}))
        tiers.append(
            Tier(_str(obj["name"], f"tiers[{i}].name"), _int(obj["count"], f"tiers[{i}].count", 1))
        )
    return tuple(tiers)


def _categories(value: object) -> tuple[Category, ...]:
    items = _array(value, "categories")
    if len(items) > MAX_CATEGORIES:
        raise _fail("categories", f"at most {MAX_CATEGORIES} categories")
    categories: list[Category] = []
    for i, item in enumerate(items):
        obj = _object(item, f"categories[{i}]", frozenset({"name", "quota"}))
        name = _str(obj["name"], f"categories[{i}].name")
        if any(c.name == name for c in categories):
            raise _fail(f"categories[{i}].name", f"{name!r} is used twice")
        categories.append(Category(name, _int(obj["quota"], f"categories[{i}].quota", 0)))
    return tuple(categories)


def _cascade(value: object, categories: tuple[Category, ...]) -> Cascade:
    if not isinstance(value, dict) or value.get("rule") not in ("none", "pooled", "ordered"):
        raise _fail("cascade.rule", "must be 'none', 'pooled' or 'ordered'")
    rule = value["rule"]
    if rule != "ordered":
        _object(value, "cascade", frozenset({"rule"}))
        if rule == "pooled" and not categories:
            raise _fail("cascade", "without categories the cascade is {'rule': 'none'}")
        return Cascade(rule)
    _object(value, "cascade", frozenset({"rule", "order"}))
    if not categories:
        raise _fail("cascade", "without categories the cascade is {'rule': 'none'}")
    index = {c.name: i for i, c in enumerate(categories)}
    order: list[int] = []
    for i, name in enumerate(_array(value["order"], "cascade.order")):
        if not isinstance(name, str) or name not in index:
            raise _fail(f"cascade.order[{i}]", f"{name!r} is not a category")
        if index[name] in order:
            raise _fail(f"cascade.order[{i}]", f"{name!r} is named twice")
        order.append(index[name])
    return Cascade(rule, tuple(order))


def _fallback(value: object) -> Fallback:
    if not isinstance(value, dict) or value.get("rule") not in ("wait", "next-round"):
        raise _fail("beacon.fallback.rule", "must be 'wait' or 'next-round'")
    if value["rule"] == "wait":
        _object(value, "beacon.fallback", frozenset({"rule"}))
        return Fallback("wait")
    obj = _object(value, "beacon.fallback", frozenset({"rule", "maxRounds"}))
    return Fallback("next-round", _int(obj["maxRounds"], "beacon.fallback.maxRounds", 1, 10))


def _beacon(value: object) -> BeaconConfig:
    obj = _object(value, "beacon", _BEACON_MEMBERS)
    return BeaconConfig(
        network=_str(obj["network"], "beacon.network", 1),
        chain_hash=_hex(obj["chainHash"], "beacon.chainHash", 32),
        public_key=_hex(obj["publicKey"], "beacon.publicKey", 96),
        genesis=_int(obj["genesis"], "beacon.genesis", 0),
        period=_int(obj["period"], "beacon.period", 1),
        round=_int(obj["round"], "beacon.round", 1),
        fallback=_fallback(obj["fallback"]),
    )


def _deadline(value: object) -> str:
    text = _str(value, "entryDeadline")
    try:
        if not _DEADLINE.fullmatch(text):
            raise ValueError(text)
        datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        raise _fail("entryDeadline", "must be RFC 3339 UTC, YYYY-MM-DDTHH:MM:SSZ") from None
    return text


def _public_values(value: object) -> tuple[PublicValue, ...]:
    values = []
    for i, item in enumerate(_array(value, "publicValues")):
        obj = _object(item, f"publicValues[{i}]", frozenset({"name", "source"}))
        path = f"publicValues[{i}]"
        values.append(
            PublicValue(_str(obj["name"], f"{path}.name"), _str(obj["source"], f"{path}.source"))
        )
    return tuple(values)


def parse_config(document: Mapping[str, Any]) -> DrawConfig:
    """Validate a configuration object (§1); raises :class:`InvalidDrawConfig`."""
    obj = _object(dict(document), "config", _MEMBERS)
    if obj["algorithm"] != ALGORITHM:
        raise _fail("algorithm", f"must be {ALGORITHM!r} (the only algorithm implemented)")
    tiers = _tiers(obj["tiers"])
    categories = _categories(obj["categories"])
    prizes = sum(t.count for t in tiers)
    if prizes > _MAX_INT:
        raise _fail("tiers", "too many prizes")
    if categories and sum(c.quota for c in categories) != prizes:
        raise _fail("categories", f"the quotas must add up to the {prizes} prizes")
    if not isinstance(obj["weighted"], bool):
        raise _fail("weighted", "must be true or false")
    fields: dict[str, Any] = {
        "draw_id": _str(obj["drawId"], "drawId", 1, 128),
        "title": _str(obj["title"], "title"),
        "rules": _str(obj["rules"], "rules"),
        "tiers": tiers,
        "waiting_list": _int(obj["waitingList"], "waitingList", 0),
        "weighted": obj["weighted"],
        "categories": categories,
        "cascade": _cascade(obj["cascade"], categories),
        "entry_deadline": _deadline(obj["entryDeadline"]),
        "beacon": _beacon(obj["beacon"]),
        "notary_commitment": _hex(obj["notaryCommitment"], "notaryCommitment", 32),
        "public_values": _public_values(obj["publicValues"]),
    }
    try:
        canonical = canonical_json(obj)
    except (rfc8785.CanonicalizationError, ValueError) as exc:
        raise _fail("config", f"cannot be canonicalised: {exc}") from None
    return DrawConfig(**fields, document=obj, canonical=canonical)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _fail("config", f"member {key!r} appears twice")
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise _fail("config", f"{name} is not JSON")


def parse_config_json(data: bytes | str, *, canonical: bool = False) -> DrawConfig:
    """Parse configuration JSON text; with ``canonical``, also require it to be the JCS bytes."""
    try:
        document = json.loads(data, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        if isinstance(exc, InvalidDrawConfig):
            raise
        raise _fail("config", f"not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise _fail("config", "must be a JSON object")
    config = parse_config(document)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if canonical and raw != config.canonical:
        raise _fail("config", "the bytes are not the configuration's RFC 8785 form")
    return config
