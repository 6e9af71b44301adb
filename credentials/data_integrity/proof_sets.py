"""Rules around every cryptosuite: a proof set holds each proof once, and a proof
records the ``@context`` it was signed under.

W3C "Verifiable Credential Data Integrity 1.0" (https://www.w3.org/TR/vc-data-integrity/)
§2.1.1 "Proof Sets": a proof set is an unordered *set*, each member added by a signer
(§4.3 "Add Proof Set/Chain"). The same proof twice is no second signature, and a verifier
counting proofs (an issuer and a witness, two notaries) must not count one twice, so a
set that repeats a ``proofValue`` is refused (:class:`DuplicateProof`).

W3C "Data Integrity EdDSA Cryptosuites v1.0" (https://www.w3.org/TR/vc-di-eddsa/) states
the proof's ``@context`` rule in its eddsa-jcs-2022 algorithms, §3.3.1 step 2 (a proof
records the ``@context`` of the document it signs; "strongly advised" always, since a proof
may later join a set) and §3.3.2 step 4 ("the securedDocument.@context starts with all
values contained in the proofOptions.@context in the same order"). Its eddsa-rdfc-2022
algorithms (§3.2) have no such step: §3.2.5 step 4 signs the document's RDF dataset under
whatever ``@context`` the document has, so a context appended after signing that changes
no statement leaves the signature valid, and only a recorded list says which contexts the
signer used. The hub applies the rule to every suite: each proof it adds records the
``@context`` (:func:`with_context`), and a document is refused
(:class:`SignedContextMismatch`) whose ``@context`` does not start with a proof's, or lists
a context no proof of its set was signed under: with one proof, it is the proof's.

This is stricter than Data Integrity §2.4.1, which lets a receiver recompact a document to
other contexts as long as the suite still verifies it: for a proof that recorded its
``@context`` the hub accepts only the JSON-LD form the signer produced. Limits, by design
of the RDF suites: the recorded list is a declaration the signature does not cover (§3.2.5
replaces the configuration's ``@context`` with the document's), so whoever edits both lists
alike can only add contexts that change no signed statement; and proofs without
``@context`` (the specification's vectors, other issuers) are judged on their RDF alone.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from credentials.errors import ProofError


class DuplicateProof(ProofError):
    """A proof set holding the same proof (the same ``proofValue``) more than once."""

    code = "DUPLICATE_PROOF_ERROR"


class SignedContextMismatch(ProofError):
    """A document whose ``@context`` is not the one its proofs were signed under."""

    code = "SIGNED_CONTEXT_MISMATCH_ERROR"


def context_list(value: Any) -> list[Any]:
    """A JSON-LD ``@context`` value as a list: one context is a list of one."""
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def starts_with(document_context: Any, proof_context: Any) -> bool:
    """vc-di-eddsa §3.3.2 step 4: the document's contexts begin with the proof's, in order."""
    have, signed = context_list(document_context), context_list(proof_context)
    return bool(signed) and have[: len(signed)] == signed


def with_context(proof: Mapping[str, Any], document: Mapping[str, Any]) -> dict[str, Any]:
    """vc-di-eddsa §3.3.1 step 2: ``proof`` recording the document's ``@context``, first,
    as the specification's examples place it. A document without one is left as it is."""
    rest = {k: v for k, v in proof.items() if k != "@context"}
    if "@context" not in document:
        return rest
    return {"@context": copy.deepcopy(document["@context"]), **rest}


def check_distinct(proofs: Sequence[Mapping[str, Any]]) -> None:
    """§2.1.1: no ``proofValue`` twice in a set (a missing one is refused per proof later)."""
    seen: set[str] = set()
    for index, proof in enumerate(proofs):
        value = proof.get("proofValue")
        if not isinstance(value, str):
            continue
        if value in seen:
            raise DuplicateProof(
                f"proof[{index}] repeats an earlier proof of the set (same proofValue): "
                "a proof set holds each proof once"
            )
        seen.add(value)


def check_signed_contexts(document: Mapping[str, Any], proofs: Sequence[Mapping[str, Any]]) -> None:
    """Each recorded ``@context`` starts the document's, and the document lists no context
    beyond the longest recorded one (nothing appended after the last signature)."""
    have = context_list(document.get("@context"))
    signed: list[list[Any]] = []
    for index, proof in enumerate(proofs):
        if "@context" not in proof:
            continue
        if not starts_with(have, proof["@context"]):
            raise SignedContextMismatch(
                f"the document's @context does not start with the @context proof[{index}] "
                "was signed under"
            )
        signed.append(context_list(proof["@context"]))
    if signed and have not in signed:
        added = have[max(len(s) for s in signed) :]
        raise SignedContextMismatch(
            f"the document's @context adds {_show(added)} to the @context its proofs were "
            "signed under"
        )


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."
