"""The notary signs the letters its services certify: one issuer shared by every service.

The trust boundary of every letter: only a service's certify stage calls this, for
records the service itself received, timestamped and anchored; outside callers go
through the VC API, which refuses the services' types
(:mod:`credentials.issuing_policy`). Each letter gets a stable id derived from the
service and the record (RFC 9562 UUIDv5 in the URL namespace), so a letter signed
again after a crash reuses its status entry instead of allocating another. Letters
are issued as a batch: one status allocation and one list publication for all.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from credentials.issuer import CredentialIssuer


class LetterIssuer:
    def __init__(self, issuer: CredentialIssuer, *, service: str) -> None:
        self._issuer = issuer
        self._service = service

    @property
    def did(self) -> str:
        return self._issuer.did

    def letter_id(self, record_id: str) -> str:
        name = f"{self._issuer.did}/{self._service}/{record_id}"
        return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, name)}"

    def issue(self, letters: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """``letters`` (unsigned, each with its :meth:`letter_id`) signed, in order."""
        issued = self._issuer.issue_many(letters, status_purposes=("revocation",))
        return [one.credential for one in issued]
