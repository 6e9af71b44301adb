"""Holder binding: who may present a credential (VC Data Model 2.0 §4.13, §8.2
"Holder", https://www.w3.org/TR/vc-data-model-2.0/#holder).

A presentation's ``holder`` is proven only by its proof; then each credential in it must
name that holder as a subject, unless it has no subject id (a bearer credential).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from credentials.errors import ProofError
from credentials.verification import VerificationResult


class UnsignedHolder(ProofError):
    """A presentation naming a holder but carrying no proof: the claim is anyone's."""

    code = "UNSIGNED_HOLDER_ERROR"


class HolderMismatch(ProofError):
    """A holder presenting a credential about someone else."""

    code = "HOLDER_BINDING_ERROR"


def subject_ids(credential: Mapping[str, Any]) -> list[str]:
    """The ``id`` of each ``credentialSubject`` (VC DM 2.0 §4.8), in order."""
    subjects = credential.get("credentialSubject")
    listed = subjects if isinstance(subjects, list) else [subjects]
    return [s["id"] for s in listed if isinstance(s, Mapping) and isinstance(s.get("id"), str)]


def check_holder_binding(
    holder: str, credential: Mapping[str, Any], result: VerificationResult
) -> None:
    """``holder`` must be a subject of ``credential``, unless it is a bearer credential."""
    ids = subject_ids(credential)
    if ids and holder not in ids:
        named = ", ".join(i[:200] for i in ids[:3])
        result.fail(
            "holder",
            HolderMismatch(
                f"the holder {holder[:200]} is not the credential's subject ({named}): "
                "only its subject may present it"
            ),
        )
        return
    result.passed("holder")
