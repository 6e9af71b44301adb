"""Making a letter's signed PDF: the one call other code makes (routes, CLI, the wallet).

:func:`build_letter_pdf` is pure of the hub: given the letter, the document-signing key and
a timestamp authority, it renders (:mod:`.render`), attaches (:mod:`.attach`) and signs
(:mod:`.sign`). :class:`LetterPdfs` is the hub's instance, holding its key, TSA and name.
Whether the notary should sign a letter at all (its own, valid) is the caller's check.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from evidence.letter_pdf.facts import VALID_AT_ISSUE, PageNotes, letter_facts
from evidence.letter_pdf.render import render_page
from evidence.letter_pdf.sign import sign_letter_pdf
from evidence.letter_pdf.signing_keys import DocumentSigningKey
from evidence.timestamping.protocol import TimestampAuthority

LETTERS_PATH = "/evidence/letters"


def verification_link(public_url: str, service: str, record_id: str) -> str:
    """The public verification link of a service's record's letter (what the QR carries)."""
    return f"{public_url.rstrip('/')}{LETTERS_PATH}/{service}/{record_id}"


def build_letter_pdf(
    letter: Mapping[str, Any],
    *,
    key: DocumentSigningKey,
    authority: TimestampAuthority,
    verify_url: str,
    notary_name: str = "",
    status: str = VALID_AT_ISSUE,
) -> bytes:
    """The signed PDF of ``letter``: its page, the credential attached, PAdES-B-T."""
    facts = letter_facts(letter)
    notes = PageNotes(notary_name=notary_name, status=status, verify_url=verify_url)
    page = render_page(facts, notes)
    stored = {"facts": facts.to_json(), "notes": notes.to_json()}
    return sign_letter_pdf(page, letter, stored, key, authority)


@dataclass(frozen=True)
class LetterPdfs:
    """The hub's letter PDF maker: its document key, its TSA, its name and public URL."""

    key: DocumentSigningKey
    authority: TimestampAuthority
    notary_name: str
    public_url: str

    def make(
        self, letter: Mapping[str, Any], *, service: str, record_id: str, status: str
    ) -> bytes:
        return build_letter_pdf(
            letter,
            key=self.key,
            authority=self.authority,
            verify_url=verification_link(self.public_url, service, record_id),
            notary_name=self.notary_name,
            status=status,
        )
