"""What the hub does with PDF letters: sign its own valid letters, answer a letter's status.

The notary signs only what its services witnessed: a letter goes into a PDF only if its
issuer is this notary and it verifies now (the full letter check, issuer trust from the
chain included); the status the page shows is that check's outcome and time.

:meth:`LetterPdfService.public_status` is what the QR link answers, to anyone holding it
(the link names the service and the record id, 128 random bits for a deposit, so links
cannot be enumerated). It reveals only whether that record has a letter, the letter's id,
issuer, issue date, and whether it verifies now (checks passed, problems by code): never
the depositor, the file's name, size or digests, nor the letter itself, which stay with
the depositor (the owner-only routes).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from evidence.deposit.letter_verification import LetterVerifier
from evidence.letter_pdf.build import LetterPdfs
from evidence.letter_pdf.errors import LetterNotSignable


def _now() -> datetime:
    return datetime.now(UTC)


def status_line(at: datetime) -> str:
    """What the page's status row says of a letter that verified at ``at``."""
    when = at.replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return f"有效 Valid · 核验于 checked {when}"


class LetterPdfService:
    def __init__(
        self,
        pdfs: LetterPdfs,
        letters: LetterVerifier,
        notary_did: str,
        *,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._pdfs = pdfs
        self._letters = letters
        self._did = notary_did
        self._clock = clock

    def sign(self, letter: Any, *, service: str, record_id: str | None = None) -> bytes:
        """The signed PDF of ``letter``, which must be this notary's and verify now;
        ``record_id`` defaults to the letter's ``credentialSubject.depositId``."""
        if not isinstance(letter, Mapping) or letter.get("issuer") != self._did:
            raise LetterNotSignable(f"only letters issued by this notary ({self._did}) are signed")
        result = self._letters.verify(letter)
        if not result.verified:
            problems = "; ".join(f"{p.check}: {p.code}" for p in result.errors[:5])
            raise LetterNotSignable(f"the letter does not verify ({problems})")
        if record_id is None:
            subject = letter.get("credentialSubject")
            found = subject.get("depositId") if isinstance(subject, Mapping) else None
            if not isinstance(found, str):
                raise LetterNotSignable("the letter names no credentialSubject.depositId")
            record_id = found
        status = status_line(self._clock())
        return self._pdfs.make(letter, service=service, record_id=record_id, status=status)

    def public_status(self, letter: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
        """(the public answer, whether it verifies) for a stored letter."""
        result = self._letters.verify(letter)
        body = {
            "id": letter.get("id"),
            "issuer": letter.get("issuer"),
            "validFrom": letter.get("validFrom"),
            "verified": result.verified,
            "checked": self._clock().replace(microsecond=0).isoformat().replace("+00:00", "Z"),
            "checks": list(result.checks),
            "errors": [{"check": p.check, "code": p.code} for p in result.errors],
        }
        return body, result.verified
