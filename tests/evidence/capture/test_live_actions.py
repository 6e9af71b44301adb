"""The live page's messages (issue 15 item 4): each type with its members, checked before
anything reaches the session; every malformed one is refused saying what is wrong."""

from __future__ import annotations

import json

import pytest

from evidence.capture.live_actions import (
    MAX_MESSAGE_BYTES,
    MAX_TEXT,
    InvalidLiveMessage,
    LiveAction,
    parse_message,
)


def test_the_messages_the_page_sends_are_read() -> None:
    cases = [
        (
            {"id": 1, "type": "click", "x": 10, "y": 20.5},
            LiveAction("click", {"x": 10.0, "y": 20.5}, 1),
        ),
        ({"type": "key", "key": "Enter"}, LiveAction("key", {"key": "Enter"})),
        ({"id": 3, "type": "text", "text": "alice"}, LiveAction("text", {"text": "alice"}, 3)),
        (
            {"type": "scroll", "x": 1, "y": 2, "deltaY": -120},
            LiveAction("scroll", {"x": 1.0, "y": 2.0, "deltaY": -120.0}),
        ),
        ({"type": "screenshot", "fullPage": True}, LiveAction("screenshot", {"fullPage": True})),
        ({"type": "clip", "edge": "start"}, LiveAction("clip", {"edge": "start"})),
        (
            {"type": "save", "url": "https://a.example/x.pdf"},
            LiveAction("save", {"url": "https://a.example/x.pdf"}),
        ),
        ({"type": "end"}, LiveAction("end")),
    ]
    for body, expected in cases:
        assert parse_message(json.dumps(body)) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("not json", "JSON object"),
        ("[1, 2]", "JSON object"),
        ('{"type": "fly"}', "type is one of"),
        ('{"type": "click", "x": 1}', "needs y"),
        ('{"type": "click", "x": 1, "y": 2, "z": 3}', "no member 'z'"),
        ('{"type": "click", "x": "1", "y": 2}', "finite number"),
        ('{"type": "click", "x": 1e999, "y": 2}', "finite number"),
        ('{"type": "click", "x": true, "y": 2}', "finite number"),
        ('{"type": "clip", "edge": "middle"}', "one of start, end"),
        ('{"type": "screenshot", "fullPage": 1}', "true or false"),
        ('{"type": "note", "text": ""}', "string of 1 to"),
        ('{"id": -1, "type": "end"}', "non-negative integer"),
        (json.dumps({"type": "text", "text": "x" * (MAX_TEXT + 1)}), "string of 1 to"),
        (json.dumps({"type": "note", "text": "x" * MAX_MESSAGE_BYTES}), "at most"),
        ("[" * 100_000, "at most"),
        ("[" * 60_000, "JSON object"),  # nested too deep for the parser
    ],
)
def test_a_malformed_message_is_refused_saying_why(text: str, says: str) -> None:
    with pytest.raises(InvalidLiveMessage, match=says):
        parse_message(text)
