"""Errors of the draw service (``docs/draw-algorithm.md``): one :class:`DrawError` family.

Each class carries a snake_case ``code`` and its HTTP ``status_code`` (the rule of
:mod:`hub_kernel.errors`); ``notary_hub.errors`` turns them into responses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypedDict

from evidence.errors import EvidenceError

__all__ = [
    "DrawError",
    "DrawNotFound",
    "DrawStateConflict",
    "DrawVerificationFailed",
    "EmptyCategory",
    "EntrantProblem",
    "InvalidBeacon",
    "InvalidDrawConfig",
    "InvalidEntrants",
    "InvalidReceipt",
    "InvalidReveal",
    "TooFewEntrants",
]


class DrawError(EvidenceError):
    code = "draw_error"
    status_code = 500


class InvalidDrawConfig(DrawError):
    """A configuration that breaks a rule of §1 (the message names the member)."""

    code = "invalid_draw_config"
    status_code = 422


class EntrantProblem(TypedDict):
    """One bad row of a candidate list: its 1-based line in the file and why."""

    line: int
    reason: str


class InvalidEntrants(DrawError):
    """A candidate list with malformed rows or duplicates; ``problems`` lists them by line."""

    code = "invalid_entrants"
    status_code = 422

    def __init__(
        self,
        message: str,
        problems: Sequence[EntrantProblem] = (),
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, headers=headers)
        self.problems: list[EntrantProblem] = list(problems)


class TooFewEntrants(DrawError):
    """§2: at commit, a list with fewer entries than prizes is refused."""

    code = "too_few_entrants"
    status_code = 422


class EmptyCategory(DrawError):
    """§2: at commit, a category nobody is in is refused."""

    code = "empty_category"
    status_code = 422


class DrawNotFound(DrawError):
    code = "draw_not_found"
    status_code = 404


class DrawStateConflict(DrawError):
    """A step out of the draw's order (a list after the commit, a second commit, ...)."""

    code = "draw_state_conflict"
    status_code = 409


class InvalidBeacon(DrawError):
    """A beacon round that does not verify, or not the round expected (§3.1)."""

    code = "invalid_beacon"
    status_code = 422


class InvalidReveal(DrawError):
    """A revealed secret that does not match ``notaryCommitment`` (§3.2), or bad public values."""

    code = "invalid_reveal"
    status_code = 422


class InvalidReceipt(DrawError):
    """An entry receipt that does not prove its entry (forged or damaged); says why."""

    code = "invalid_receipt"
    status_code = 422


class EntrantNotDid(DrawError):
    """A receipt credential asked for an entrant whose identifier is no DID: it would
    have no subject to be issued to (the receipt itself still checks, ``/check``)."""

    code = "entrant_not_did"
    status_code = 422


class DrawVerificationFailed(DrawError):
    """§6: an export that does not re-derive; ``step`` names the first step that failed."""

    code = "draw_verification_failed"
    status_code = 422

    def __init__(
        self, step: str, message: str, *, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(f"{step}: {message}", headers=headers)
        self.step = step
