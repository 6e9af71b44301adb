"""§1: every configuration rule refused with the member named; canonical bytes and hash."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from evidence.draw.config import parse_config, parse_config_json
from evidence.draw.errors import InvalidDrawConfig
from tests.evidence.draw.draw_support import config_document, make_config

CATEGORIES = [{"name": "a", "quota": 2}, {"name": "b", "quota": 1}]
BAD: list[tuple[dict[str, Any], str]] = [
    ({"algorithm": "notary-hub-draw/2"}, "algorithm"),
    ({"drawId": ""}, "drawId"),
    ({"drawId": "x" * 129}, "drawId"),
    ({"title": 5}, "title"),
    ({"tiers": []}, "tiers"),
    ({"tiers": [{"name": "t", "count": 0}]}, "tiers[0].count"),
    ({"tiers": [{"name": "t", "count": 1.0}]}, "tiers[0].count"),
    ({"tiers": [{"name": "t", "count": True}]}, "tiers[0].count"),
    ({"tiers": [{"name": "t", "count": 1, "extra": 1}]}, "tiers[0]"),
    ({"waitingList": -1}, "waitingList"),
    ({"weighted": "yes"}, "weighted"),
    ({"categories": [{"name": "a", "quota": 1}]}, "quotas must add up"),
    ({"categories": [*CATEGORIES, {"name": "a", "quota": 0}]}, "used twice"),
    ({"categories": [{"name": str(i), "quota": 0} for i in range(1001)]}, "at most 1000"),
    ({"cascade": {"rule": "pooled"}}, "cascade"),
    ({"cascade": {"rule": "random"}}, "cascade.rule"),
    ({"categories": CATEGORIES, "cascade": {"rule": "ordered", "order": ["c"]}}, "order[0]"),
    ({"categories": CATEGORIES, "cascade": {"rule": "ordered", "order": ["a", "a"]}}, "twice"),
    ({"entryDeadline": "2026-12-31 12:00:00"}, "entryDeadline"),
    ({"entryDeadline": "2026-02-30T12:00:00Z"}, "entryDeadline"),
    ({"notaryCommitment": "AB" * 32}, "notaryCommitment"),
    ({"notaryCommitment": "ab" * 31}, "notaryCommitment"),
    ({"publicValues": [{"name": "x"}]}, "publicValues[0]"),
    ({"title": "\ud800"}, "title"),
]


@pytest.mark.parametrize(("change", "message"), BAD, ids=[m for _, m in BAD])
def test_each_rule_is_refused_naming_the_member(change: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidDrawConfig, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_config(config_document(**change))


@pytest.mark.parametrize(
    ("member", "value"),
    [
        ("chainHash", "11" * 31),
        ("publicKey", "a0" * 48),
        ("genesis", -1),
        ("period", 0),
        ("round", 0),
        ("fallback", {"rule": "next-round", "maxRounds": 11}),
        ("fallback", {"rule": "never"}),
    ],
)
def test_beacon_shapes_are_checked(member: str, value: object) -> None:
    document = config_document()
    document["beacon"] = {**document["beacon"], member: value}
    with pytest.raises(InvalidDrawConfig, match="beacon"):
        parse_config(document)


def test_missing_and_unknown_members_are_named() -> None:
    document = config_document()
    del document["rules"]
    with pytest.raises(InvalidDrawConfig, match="missing member 'rules'"):
        parse_config(document)
    with pytest.raises(InvalidDrawConfig, match="unknown member 'extra'"):
        parse_config(config_document(extra=1))


def test_the_hash_is_sha256_of_the_jcs_bytes() -> None:
    config = make_config(title="摇号 ✓", categories=CATEGORIES, cascade={"rule": "pooled"})
    assert config.canonical.startswith(b'{"algorithm":"notary-hub-draw/1","beacon":{')
    assert config.config_hash == hashlib.sha256(config.canonical).digest()
    assert (config.prizes, config.quotas, config.category_count) == (3, (2, 1), 2)
    reordered = json.dumps(dict(reversed(list(config_document(**{"title": "摇号 ✓"}).items()))))
    assert parse_config_json(reordered).canonical == make_config(title="摇号 ✓").canonical


def test_without_categories_the_implicit_one_takes_every_prize() -> None:
    config = make_config()
    assert (config.quotas, config.category_count, config.cascade.rule) == ((3,), 1, "none")


def test_json_text_must_be_canonical_when_asked_and_without_duplicate_members() -> None:
    config = make_config()
    assert parse_config_json(config.canonical, canonical=True) == config
    with pytest.raises(InvalidDrawConfig, match="RFC 8785"):
        parse_config_json(json.dumps(config_document(), indent=1), canonical=True)
    with pytest.raises(InvalidDrawConfig, match="appears twice"):
        parse_config_json('{"drawId": "a", "drawId": "b"}')
    with pytest.raises(InvalidDrawConfig, match="not JSON"):
        parse_config_json(b"{")
    with pytest.raises(InvalidDrawConfig, match="NaN"):
        parse_config_json('{"waitingList": NaN}')


def test_beacon_round_times_and_fallback_window() -> None:
    beacon = make_config(
        beacon={**config_document()["beacon"], "fallback": {"rule": "next-round", "maxRounds": 2}}
    ).beacon
    assert beacon.round_time(1) == beacon.genesis
    assert beacon.round_time(1000) == beacon.genesis + 999 * 3
    assert [beacon.accepts_round(r) for r in (999, 1000, 1002, 1003)] == [False, True, True, False]
    assert not make_config().beacon.accepts_round(1001)
