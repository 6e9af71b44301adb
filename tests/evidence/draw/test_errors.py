"""The draw's errors: codes, HTTP statuses, and the details they carry."""

from __future__ import annotations

import pytest

from evidence.draw import errors
from evidence.errors import EvidenceError


@pytest.mark.parametrize(
    ("error", "code", "status"),
    [
        (errors.DrawError, "draw_error", 500),
        (errors.InvalidDrawConfig, "invalid_draw_config", 422),
        (errors.TooFewEntrants, "too_few_entrants", 422),
        (errors.EmptyCategory, "empty_category", 422),
        (errors.DrawNotFound, "draw_not_found", 404),
        (errors.DrawStateConflict, "draw_state_conflict", 409),
        (errors.InvalidBeacon, "invalid_beacon", 422),
        (errors.InvalidReveal, "invalid_reveal", 422),
        (errors.InvalidReceipt, "invalid_receipt", 422),
        (errors.EntrantNotDid, "entrant_not_did", 422),
    ],
)
def test_codes_and_statuses(error: type[errors.DrawError], code: str, status: int) -> None:
    assert issubclass(error, EvidenceError)
    raised = error("what went wrong")
    assert (raised.code, raised.status_code, raised.message) == (code, status, "what went wrong")


def test_invalid_entrants_carries_its_problems() -> None:
    raised = errors.InvalidEntrants("2 problems", [{"line": 3, "reason": "weight 0 is refused"}])
    assert (raised.code, raised.status_code) == ("invalid_entrants", 422)
    assert raised.problems == [{"line": 3, "reason": "weight 0 is refused"}]


def test_verification_failures_name_their_step() -> None:
    raised = errors.DrawVerificationFailed("seed", "the chain's seed differs")
    assert (raised.code, raised.status_code, raised.step) == (
        "draw_verification_failed",
        422,
        "seed",
    )
    assert raised.message == "seed: the chain's seed differs"
