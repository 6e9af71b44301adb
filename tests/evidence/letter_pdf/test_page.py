"""What a letter's page shows (pure facts from the credential) and how it is set."""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from reportlab.pdfbase.pdfmetrics import stringWidth

from evidence.letter_pdf import fonts
from evidence.letter_pdf.errors import FontMissing, LetterNotSignable
from evidence.letter_pdf.facts import LetterFacts, PageNotes, letter_facts, token_time_and_name
from evidence.letter_pdf.render import rows, wrap
from testkit.custody_sample import custody_credential


def test_facts_need_a_real_timestamp_token() -> None:
    # The sample's token is random bytes: a page would show a time nobody signed.
    with pytest.raises(LetterNotSignable, match="timestamp token does not parse"):
        letter_facts(custody_credential())


@pytest.mark.parametrize(
    "broken",
    [
        lambda c: c.pop("credentialSubject"),
        lambda c: c.__setitem__("evidence", []),
        lambda c: c["credentialSubject"].__setitem__("digestMultibase", "uAAAA"),
    ],
    ids=["no subject", "no evidence", "bad digest"],
)
def test_facts_refuse_a_letter_without_what_a_page_needs(broken: Any) -> None:
    letter = copy.deepcopy(custody_credential())
    broken(letter)
    with pytest.raises(LetterNotSignable):
        letter_facts(letter)
    assert LetterNotSignable.status_code == 422


def test_a_token_that_is_not_multibase_is_refused() -> None:
    with pytest.raises(LetterNotSignable, match="multibase"):
        token_time_and_name("AAAA")


def test_long_values_wrap_within_the_column_and_words_stay_whole() -> None:
    font = fonts.register_cjk_font()
    digest = "0x" + "ab" * 64
    lines = wrap(digest, font, 9.5, 200)
    assert len(lines) > 1 and "".join(lines) == digest
    assert all(stringWidth(line, font, 9.5) <= 200 for line in lines)
    sentence = "The verifiable credential is attached and signed by the notary."
    assert all(not line.startswith(" ") for line in wrap(sentence, font, 8.5, 120))
    assert " ".join(wrap(sentence, font, 8.5, 120)) == sentence
    chinese = "本函内嵌其可验证凭证整份文件经公证方数字签名" * 3
    assert "".join(wrap(chinese, font, 9, 100)) == chinese


def test_rows_leave_out_what_the_letter_does_not_say() -> None:
    facts = letter_facts_like(title="", sm3="")
    labels = [label for label, _ in rows(facts, PageNotes("", "valid at issue", "https://x/"))]
    assert "标题 Title" not in labels and "SM3 (GB/T 32905)" not in labels
    assert "存证人 Depositor" in labels and labels[-1] == "状态 Status"


def letter_facts_like(**changes: str) -> LetterFacts:
    base = LetterFacts(**{name: f"{name}-value" for name in LetterFacts.__dataclass_fields__})
    return replace(base, **changes)


def test_a_missing_cjk_font_is_a_503_naming_the_debian_package(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(fonts, "KNOWN_PATHS", (tmp_path / "absent.ttc",))
    monkeypatch.setattr(fonts, "_fontconfig_candidates", lambda: [])
    with pytest.raises(FontMissing) as caught:
        fonts.find_cjk_font()
    assert caught.value.status_code == 503 and caught.value.code == "pdf_font_missing"
    assert "fonts-wqy-microhei" in caught.value.message


def test_the_debian_font_is_found() -> None:
    assert fonts.find_cjk_font().name.startswith("wqy-")
