"""§2: streamed candidate lists; every bad row reported with its line; the mapping."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from evidence.draw.candidates import candidate_root, decode_entry, entrant_leaf
from evidence.draw.entrants import (
    MAX_PROBLEMS,
    ListFormat,
    read_entrants,
    read_mapping,
    upload_entrants,
)
from evidence.draw.errors import EntrantProblem, InvalidEntrants
from tests.evidence.draw.draw_support import make_config

CATEGORIES = [{"name": "a", "quota": 2}, {"name": "b", "quota": 1}]
WEIGHTED = make_config(weighted=True, categories=CATEGORIES, cascade={"rule": "pooled"})
PLAIN = make_config()


def _problems(data: bytes, fmt: ListFormat = "csv", config: Any = WEIGHTED) -> list[EntrantProblem]:
    with pytest.raises(InvalidEntrants) as caught:
        list(read_entrants(io.BytesIO(data), config, fmt))
    return caught.value.problems


def test_a_good_csv_list_gives_entries_root_and_mapping() -> None:
    data = '\ufeffid,weight,category\r\nalice,3,a\r\n"bob, jr",1,b\r\n\r\n张三,2,a\r\n'.encode()
    entries, mapping = io.BytesIO(), io.BytesIO()
    summary = upload_entrants(
        io.BytesIO(data),
        WEIGHTED,
        "csv",
        entries_out=entries,
        mapping_out=mapping,
        salt_source=lambda n: bytes(range(16)) * (n // 16),
    )
    blob = entries.getvalue()
    assert (summary.count, summary.category_sizes, len(blob)) == (3, (2, 1), 3 * 38)
    assert summary.candidate_root == candidate_root(blob)
    rows = list(read_mapping(io.BytesIO(mapping.getvalue())))
    assert [(i, name) for i, name, _ in rows] == [(0, "alice"), (1, "bob, jr"), (2, "张三")]
    leaf, weight, category = decode_entry(blob[38:76])
    assert (leaf, weight, category) == (entrant_leaf(WEIGHTED.draw_id, "bob, jr", rows[1][2]), 1, 1)


def test_json_lines_give_the_same_entries_as_csv() -> None:
    lines = [
        {"id": "alice", "weight": 3, "category": "a"},
        {"id": "bob", "weight": 1, "category": "b"},
    ]
    jsonl = "".join(json.dumps(x) + "\n" for x in lines).encode()
    csv_data = b"id,weight,category\nalice,3,a\nbob,1,b\n"
    outputs = []
    for fmt, data in (("jsonl", jsonl), ("csv", csv_data)):
        out = io.BytesIO()
        upload_entrants(io.BytesIO(data), WEIGHTED, fmt, entries_out=out, salt_source=bytes)  # type: ignore[arg-type]
        outputs.append(out.getvalue())
    assert outputs[0] == outputs[1]


def test_salts_come_from_the_csprng_by_default() -> None:
    out, mapping = io.BytesIO(), io.BytesIO()
    upload_entrants(io.BytesIO(b"id\nx\ny\n"), PLAIN, "csv", entries_out=out, mapping_out=mapping)
    salts = [salt for _, _, salt in read_mapping(io.BytesIO(mapping.getvalue()))]
    assert len(salts) == 2 and len(set(salts)) == 2 and all(len(s) == 16 for s in salts)


def test_bad_weights_categories_and_rows_are_reported_by_line() -> None:
    data = (
        b"id,weight,category\nok,1,a\nzero,0,a\nneg,-2,a\nhalf,1.5,b\nword,ten,b\n"
        b"big,4294967296,a\nnocat,1,c\nwide,1,a,extra\n,1,a\n" + b"x" * 257 + b",1,a\n"
    )
    assert _problems(data) == [
        {"line": 3, "reason": "weight 0 is refused"},
        {"line": 4, "reason": "negative weight '-2'"},
        {"line": 5, "reason": "weight '1.5' is not an integer"},
        {"line": 6, "reason": "weight 'ten' is not a number"},
        {"line": 7, "reason": "weight above 4294967295"},
        {"line": 8, "reason": "unknown category 'c'"},
        {"line": 9, "reason": "4 fields where the header has 3"},
        {"line": 10, "reason": "an identifier is 1 to 256 bytes of UTF-8"},
        {"line": 11, "reason": "an identifier is 1 to 256 bytes of UTF-8"},
    ]


def test_duplicates_are_reported_with_both_lines() -> None:
    data = b"id\nann\nbob\ncid\nbob\nann\nbob\n"
    assert _problems(data, config=PLAIN) == [
        {"line": 5, "reason": "duplicate identifier (first on line 3)"},
        {"line": 6, "reason": "duplicate identifier (first on line 2)"},
        {"line": 7, "reason": "duplicate identifier (first on line 3)"},
    ]


def test_a_file_cut_off_mid_row_is_refused_at_its_last_line() -> None:
    whole = "id\n" + "".join(f"person-{i}\n" for i in range(1000))
    cut = whole[: len(whole) // 2].rstrip("\n")[:-2].encode()
    problems = _problems(cut, config=PLAIN)
    assert problems == [{"line": cut.count(b"\n") + 1, "reason": problems[0]["reason"]}]
    assert "cut off" in problems[0]["reason"]
    jsonl = b'{"id": "a"}\n{"id": "b"}\n{"id": "c'
    assert _problems(jsonl, "jsonl", PLAIN)[0]["line"] == 3
    assert _problems(b'id\na\n"quoted\n', config=PLAIN) == [
        {"line": 3, "reason": "malformed CSV: unexpected end of data"}  # inside quotes
    ]
    assert "header" in _problems(b'"id\n', config=PLAIN)[0]["reason"]


def test_headers_must_match_the_configuration() -> None:
    assert "header must be 'id'" in _problems(b"id,weight\na,1\n", config=PLAIN)[0]["reason"]
    assert "header must be 'id,weight,category'" in _problems(b"id,category\na,a\n")[0]["reason"]
    assert _problems(b"", config=PLAIN)[0]["line"] == 1


def test_json_lines_rules() -> None:
    data = (
        b'{"id":"a","weight":1,"category":"a"}\n'
        b'{"id":"b","weight":1.0,"category":"a"}\n'
        b'{"id":"c","weight":"2","category":"a"}\n'
        b'{"id":"d","weight":1}\n'
        b'{"id":"e","id":"f","weight":1,"category":"a"}\n'
        b"[1]\n"
        b"{nope\n"
        b'{"id":5,"weight":1,"category":"a"}\n'
        b'{"id":"a","weight":2,"category":"b"}\n'
    )
    assert [p["line"] for p in _problems(data, "jsonl")] == [2, 3, 4, 5, 6, 7, 8, 9]


def test_problems_stop_at_the_cap() -> None:
    data = b"id\n" + b"\n".join(b"a,b" for _ in range(500)) + b"\n"
    problems = _problems(data, config=PLAIN)
    assert len(problems) == MAX_PROBLEMS and problems[-1]["line"] == MAX_PROBLEMS + 1


def test_invalid_utf8_identifiers_are_refused() -> None:
    assert _problems(b"id\n\xff\xfe\n", config=PLAIN) == [
        {"line": 2, "reason": "the identifier is not valid UTF-8"}
    ]


def test_hashing_in_a_second_process_gives_the_same_upload() -> None:
    data = "id,weight,category\n" + "".join(
        f"p{i},{i % 7 + 1},{'ab'[i % 2]}\n" for i in range(9000)
    )
    outputs = []
    for processes in (1, 2):
        entries, mapping = io.BytesIO(), io.BytesIO()
        summary = upload_entrants(
            io.BytesIO(data.encode()),
            WEIGHTED,
            "csv",
            entries_out=entries,
            mapping_out=mapping,
            salt_source=lambda n: bytes(n),
            processes=processes,
        )
        outputs.append((summary, entries.getvalue(), mapping.getvalue()))
    assert outputs[0] == outputs[1]
    assert outputs[1][0].candidate_root == candidate_root(outputs[1][1])
    bad = data + "p5,1,a\n"
    with pytest.raises(InvalidEntrants, match="1 problem"):
        upload_entrants(
            io.BytesIO(bad.encode()), WEIGHTED, "csv", entries_out=io.BytesIO(), processes=2
        )
