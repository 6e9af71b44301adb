"""Making a letter's signed PDF: the one call other code makes (routes, CLI, the wallet).

:func:`build_letter_pdf` is pure of the hub: given the letter, the document-signing key and
a timestamp authority, it renders (:mod:`.render`), attaches (:mod:`.attach`) and signs
(:mod:`.sign`). :class:`LetterPdfs` is the hub's instance, holding its key, TSA and name.
Whether the notary should sign a letter at all (its own, valid) is the caller's check.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from evidence.letter_pdf.errors import ChainClockAhead
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
    """The hub's letter PDF maker: its document key, its TSA, its name and public URL.

    ``published_at`` is a chain time (unix seconds) by which the key's certificate is
    listed on the notary's DID. Verifiers resolve the DID as of the signature's timestamp,
    a wall-clock time, while a burst of transactions can put block times seconds ahead of
    the wall clock (see ``credentials.issuer.CredentialIssuer.proof_time``): a PDF stamped
    before the publishing block's time would never verify, so :meth:`make` waits for the
    wall clock to pass it, at most ``max_wait`` seconds.
    """

    key: DocumentSigningKey
    authority: TimestampAuthority
    notary_name: str
    public_url: str
    published_at: int = 0
    max_wait: float = 60.0

    def _wait_for_publication(self) -> None:
        ahead = self.published_at + 1 - time.time()
        if ahead > self.max_wait:
            raise ChainClockAhead(
                f"the chain's clock is {ahead:.0f} s ahead of this host's: a PDF signed now "
                "would predate its certificate's publication; try again later"
            )
        if ahead > 0:
            time.sleep(ahead)

    def sign(self, page: bytes, letter: Mapping[str, Any], facts: Mapping[str, Any]) -> bytes:
        """Another kind of letter's rendered ``page``, signed with ``letter`` and ``facts``
        attached, once the key's publication is in the past (a draw's, a capture's)."""
        self._wait_for_publication()
        return sign_letter_pdf(page, letter, facts, self.key, self.authority)

    def make(
        self, letter: Mapping[str, Any], *, service: str, record_id: str, status: str
    ) -> bytes:
        self._wait_for_publication()
        return build_letter_pdf(
            letter,
            key=self.key,
            authority=self.authority,
            verify_url=verification_link(self.public_url, service, record_id),
            notary_name=self.notary_name,
            status=status,
        )
